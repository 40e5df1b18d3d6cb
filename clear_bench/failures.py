"""Which failures are the user's (bad input, I/O, a corrupt file, a plug-in) and which are ours.

`explain(exc)` turns a known failure into one line naming the input and what would be right; it returns None
for an unexpected one (a bug of ours: the CLI then writes the traceback to a log file, `write_log`). The CLI's
error boundary (`cli.run_safely`) is the only caller.
"""
from __future__ import annotations

import datetime as _dt
import errno
import os
import sys
import traceback
from pathlib import Path

from .errors import ClearBenchError

PACKAGE = Path(__file__).resolve().parent
_ERRNO_HINTS = {
    errno.EACCES: "no permission: choose a folder you can write to",
    errno.EPERM: "not permitted: choose a folder you can write to",
    errno.EROFS: "the file system is read-only: choose a writable folder",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def _frames(exc: BaseException):
    tb = exc.__traceback__
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _local_paths(exc: BaseException):
    """Every path-like local variable (str or os.PathLike) of the failing calls, innermost first."""
    for frame, _ in reversed(list(_frames(exc))):
        for value in frame.f_locals.values():
            if isinstance(value, (str, os.PathLike)):
                yield str(value)


def _local_path(exc: BaseException, suffix: str) -> str | None:
    """A file path ending in `suffix` held by a local variable of the failing calls (innermost first)."""
    return next((v for v in _local_paths(exc) if v.endswith(suffix)), None)


def _plugin_module(exc: BaseException) -> str | None:
    """The file of a user module (plug-in method) whose import raised `exc`, if it did: the traceback passes
    through clear-bench's method resolution and then runs a module body outside clear-bench."""
    frames = list(_frames(exc))
    resolving = [i for i, (f, _) in enumerate(frames) if f.f_code.co_name == "get_method"
                 and Path(f.f_code.co_filename).resolve().is_relative_to(PACKAGE)]
    if not resolving:
        return None
    for frame, line in frames[resolving[0]:]:
        file = Path(frame.f_code.co_filename)
        if frame.f_code.co_name == "<module>" and not file.resolve().is_relative_to(PACKAGE) and file.exists():
            return f"{file}, line {line}"
    return None


METHOD_CALLERS = ("training/unlearn.py", "job.py", "baselines/")  # where a method's own code is called from


def _is_library(file: Path) -> bool:
    """Code of the interpreter, an installed package or clear-bench itself (not a user's module)."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), PACKAGE}
    return any(file.is_relative_to(r) for r in roots) or not file.exists()


def _method_code(exc: BaseException) -> str | None:
    """Where a plug-in method's own code raised `exc` (its loss, setup, on_step, finish, ...), if it did: a
    user module's frame called from clear-bench's unlearning code; its innermost line in that module."""
    frames = list(_frames(exc))
    for (caller, _), (callee, _) in zip(frames, frames[1:]):
        callee_file = Path(callee.f_code.co_filename).resolve()
        caller_file = Path(caller.f_code.co_filename).resolve()
        if _is_library(callee_file) or not caller_file.is_relative_to(PACKAGE):
            continue
        if any(str(caller_file.relative_to(PACKAGE)).startswith(c) for c in METHOD_CALLERS):
            line = [n for f, n in frames if Path(f.f_code.co_filename).resolve() == callee_file][-1]
            return f"{callee_file}, line {line}"
    return None


def _chain(exc: BaseException):
    """`exc` and the exceptions it was raised from or during (a library may wrap an OSError in its own)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _written_path(exc: BaseException) -> str | None:
    """The file or folder being written when `exc` was raised: the OSError's own, else a path held by the
    failing calls (innermost first) whose folder exists."""
    def shown(path) -> str:  # a hidden temporary file (utils.atomic_file, atomic_dir) is named by its folder
        path = Path(path)
        return str(path.parent if path.name.startswith(".") and ".tmp" in path.name else path)

    for e in _chain(exc):
        if isinstance(e, OSError) and e.filename:
            return shown(e.filename)
    found = next((v for v in _local_paths(exc) if os.sep in v and Path(v).parent.is_dir()), None)
    return None if found is None else shown(found)


def _free_mb(path: str | None) -> float | None:
    """Megabytes free on the file system holding `path` (its nearest existing folder)."""
    if not path:
        return None
    import shutil

    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free / 2**20
    except OSError:
        return None


# what a serialiser that keeps no errno says (safetensors: "I/O error: No space left on device (os error 28)")
_FULL_TEXT = ("No space left on device", "os error 28")
_QUOTA_TEXT = ("Disk quota exceeded", "os error 122")
# what torch.save says when a write stops short: a full disk only if the disk is
_SHORT_WRITE = ("unexpected pos", "iostream error", "PytorchStreamWriter failed", "failed to write", "short write")


def _disk_full(exc: BaseException) -> str | None:
    """One line for a write that failed because the disk is full (ENOSPC / EDQUOT anywhere in the chain, or a
    serialiser's errno-less short write with under 1 MB left where it wrote); None otherwise."""
    chain = list(_chain(exc))

    def says(errno_: int | None, texts) -> bool:  # an OSError of that errno, or one of the texts, in the chain
        return any((errno_ is not None and isinstance(e, OSError) and e.errno == errno_)
                   or any(m in str(e) for m in texts) for e in chain)

    quota = says(errno.EDQUOT, _QUOTA_TEXT)
    full = quota or says(errno.ENOSPC, _FULL_TEXT)
    if not full and not says(None, _SHORT_WRITE):  # not a write that stopped: no path to look up
        return None
    path = _written_path(exc)
    free = _free_mb(path)
    if not full and not (free is not None and free < 1):
        return None
    what = "disk quota exceeded" if quota else "disk full"
    room = f" ({free:.0f} MB free there)" if free is not None else ""
    return (f"{what} at {path or 'the output folder'}{room}: free some space and run the same command again "
            "(finished units are kept); nothing half-written was kept")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def explain(exc: BaseException) -> str | None:
    """One line for a known failure, None for an unexpected one."""
    if isinstance(exc, ClearBenchError):
        return str(exc)
    if isinstance(exc, SyntaxError) and exc.filename and not Path(exc.filename).resolve().is_relative_to(PACKAGE):
        return f"{exc.filename}, line {exc.lineno}: syntax error ({exc.msg}): fix the module (a plug-in method?)"
    plugin = _plugin_module(exc)
    if plugin is not None:
        return (f"importing the method's module failed at {plugin}: {type(exc).__name__}: {first_line(exc)}; "
                "fix the module, or pass another --method")
    method = _method_code(exc)
    if method is not None:
        return (f"the unlearning method's own code raised at {method}: {type(exc).__name__}: {first_line(exc)}; "
                "fix the method")
    full = _disk_full(exc)  # before "corrupt": a write that stopped short on a full disk is not a bad file
    if full is not None:
        return full
    if type(exc).__name__ == "SafetensorError" or "safetensors" in type(exc).__module__:
        where = _local_path(exc, ".safetensors") or "a model's *.safetensors file"
        return (f"{where} cannot be read ({first_line(exc)}): the file is corrupt or truncated; re-create it "
                "(fine-tune again) or download it again")
    if type(exc).__name__ == "UnidentifiedImageError" or (isinstance(exc, OSError) and "image" in str(exc).lower()
                                                         and exc.errno is None and exc.filename is None):
        import re

        reason = re.sub(r"<_io\.BytesIO object at 0x[0-9a-f]+>", "(bytes)", first_line(exc))
        return (f"an image of the data cannot be decoded ({reason}): `clear-bench validate --data ...` names the "
                "config, row and column of every such image")
    if isinstance(exc, OSError):
        where = exc.filename or "an input or output"
        if exc.filename2:
            where = f"{where} -> {exc.filename2}"
        hint = _ERRNO_HINTS.get(exc.errno or -1)
        return f"{exc.strerror or first_line(exc)}: {where}{': ' + hint if hint else ''}; nothing half-written was kept"
    if isinstance(exc, ValueError) and "trust_remote_code" in str(exc):
        import re

        m = re.search(r"repository (\S+) contains custom code", str(exc))
        model = m.group(1) if m else "the model"
        return (f"{model} ships code of its own (auto_map in its config.json), which runs only with "
                "--trust-remote-code (off by default): pass it only for a model you trust")
    tb = list(_frames(exc))
    if tb and isinstance(exc, (ValueError, KeyError)) and "/transformers/models/auto/" in tb[-1][0].f_code.co_filename:
        return f"the model's config.json cannot be read by transformers: {first_line(exc)}"
    return None


def write_log(exc: BaseException, command: str) -> Path | None:
    """Write `exc`'s traceback to a log file (in the cache's logs/, else the temp folder); its path, or None."""
    import tempfile

    from .presets import cache_dir

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(exc))
    for folder in (cache_dir() / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"clear-bench-{command}-{stamp}-{os.getpid()}.log"
            path.write_text(text)
            return path
        except OSError:
            continue
    return None
