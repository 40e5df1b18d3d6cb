"""Fine-tuning runs unchanged in two CPU processes (gloo), as it would under `accelerate launch`."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow


def test_two_process_finetune(tmp_path, demo_source):
    script = tmp_path / "ddp.py"
    script.write_text(textwrap.dedent(f'''
        import dataclasses, sys
        from accelerate import PartialState
        from clear_bench.data.sources import DataSource
        from clear_bench.presets import get_preset
        from clear_bench.training.finetune import FinetuneConfig, finetune

        # length-grouped batches (the paper preset's) must shard across processes too
        train = dataclasses.replace(get_preset("demo").finetune, epochs=1, group_by_length=True)
        finetune(FinetuneConfig(model="tiny", split="retain90", lora_r=0, train=train),
                 DataSource({demo_source.clear!r}, {demo_source.tofu!r}), sys.argv[1],
                 cache_dir={str(tmp_path / "cache")!r})  # its own accelerator, as under `accelerate launch`
        assert PartialState().num_processes == 2, PartialState()
        '''))
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
    proc = subprocess.run(torchrun + [str(script), str(tmp_path / "model")], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((tmp_path / "model" / "clear_manifest.json").read_text())
    # 90 retain rows, batch 10 per process, 2 processes: 5 optimizer steps per epoch
    assert manifest["samples"] == 90 and manifest["steps"] == 5
    assert not list(tmp_path.glob(".model.tmp-*"))  # nothing half-written left behind
