"""`clear-bench push RUN --repo ID`: a finished run's unlearned model, a model card and its record, to the Hub.

What goes up (issue 27.6): the run's saved model (`RUN/model/`, `training/saved.py`: its LoRA adapters, or with
`--merged` the adapters merged into the target as the run scored it; full weights as they are), a model card
(`huggingface_hub.ModelCard`: hyper-parameters, data, every metric with its direction, target and gold beside it)
and `submission.json`. The upload is `huggingface_hub.HfApi.upload_folder` (after `create_repo`);
`--to-folder DIR` writes the same files into a local folder instead (offline, and what the tests check).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from ..errors import ClearBenchError

DESCRIPTION = ("Push a finished clear-eval run's unlearned model to the Hugging Face Hub with a generated model "
               "card (hyper-parameters, data, metrics with directions, target and gold) and its submission.json. "
               "--to-folder writes the same files into a local folder instead.")


def add_parser(sub) -> None:
    p = sub.add_parser("push", help="push a run's unlearned model, a model card and its record to the Hub",
                       description=DESCRIPTION)
    p.add_argument("run", metavar="RUN", help="a finished clear-eval run folder (it holds model/ and submission.json)")
    p.add_argument("--repo", required=True, help="the Hub model repository, e.g. you/llava-clear-npo")
    p.add_argument("--merged", action="store_true",
                   help="push the adapters merged into the run's target model (full weights, loadable alone); "
                        "default: the LoRA adapters as they are (they apply to the run's target model)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--to-folder", default=None, metavar="DIR",
                   help="write the files into DIR instead of uploading (a new or empty folder)")
    p.set_defaults(func=cmd_push)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4g}"


def card_text(record: dict, manifest: dict, repo: str, merged: bool) -> str:
    """The model card of a run: YAML metadata (`huggingface_hub.ModelCardData`) and a readable body."""
    from huggingface_hub import ModelCard, ModelCardData

    cfg = record.get("config") or {}
    ref = record.get("reference") or {}
    adapters = manifest["format"] == "lora" and not merged
    data = ModelCardData(library_name="peft" if adapters else "transformers", tags=[
        "clear-bench", "machine-unlearning", f"unlearning-{record['method']}", f"clear-{record.get('track')}"],
        base_model=None if adapters else manifest.get("base_model"),
        datasets=[d for d in ((record.get("data") or {}).get("clear"), (record.get("data") or {}).get("tofu"))
                  if d and "/" in str(d) and not str(d).startswith(("/", "."))] or None)
    rows = ["| metric | direction | unlearned | target (before) | gold (retain only) |", "|---|---|---|---|---|"]
    for key, entry in sorted(record["metrics"].items()):
        rows.append(f"| {key} | {entry.get('direction', '')} | {_fmt(entry.get('value'))} | "
                    f"{_fmt((ref.get('target') or {}).get(key))} | {_fmt((ref.get('gold') or {}).get(key))} |")
    what = ("LoRA adapters (peft); they apply to the run's target model, fine-tuned from "
            f"`{manifest.get('base_model')}` on CLEAR's full split" if adapters else
            f"the full weights (from `{manifest.get('base_model')}`)")
    body = "\n".join([
        f"# {repo}", "",
        f"An unlearned model made by clear-bench for the CLEAR benchmark (Dontsov et al., "
        f"arXiv 2410.18057): method **{record['method']}**, track **{record.get('track')}**, modality "
        f"**{record.get('modality')}**, forget {record.get('forget')} %, seed {record.get('seed')}, preset "
        f"**{cfg.get('preset')}**. This repository holds {what}.", "",
        "## Settings", "", "```json", json.dumps({k: cfg.get(k) for k in ("method_config", "unlearn", "finetune",
                                                                          "eval") if k in cfg}, indent=2,
                                                 sort_keys=True, default=str), "```", "",
        "## Results", "",
        "Every metric of the run (the arrow says which way is better; →x: closest to x), beside the target before "
        "unlearning and the gold model fine-tuned on the retain set only:", "", *rows, "",
        f"The record (`submission.json`, content hash `{record.get('record_hash', '')[:16]}`) is beside this card; "
        "`clear-bench leaderboard submission.json` ranks it. The persons of CLEAR/TOFU are fictitious.", ""])
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def stage(run: Path, out: Path, repo: str, merged: bool) -> list[str]:
    """Write the files to push into `out` (empty); their names."""
    from ..leaderboard.records import load_record
    from ..training.saved import load_run_model, model_folder, verify_run_model

    record = load_record(run / "submission.json")
    manifest = verify_run_model(run)
    if merged and manifest["format"] == "lora":
        model, processor, _ = load_run_model(run, device="cpu")
        model.save_pretrained(str(out), safe_serialization=True)
        processor.save_pretrained(str(out))
    else:
        for name in manifest["files"]:
            shutil.copy2(model_folder(run) / name, out / name)
        if manifest["format"] == "lora":  # the adapters' base is a folder on the run's machine: say what it is
            cfg_path = out / "adapter_config.json"
            cfg = json.loads(cfg_path.read_text())
            cfg["base_model_name_or_path"] = manifest.get("base_model")
            cfg_path.write_text(json.dumps(cfg, indent=2))
    shutil.copy2(run / "submission.json", out / "submission.json")
    shutil.copy2(model_folder(run) / "clear_model.json", out / "clear_model.json")
    (out / "README.md").write_text(card_text(record, manifest, repo, merged))
    return sorted(p.name for p in out.iterdir())


def cmd_push(args) -> int:
    from ..utils import atomic_dir

    run = Path(args.run)
    if not (run / "submission.json").is_file():
        raise ClearBenchError(f"{run} holds no submission.json: push a finished clear-eval run folder")
    if args.to_folder is not None:
        dest = Path(args.to_folder)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise ClearBenchError(f"--to-folder {dest} is not a new or empty folder: choose another")
        with atomic_dir(dest) as tmp:
            names = stage(run, tmp, args.repo, args.merged)
        print(f"wrote {', '.join(names)} into {dest} (what `--repo {args.repo}` would upload)")
        return 0
    from huggingface_hub import HfApi

    from ..data.sources import hub_reachable

    if not hub_reachable():
        raise ClearBenchError("cannot reach the Hugging Face Hub: push needs the network (and `hf auth login`); "
                              "--to-folder DIR writes the files locally")
    with tempfile.TemporaryDirectory(prefix="clear-bench-push-") as tmp:
        names = stage(run, Path(tmp), args.repo, args.merged)
        api = HfApi()
        api.create_repo(args.repo, repo_type="model", private=args.private, exist_ok=True)
        method = json.loads((run / "submission.json").read_text())["method"]
        info = api.upload_folder(repo_id=args.repo, repo_type="model", folder_path=tmp,
                                 commit_message=f"clear-bench: {method} unlearned model, card and record")
    print(f"pushed {', '.join(names)} to {args.repo}: {info}")
    return 0
