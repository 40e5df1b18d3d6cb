"""`clear-bench attack RUN --attacks a,b`: attacks on a finished run's saved model (`clear_bench/attacks/`)."""
from __future__ import annotations

import logging

log = logging.getLogger("clear_bench")

DESCRIPTION = ("Attack a finished clear-eval run's saved unlearned model (RUN/model/) and re-score its forget and "
               "retain tasks (a prompt or image attack changes the forget items instead: a prefilled answer, a "
               "paraphrased question, a transformed image): RUN/attacks/NAME/ (per-item logs, result.json), "
               "RUN/attacks.json, and an `attacks` "
               "block in RUN/submission.json. Recovery = (forget metric after the attack - after unlearning) / "
               "(target - gold): 0 nothing came back, 1 all of it; the gold model under the same attack is the "
               "reference row. A finished attack is not run again; an interrupted one resumes. "
               "`clear-bench ls attacks` lists the attacks and the tracks they apply to.")


def add_attacks_arg(p, required: bool = True) -> None:
    p.add_argument("--attacks", required=required, default=None, metavar="NAME,...",
                   help="comma-separated attack names (`clear-bench ls attacks`), e.g. quanto-int8,quanto-int4; "
                        "'default': int8, int4 and both relearning attacks (those the run's track takes); 'all': every "
                        "one that applies (with prefill, paraphrase, image-flip/crop/jitter)")


def add_parser(sub) -> None:
    p = sub.add_parser("attack", help="attack a finished run's unlearned model (quantization, relearning, prompts, "
                                      "images) and "
                                      "measure how much of the forgetting comes back", description=DESCRIPTION)
    p.add_argument("run", metavar="RUN", help="a finished clear-eval run folder (it holds model/ and submission.json)")
    add_attacks_arg(p)
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: cuda if available)")
    p.set_defaults(func=cmd_attack)


def results_table(results: dict) -> str:
    """attacks.json as a markdown table: forget before / after, recovery, gold's recovery, retain, cost."""
    def f(v):
        return "–" if v is None else f"{v:.3f}"

    lines = ["| attack | forget before ↓ | forget after ↓ | recovery | gold recovery | recovery (prob) | "
             "gold recovery (prob) | recovery (ROUGE) | gold recovery (ROUGE) | retain before ↑ | retain after ↑ | "
             "attack + re-score s | unlearning s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        cost = (r.get("cost") or {}).get("attack_s", 0) + (r.get("cost") or {}).get("eval_s", 0)
        unlearn = r.get("unlearn_s")
        held_out = " (held-out persons)" if r.get("scored_persons") else ""
        lines.append(f"| {name}{held_out} | {f(r.get('forget_before'))} "
                     f"| {f(r.get('forget'))} | {f(r.get('recovery'))} | {f(r.get('gold_row', {}).get('recovery'))} | "
                     f"{f(r.get('recovery_prob'))} | {f(r.get('gold_row', {}).get('recovery_prob'))} | "
                     f"{f(r.get('recovery_rouge'))} | {f(r.get('gold_row', {}).get('recovery_rouge'))} | "
                     f"{f(r.get('retain_before'))} | {f(r.get('retain'))} | {cost:.0f} | "
                     f"{'–' if unlearn is None else f'{unlearn:.0f}'} |")
    return "\n".join(lines) + "\n"


def cmd_attack(args) -> int:
    from ..attacks.run import check_run_attacks, run_attacks
    from ..threads import apply_threads, is_tiny
    from ..training.saved import read_run_model_manifest

    check_run_attacks(args.run, args.attacks)  # one line before any work (and before torch loads)
    manifest = read_run_model_manifest(args.run)
    apply_threads(getattr(args, "threads", None), is_tiny(manifest.get("base_model"), None))
    results = run_attacks(args.run, args.attacks, device=args.device)
    print(results_table(results), end="")
    log.info("per-item logs in %s/attacks/NAME/, summary in %s/attacks.json", args.run, args.run)
    return 0
