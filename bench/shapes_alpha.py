"""How to set α of the positive alignment (DESIGN §8, loss.alpha / loss.alpha_from).

    .venv/bin/python bench/shapes_alpha.py WORK [--seeds 0,1] [--steps 150]

A learnable α only falls (∂L_pos/∂α ≥ 0 on every batch), so α is a fixed hyperparameter or
the batch's detached mean cosine. This compares them on the shapes world, in the warm-start
setting of docs/shapes.md: per seed one plain-CLIP pretraining, then the AHNPL objective with
feature perturbations and each α choice. Prints the shapes average (%) and the mean cosine of
matched test pairs per choice. WORK receives the dataset, the benchmark and the runs (any
finished `bench/shapes_experiment.py --work WORK` folder is reused).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from shapes_experiment import (  # noqa: E402
    CONDITIONS,
    build_train_set,
    evaluate_checkpoint,
    train_run,
)

CHOICES = {
    "fixed": {"loss.alpha": 0.3, "loss.alpha_from": "fixed"},
    "fixed-0.5": {"loss.alpha": 0.5, "loss.alpha_from": "fixed"},
    "batch": {"loss.alpha_from": "batch"},
    "none": {"loss.lambda_pos": 0.0},
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("work", type=Path)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--count", type=int, default=3000)
    p.add_argument("--test-count", type=int, default=200)
    p.add_argument("--pretrain-steps", type=int, default=300)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--choices", default=",".join(CHOICES), help="comma-separated rows of CHOICES")
    args = p.parse_args()
    chosen = args.choices.split(",")

    import torch

    from ahnpl.evaluation.shapes import write_benchmark

    torch.set_num_threads(1)
    started = time.perf_counter()
    data, bench = args.work / "train", args.work / "benchmarks"
    if not (data / "manifest.json").is_file():
        build_train_set(data, args.count, 0)
    if not (bench / "shapes").is_dir():
        write_benchmark(bench, args.test_count, 0)
    results: dict[str, list[dict]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        pre = args.work / "alpha" / f"pretrain-{seed}" / "checkpoints" / "latest.pt"
        if not pre.is_file():
            pre = train_run(
                data,
                pre.parent.parent,
                seed,
                args,
                args.pretrain_steps,
                args.pretrain_lr,
                CONDITIONS["clip"],
            )
        for i, (name, extra) in enumerate(CHOICES.items()):
            if name not in chosen:
                continue
            out = args.work / "alpha" / f"choice{i}-{args.steps}-{seed}"
            extra = {**CONDITIONS["ahnpl-feature"], **extra, "model.pretrained": str(pre)}
            extra["run.resume"] = out.exists()  # a run cut short continues
            ckpt = out / "checkpoints" / "latest.pt"
            if not ckpt.is_file():
                ckpt = train_run(data, out, seed, args, args.steps, args.lr, extra)
            results.setdefault(name, []).append(evaluate_checkpoint(ckpt, bench))
    print("| α (fixed = 0.3) | shapes average (%) | cos(image, its caption) |")
    print("|---|---|---|")
    for name, runs in results.items():
        avg = [r["average"] for r in runs]
        cos = [r["pos_cos"] for r in runs]
        spread = statistics.stdev(avg) if len(avg) > 1 else 0.0
        print(
            f"| {name} | {statistics.mean(avg):.1f} ± {spread:.1f} | {statistics.mean(cos):.3f} |"
        )
    print(f"wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
