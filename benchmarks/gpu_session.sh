#!/usr/bin/env bash
# One GPU session's measurements, in two parts of under 10 minutes each (the device tool's per-call limit).
#   bash benchmarks/gpu_session.sh 1   # fine-tuning and evaluation throughput (plain vs ours)
#   bash benchmarks/gpu_session.sh 2   # the paper-run estimate and the CUDA tests
# Results go to $OUT (or ./gpu-results); paste the tables into README.md's Speed section.
set -o pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
out=${OUT:-gpu-results}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)" | tee -a "$out/machine.txt"
case "${1:-1}" in
  1)
    python3 benchmarks/bench_finetune.py --model qwen2-vl-2b 2>&1 | tee "$out/finetune.md"
    python3 benchmarks/bench_scoring.py --model qwen2-vl-2b 2>&1 | tee "$out/scoring.md"
    ;;
  2)
    python3 benchmarks/estimate_paper_run.py 2>&1 | tee "$out/estimate.md"
    if python3 -c "import pytest" 2>/dev/null; then
      python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_scoring.py 2>&1 | tee "$out/gpu-tests.txt"
    else
      echo "pytest is missing on this machine: carry its wheel (and pluggy, iniconfig, packaging) as the device" \
           "README explains, then run tests/test_gpu.py" | tee "$out/gpu-tests.txt"
    fi
    ;;
  *) echo "usage: $0 1|2" >&2; exit 2 ;;
esac
