"""`clear-bench finetune` (the target or gold model) and `clear-bench validate` (check a data source)."""
from __future__ import annotations

from .common import add_data_args, resolve_source


def add_finetune_parser(sub) -> None:
    from ..config import add_dataclass_args
    from ..presets import PRESETS
    from ..training.settings import TrainConfig

    p = sub.add_parser("finetune", help="fine-tune the target (full+tofu) or gold (retainNN+tofu) model",
                       description="Fine-tune a VLM on CLEAR+TOFU with the paper's recipe (or the demo's).")
    add_data_args(p)
    p.add_argument("--model", default=None,
                   help="Hub id or folder of the base model, or a tiny model ('tiny', 'tiny-qwen2vl', ...: "
                        "clear-bench ls models; default: preset's)")
    p.add_argument("--split", default="full", help="full (target model) or retain90/retain95/retain99 (gold model)")
    p.add_argument("--lora-r", type=int, default=None, help="LoRA rank; 0 = full fine-tuning (default: preset's)")
    p.add_argument("--lora-alpha", type=int, default=32, help="LoRA scaling numerator (default: 32)")
    p.add_argument("--out", required=True, help="output model folder")
    p.add_argument("--trust-remote-code", action="store_true", help="allow code shipped with the model to run")
    add_dataclass_args(p, TrainConfig, bases={name: preset.finetune for name, preset in PRESETS.items()})
    p.set_defaults(func=cmd_finetune)


def cmd_finetune(args) -> int:
    from ..config import build_dataclass
    from ..presets import get_preset
    from ..training.finetune import FinetuneConfig, finetune
    from ..training.settings import TrainConfig
    from ..utils import check_writable

    preset = get_preset(args.preset)
    check_writable(args.out)
    source = resolve_source(args, preset)
    cfg = FinetuneConfig(model=args.model or preset.model, split=args.split,
                         lora_r=preset.lora_r if args.lora_r is None else args.lora_r, lora_alpha=args.lora_alpha,
                         train=build_dataclass(TrainConfig, args, base=preset.finetune),
                         trust_remote_code=args.trust_remote_code, extra_requests=preset.finetune_requests,
                         replay_world_knowledge=preset.finetune_replay)
    out = finetune(cfg, source, args.out)
    print(f"model written to {out}")
    return 0


def add_validate_parser(sub) -> None:
    p = sub.add_parser("validate", help="check every config of a CLEAR/TOFU source before a run",
                       description="Load every CLEAR and TOFU config from a Hub id or local copy, check the "
                                   "schema, and print a one-screen report.")
    add_data_args(p, preset=False, required=True)
    p.add_argument("--min-identity-rate", type=float, default=None, metavar="RATE",
                   help="also run the identity audit (faces extra; a folder written by clear-generate) and fail "
                        "unless at least RATE (0-1) of the scene images show their person's matched face")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args) -> int:
    from ..data.validate import validate_source
    from ..presets import get_preset

    source = resolve_source(args, get_preset("demo" if args.data == "demo" else "paper"))
    rate = args.min_identity_rate
    if rate is not None and not 0 <= rate <= 1:
        from ..errors import ClearBenchError

        raise ClearBenchError(f"--min-identity-rate must be in [0, 1] (got {rate})")
    if rate is not None:
        from ..generation.facemodels import require

        require("--min-identity-rate (the identity audit)")
    report = validate_source(source)
    print(report.render())
    if rate is not None:
        from .audit import run_identity_audit

        overall = run_identity_audit(args.data, progress=False)[0]["overall"]
        ok = overall["same_identity_rate"] >= rate
        print(f"identity audit: {overall['same_identity_rate']:.1%} of {overall['images']} scene images show their "
              f"person's face (detection {overall['detection_rate']:.1%}); required {rate:.1%}: "
              f"{'ok' if ok else 'FAILED'}")
        if not ok:
            return 1
    return 1 if report.problems else 0


def add_parser(sub) -> None:
    add_finetune_parser(sub)
    add_validate_parser(sub)
