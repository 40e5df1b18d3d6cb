#!/usr/bin/env bash
# One GPU session's measurements, in three parts (the device tool allows 10 minutes per call). Each command has
# its own time limit below, so one that overruns still leaves the others' tables; run the parts back to back
# (an idle machine is handed back within a minute).
#   bash benchmarks/gpu_session.sh 1   # fine-tuning: plain Trainer vs ours, eager / compiled blocks / bs 16 (~5 min)
#   bash benchmarks/gpu_session.sh 2   # scoring + generation (plain vs ours), then the CUDA tests (~5 min)
#   bash benchmarks/gpu_session.sh 3   # the paper-run estimate, eager and compiled fine-tuning (~6 min)
# Results go to $OUT (or ./gpu-results); paste the tables into README.md's Speed section.
set -o pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
out=${OUT:-gpu-results}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/machine.txt"
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)" | tee -a "$out/machine.txt"
limited() {  # limited SECONDS FILE COMMAND...: run, tee to FILE, note a timeout in FILE
  local secs=$1 file=$2; shift 2
  timeout "$secs" "$@" 2>&1 | tee "$out/$file"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "(stopped after $secs s: time limit)" | tee -a "$out/$file"
  return 0
}
if ! python3 -c "import rouge_score" 2>/dev/null; then
  # ROUGE-L is scored by rouge-score (eval/metrics/rouge.py): carry its wheel and absl-py, nltk as the device
  # README explains for pytest
  echo "rouge-score is missing on this machine: carry its wheel (and absl-py, nltk) before the session" >&2
  exit 2
fi
case "${1:-1}" in
  1)
    limited 560 finetune.md python3 benchmarks/bench_finetune.py --model qwen2-vl-2b
    ;;
  2)
    limited 300 scoring.md python3 benchmarks/bench_scoring.py --model qwen2-vl-2b
    if python3 -c "import pytest" 2>/dev/null; then
      limited 250 gpu-tests.txt python3 -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_scoring.py \
        tests/test_compile.py
    else
      echo "pytest is missing on this machine: carry its wheel (and pluggy, iniconfig, packaging) as the device" \
           "README explains, then run tests/test_gpu.py" | tee "$out/gpu-tests.txt"
    fi
    ;;
  3)
    limited 560 estimate.md python3 benchmarks/estimate_paper_run.py
    ;;
  *) echo "usage: $0 1|2|3" >&2; exit 2 ;;
esac
