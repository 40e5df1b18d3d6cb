"""`clear-bench env`: what this machine runs (library versions, extras, hardware, threads), to paste into an issue
or compare with a record's `versions` and `hardware` fields (the same functions write those: `utils.py`)."""
from __future__ import annotations

import json

# optional packages that extras or features use, with the feature each enables
OPTIONAL = {"dlib-bin": "faces extra: face detection and identity embedding", "onnxruntime": "faces extra: age/gender",
            "optimum-quanto": "quantization attack", "ray": "grids on Ray", "diffusers": "diffusion generation",
            "adjustText": "non-overlapping plot labels", "bitsandbytes": "CUDA quantization"}


def add_parser(sub) -> None:
    p = sub.add_parser("env", help="print library versions, optional extras and hardware (for bug reports)",
                       description="Print clear-bench's library versions, which optional packages are installed, "
                                   "and the hardware and thread count records would name.")
    p.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    p.set_defaults(func=cmd_env)


def report() -> dict:
    import os
    import platform
    import sys
    from importlib import metadata

    from ..utils import hardware, library_versions

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    import torch

    return {"python": sys.version.split()[0], "platform": platform.platform(), "libraries": library_versions(),
            "optional": {name: version(name) for name in OPTIONAL}, "hardware": hardware(),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None, "cores": os.cpu_count(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}


def cmd_env(args) -> int:
    info = report()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"python {info['python']} on {info['platform']}")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in info["libraries"].items()))
    for name, v in info["optional"].items():
        print(f"  {name:<15} {v or 'not installed':<15} {OPTIONAL[name]}")
    hw = info["hardware"]
    print(f"cpu: {hw['cpu']} ({info['cores']} cores), torch threads {hw['cpu_threads']}, OMP_NUM_THREADS "
          f"{info['omp_num_threads'] or 'unset'}")
    print(f"gpu: {hw['gpu'] or 'none'}" + (f" (CUDA {info['cuda']})" if info["cuda"] else ""))
    return 0
