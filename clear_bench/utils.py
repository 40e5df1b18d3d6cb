"""Small shared helpers: atomic outputs, fingerprints, seeds, library versions."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import ClearBenchError

LIBRARIES = ("clear_bench", "torch", "transformers", "peft", "accelerate", "datasets", "diffusers",
             "huggingface_hub", "scipy", "numpy", "rouge_score")


def library_versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = "absent"
    return out


def hardware() -> dict[str, Any]:
    """What the numbers were computed on: CPU model, GPU model (None without CUDA), torch's CPU thread count.
    CPU float sums depend on the thread count and the machine's floating-point path, so records name both."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {"cpu": cpu, "gpu": gpu, "cpu_threads": torch.get_num_threads(), "machine": platform.machine()}


def weights_checksum(folder: str | os.PathLike) -> str:
    """SHA-256 over a model folder's safetensors files (names and contents): the weights themselves."""
    files = sorted(Path(folder).glob("*.safetensors"))
    return hashlib.sha256(json.dumps([(f.name, file_sha256(f)) for f in files]).encode()).hexdigest()


def looks_like_path(name: str) -> bool:
    """True for names that can only be folders: Hub ids are "owner/name", so anything starting like a path or
    with more than one separator is a folder (a missing one is then an error, not a download)."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or (os.sep != "/" and os.sep in name)


def stable_hash(obj: Any, n: int = 16) -> str:
    """Hash of a JSON-serialisable object, independent of dict order and of the Python process."""
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.blake2b(blob, digest_size=32).hexdigest()[:n]


def derive_seed(*parts: Any) -> int:
    """A per-item seed from a global seed and keys (never Python's salted hash())."""
    blob = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big") & (2**63 - 1)


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, in one line, if `path` (or its nearest existing parent) cannot be written."""
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == path else f"is inside {probe}, which is a file"
        raise ClearBenchError(f"output folder {path} {where}, not a folder")
    _probe_write(path, probe)
    return path


def _probe_write(path: Path, probe: Path) -> None:
    """Prove `probe` takes writes by writing (a file in it, or a folder beside where `path` will be made), not
    by `os.access`: root passes every permission check, yet /proc or a read-only mount refuse the write itself
    (tests/test_bad_input.py::test_out_that_refuses_writes_is_refused_before_work)."""
    if not probe.exists():
        return  # nothing on this path exists at all (a relative path on a fresh machine): the write will tell
    try:
        if probe == path:
            fd, name = tempfile.mkstemp(dir=probe, prefix=".clear-bench-probe-")
            os.close(fd)
            os.unlink(name)
        else:
            os.rmdir(tempfile.mkdtemp(dir=probe, prefix=".clear-bench-probe-"))
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            raise ClearBenchError(f"output folder {path} is not writable (no write permission on {probe})") from None
        raise ClearBenchError(f"output folder {path} cannot be written: {probe} refuses new files "
                              f"({e.strerror or e}); choose another folder") from None


TOOL = "clear-bench"  # the "tool" field of the manifests and markers clear-bench writes


def is_our_marker(path: str | os.PathLike) -> bool:
    """Whether `path` is a manifest clear-bench wrote: a JSON object naming the tool (`"tool": "clear-bench"`),
    or, written before that field, recording the clear_bench version among its library versions. A file of that
    name with any other content is the user's."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    versions = data.get("versions", data.get("libraries"))
    return data.get("tool") == TOOL or (isinstance(versions, dict) and "clear_bench" in versions)


def check_replaceable(folder: str | os.PathLike, marker: str) -> Path:
    """Fail, in one line, if `folder` exists and holds files but no `marker` that clear-bench wrote (see
    `is_our_marker`): it is not an output of ours, and writing our output there would delete what it holds
    (an `--out ~/models` typo, or a folder that merely holds a file of that name)."""
    folder = Path(folder)
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / marker).exists():
            raise ClearBenchError(f"{folder} already holds files that clear-bench did not write (no {marker}); "
                                  "writing there would replace them: choose a new or empty folder")
        if not is_our_marker(folder / marker):
            raise ClearBenchError(f"{folder} already holds files that clear-bench did not write ({marker} there "
                                  "is not a clear-bench manifest); writing there would replace them: choose a new "
                                  "or empty folder")
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike, marker: str | None = None) -> Iterator[Path]:
    """Yield a temporary sibling folder; rename it to `final` only if the block succeeds.

    A crash or an error leaves no half-written `final` behind. With `marker`, an existing `final` is only
    replaced if it holds that file (or nothing): see `check_replaceable`. The folder gets the permissions a
    plain mkdir would (mkdtemp's are private).
    """
    final = Path(final)
    check_writable(final.parent if final.parent != Path("") else Path("."))
    if marker is not None:
        check_replaceable(final, marker)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a hidden temporary sibling of `path` (same suffix, so writers that infer the format from it work);
    it becomes `path` only if the block succeeds, and is removed on any failure (a full disk included)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a file via a temporary sibling and rename, so readers never see a partial file. The file gets the
    permissions a plain open() would (mkstemp's are private)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
