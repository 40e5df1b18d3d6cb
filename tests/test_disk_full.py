"""A full disk is said as a full disk (issue 28.4): one line naming where and how much room is left, never
"corrupt or truncated", and nothing half-written left behind. The real cases write onto a tmpfs of a few MB
(needs root to mount; skipped otherwise)."""
import errno
import os
import subprocess

import pytest

from clear_bench.failures import explain


@pytest.fixture()
def full_disk(tmp_path):
    """A 2 MB tmpfs, filled until a write fails: any further write into it hits ENOSPC."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with open(disk / "filler", "wb", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as e:
                assert e.errno == errno.ENOSPC
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _failure(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - what the CLI's boundary would receive
        return e
    raise AssertionError("the write did not fail")


def test_enospc_names_the_path_and_the_free_space(tmp_path):
    line = explain(OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x.bin")))
    assert line.startswith(f"disk full at {tmp_path / 'x.bin'} (")
    assert "MB free there" in line and "free some space" in line


def test_a_wrapped_enospc_is_still_disk_full(tmp_path):
    """A library that re-raises an OSError as its own error (safetensors, torch) keeps the cause."""
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "model.safetensors"))
        except OSError as e:
            raise RuntimeError("safetensors: failed to write") from e
    except RuntimeError as wrapped:
        line = explain(wrapped)
    assert line.startswith("disk full at") and "corrupt" not in line


def test_torch_save_on_a_full_disk_is_disk_full_not_corrupt(full_disk):
    import torch

    path = full_disk / "checkpoint.pt"
    line = explain(_failure(lambda: torch.save({"w": torch.zeros(1 << 20)}, path)))
    assert line is not None and line.startswith("disk full at") and "corrupt" not in line, line


def test_safetensors_on_a_full_disk_is_disk_full_not_corrupt(full_disk):
    import torch
    from safetensors.torch import save_file

    path = full_disk / "model.safetensors"
    line = explain(_failure(lambda: save_file({"w": torch.zeros(1 << 20)}, str(path))))
    assert line is not None and line.startswith("disk full at") and "corrupt" not in line, line


def test_the_visual_face_set_cache_on_a_full_disk_leaves_nothing_half_written(full_disk, demo_source):
    from clear_bench.visual.data import load_faces
    from clear_bench.visual.presets import get_visual_preset

    cfg = get_visual_preset("demo").faces
    line = explain(_failure(lambda: load_faces(cfg, demo_source, cache=full_disk)))
    assert line is not None and line.startswith(f"disk full at {full_disk}"), line
    assert [p.name for p in (full_disk / "visual").iterdir()] == [] if (full_disk / "visual").exists() else True


@pytest.mark.slow  # a real demo fine-tune (~15-45 s on the 2-core machine)
def test_finetune_onto_a_full_disk_is_one_line_and_leaves_no_folder(full_disk, demo_source, capsys):
    from clear_bench.cli import main

    out = full_disk / "model"
    code = main(["finetune", "--preset", "demo", "--data", os.path.dirname(demo_source.clear), "--split",
                 "retain90", "--epochs", "1", "--out", str(out)])
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code != 0 and len(errors) == 1, errors
    assert "disk full at" in errors[0] and "corrupt" not in errors[0], errors[0]
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # no model, no temporary folder
