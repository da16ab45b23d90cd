"""Which AHNPL term collapses a CLIP trained from scratch on the shapes world? (docs/shapes.md)

    .venv/bin/python bench/shapes_ablation.py WORK [--seed 0] [--steps 120]

WORK is the folder of a finished `bench/shapes_experiment.py --work WORK` run (it reuses its
`train/` dataset and `benchmarks/`). Trains the AHNPL objective from random init with one
group of terms at a time (feature perturbations, λ = 0.2 for the kept terms) and prints the
shapes average (%) and the two collapse cosines of `evaluate_checkpoint`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from shapes_experiment import evaluate_checkpoint, train_run  # noqa: E402

BASE = {
    "loss.mode": "ahnpl",
    "loss.image_negatives": "feature",
    "data.image_negatives_per_sample": 0,
}
VARIANTS = {
    "mhn-both": ("mhn only (λ_dm = λ_pos = 0)", {"loss.lambda_dm": 0.0, "loss.lambda_pos": 0.0}),
    "mhn-text": (
        "mhn text side only (also image_negatives=none)",
        {"loss.lambda_dm": 0.0, "loss.lambda_pos": 0.0, "loss.image_negatives": "none"},
    ),
    "dm": ("dm only (λ_mhn = λ_pos = 0)", {"loss.lambda_mhn": 0.0, "loss.lambda_pos": 0.0}),
    "pos": ("pos only (λ_mhn = λ_dm = 0)", {"loss.lambda_mhn": 0.0, "loss.lambda_dm": 0.0}),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("work", type=Path)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=0)
    args = p.parse_args()

    import torch

    torch.set_num_threads(1)
    print("| terms | average | cos(image, other image) | cos(image, its caption) |")
    print("|---|---|---|---|")
    for key, (label, extra) in VARIANTS.items():
        t0 = time.perf_counter()
        ckpt = train_run(
            args.work / "train", args.work / "ablation" / f"{key}-{args.seed}", args.seed,
            args, args.steps, args.lr, {**BASE, **extra},
        )  # fmt: skip
        f = evaluate_checkpoint(ckpt, args.work / "benchmarks")
        print(
            f"| {label} | {f['average']:.1f} | {f['img_img_cos']:.3f} | {f['pos_cos']:.3f} |"
            f"  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
