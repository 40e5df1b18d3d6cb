"""Speed of the visual track: split-model training loops, a cold demo run, and the paper-setting estimate.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/bench_visual.py [--skip-cold] [--paper-batch 8]

1. models/s: one AM-Softmax SGD step of the demo's tiny ResNet on each of N split models (N = the demo's 8),
   as the plain sequential loop clear-bench uses, and as one stacked step over all N models
   (torch.func.stack_module_state + functional_call + vmap, batch-norm statistics included).
2. `clear-eval --track visual --preset demo --method scrub_bio` from an empty cache (a temporary
   CLEAR_BENCH_CACHE, in a child process): wall time and peak resident memory; then the same command
   again with the split models cached.
3. The paper setting (128 split models, ResNet-18 at 224 px, therem/CLEAR's 3,768 images of 200 persons)
   on this machine, from measured unit costs: seconds per image of a training step (forward + backward +
   SGD) and of an embedding pass, times the images each phase processes.
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import subprocess
import sys
import tempfile
import time

import torch

from clear_bench.visual.model import FaceNet, am_softmax_loss, build_backbone
from clear_bench.visual.presets import get_visual_preset


def _demo_models(n: int) -> list[FaceNet]:
    preset = get_visual_preset("demo")
    torch.manual_seed(0)
    return [FaceNet(build_backbone(preset.backbone), 22) for _ in range(n)]


def models_per_second(n: int, batch: int, steps: int) -> tuple[float, float]:
    """(sequential, stacked) split-model training steps per second of the demo's tiny ResNet."""
    from torch.func import functional_call, stack_module_state, vmap

    size = get_visual_preset("demo").faces.image_size
    x, y = torch.randn(n, batch, 3, size, size), torch.randint(0, 22, (n, batch))
    models = _demo_models(n)
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for m in models]

    def sequential():
        for m, o, xi, yi in zip(models, opts, x, y):
            loss = am_softmax_loss(m(xi), m.head.weight, yi)
            o.zero_grad()
            loss.backward()
            o.step()

    stacked_models = _demo_models(n)
    params, buffers = stack_module_state(stacked_models)
    base = copy.deepcopy(stacked_models[0]).to("meta").train()
    leaves = list(params.values())
    opt = torch.optim.SGD(leaves, lr=0.01, momentum=0.9)

    def one(p, b, xi, yi):
        emb = functional_call(base, (p, b), (xi,))
        return am_softmax_loss(emb, p["head.weight"], yi)

    def stacked():
        loss = vmap(one, randomness="different")(params, buffers, x, y).sum()  # models are independent
        opt.zero_grad()
        loss.backward()
        opt.step()

    rates = []
    for fn in (sequential, stacked):
        fn()
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        rates.append(n * steps / (time.perf_counter() - t))
    return rates[0], rates[1]


def cold_run() -> dict[str, float]:
    """Wall seconds and peak RSS of the demo run from an empty cache, then with cached split models."""
    env = dict(os.environ, CLEAR_BENCH_CACHE=tempfile.mkdtemp(prefix="bench-visual-"))
    out = {}
    for label in ("cold", "cached"):
        folder = tempfile.mkdtemp(prefix="bench-visual-run-")
        cmd = [sys.executable, "-c", "import sys; from clear_bench.cli import clear_eval_main; sys.exit(clear_eval_main())",
             "--track", "visual", "--preset", "demo", "--method", "scrub_bio", "--out", folder + "/run"]
        t = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out[f"{label}_s"] = time.perf_counter() - t
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def paper_unit_costs(batch: int) -> tuple[float, float]:
    """(seconds per image of a training step, seconds per image of an embedding pass) of ResNet-18 at 224 px."""
    from transformers import ResNetConfig, ResNetModel

    device = "cuda" if torch.cuda.is_available() else "cpu"
    rc = ResNetConfig(embedding_size=64, hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2], layer_type="basic")
    model = FaceNet(ResNetModel(rc), 200).to(device)  # resnet-18's shape, random weights (no Hub)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(batch, 3, 224, 224, device=device), torch.randint(0, 200, (batch,), device=device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def step():
        loss = am_softmax_loss(model(x), model.head.weight, y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    costs = []
    model.train()
    step()
    sync()
    t = time.perf_counter()
    for _ in range(3):
        step()
    sync()
    costs.append((time.perf_counter() - t) / (3 * batch))
    model.eval()
    with torch.no_grad():
        model(x)
        sync()
        t = time.perf_counter()
        for _ in range(3):
            model(x)
        sync()
    costs.append((time.perf_counter() - t) / (3 * batch))
    return costs[0], costs[1]


def paper_workload(n: int = 128) -> dict[str, float]:
    """Images each phase processes in the paper setting (CLEAR: 200 persons, ~18.8 images each; forget 10 %:
    20 forget + 20 holdout persons; each split trains 20 + 80 persons)."""
    per = 3768 / 200
    split_imgs, retain_imgs, forget_imgs = 100 * per, 80 * per, 20 * per
    epochs = get_visual_preset("paper").train.epochs
    pre = get_visual_preset("paper").pretrain
    return {
        # celebrity-1000: ~18,000 images of 997 persons (assumed; not downloadable here), 797 persons kept
        "celebrity pretraining (train images)": 18000 * (797 / 997) * pre.recipe.epochs,
        "split training (train images)": n * epochs * split_imgs,
        "gold retraining (train images)": n * epochs * retain_imgs,
        "scrub_bio (train images)": n * 4 * (5 * forget_imgs + retain_imgs),
        "embedding passes (images, 3 runs)": 3 * n * 3768 + n * (forget_imgs + retain_imgs),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--skip-cold", action="store_true")
    p.add_argument("--paper-batch", type=int, default=8, help="batch of the ResNet-18 unit-cost steps")
    p.add_argument("--gpu-rates", default="2500,8000", help="ASSUMED GPU images/s of ResNet-18 at 224 px (training, "
                   "embedding) for a projection next to the measured one; measure them with this script on the GPU")
    args = p.parse_args()
    print(f"threads: {torch.get_num_threads()}, device: {'cuda' if torch.cuda.is_available() else 'cpu'}")
    seq, stk = models_per_second(8, 32, 10)
    print(f"demo split-model training steps (8 models, batch 32, 32 px): sequential {seq:.1f} models/s, "
          f"stacked vmap {stk:.1f} models/s ({stk / seq:.2f}x)")
    if not args.skip_cold:
        c = cold_run()
        print(f"clear-eval --track visual --preset demo --method scrub_bio: cold {c['cold_s']:.0f} s, split models "
              f"cached {c['cached_s']:.0f} s, peak RSS {c['peak_rss_mb']:.0f} MB")
    train_s, embed_s = paper_unit_costs(args.paper_batch)
    print(f"ResNet-18 at 224 px, batch {args.paper_batch}: {train_s * 1e3:.1f} ms/image per training step, "
          f"{embed_s * 1e3:.1f} ms/image per embedding")
    work = paper_workload()
    total = 0.0
    for phase, images in work.items():
        s = images * (embed_s if "embedding" in phase else train_s)
        total += s
        print(f"  {phase}: {images:,.0f} images -> {s / 3600:.1f} h")
    print(f"paper setting, one method (scrub_bio) from an empty cache: {total / 3600:.1f} h on this machine")
    per_method = work["scrub_bio (train images)"] * train_s + 128 * 3768 * embed_s
    print(f"  each further method: ~{per_method / 3600:.1f} h (scrub_bio-sized); all 12 methods: "
          f"~{(total + 10 * per_method) / 3600:.1f} h")
    g_train, g_embed = (float(v) for v in args.gpu_rates.split(","))
    gpu = sum(images / (g_embed if "embedding" in phase else g_train) for phase, images in work.items())
    per_gpu = work["scrub_bio (train images)"] / g_train + 128 * 3768 / g_embed
    print(f"projection at ASSUMED {g_train:.0f} / {g_embed:.0f} images/s (train / embed) on one GPU: one method "
          f"{gpu / 3600:.1f} h, all 12 methods {(gpu + 10 * per_gpu) / 3600:.1f} h")


if __name__ == "__main__":
    main()
