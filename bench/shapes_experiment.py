"""Do the AHNPL losses teach composition? A small CLIP trained on the shapes world, on CPU.

    .venv/bin/python bench/shapes_experiment.py [--work DIR] [--pretrain-steps 300]
        [--steps 150] [--seeds 0,1,2]

Builds one training set with `ahnpl-gen build`'s driver (source "shapes", text negatives from
the spaCy rules, image negatives from the "render" editor), renders the shapes benchmark on
the test split (held-out colour-shape combinations), then trains `bench/shapes-clip.json`
under four conditions with the same data, steps and seeds:

- `clip`: plain CLIP loss (`loss.mode=clip`);
- `text`: text hard negatives in the contrastive loss only (`ahnpl`, all λ = 0, no image
  negatives);
- `ahnpl-feature`: the AHNPL losses with feature perturbations (`image_negatives=feature`);
- `ahnpl-pixel`: the AHNPL losses with the rendered pixel negatives (`image_negatives=pixel`).

By default each seed first trains plain CLIP from random init (`--pretrain-steps`), and
every condition fine-tunes that checkpoint, as the paper fine-tunes a pretrained CLIP;
`--pretrain-steps 0` compares the losses from random init (where the AHNPL terms collapse
the encoders: docs/shapes.md). Prints accuracy mean ± std over the seeds per benchmark split
(%, chance 50) and two collapse cosines, and writes every run's figures to
WORK/results.json. Measured tables, commands and wall times: docs/shapes.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

CONFIG = Path(__file__).with_name("shapes-clip.json")

CONDITIONS: dict[str, dict] = {
    "clip": {"loss.mode": "clip", "data.image_negatives_per_sample": 0},
    "text": {
        "loss.mode": "ahnpl",
        "loss.lambda_mhn": 0.0,
        "loss.lambda_dm": 0.0,
        "loss.lambda_pos": 0.0,
        "loss.image_negatives": "none",
        "data.image_negatives_per_sample": 0,
    },
    "ahnpl-feature": {
        "loss.mode": "ahnpl",
        "loss.image_negatives": "feature",
        "data.image_negatives_per_sample": 0,
    },
    "ahnpl-pixel": {
        "loss.mode": "ahnpl",
        "loss.image_negatives": "pixel",
        "data.image_negatives_per_sample": 3,
    },
}


def build_train_set(out: Path, count: int, world_seed: int) -> dict:
    """The training shards: `count` train scenes, text negatives, rendered image negatives."""
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import Recipe

    recipe = Recipe.model_validate(
        {
            "input": {"source": "shapes", "count": count, "split": "train"},
            "edit": {"editor": "render", "edits_per_image": 3},
            "output": {"out": str(out), "images_per_shard": 1000},
            "seed": world_seed,
        }
    )
    result = build(recipe, progress=False)
    return result.manifest.totals.model_dump() if result.manifest is not None else {}


def train_run(data: Path, out: Path, seed: int, args, steps: int, lr: float, extra: dict) -> Path:
    """One `ahnpl.trainer` run; returns its checkpoint."""
    from ahnpl.trainer.config import load_config
    from ahnpl.trainer.train import train

    overrides = {
        "model.name": str(CONFIG),
        "data.path": str(data),
        "data.batch_size": args.batch_size,
        "data.workers": args.workers,
        "data.shuffle_buffer": 2000,
        "optim.lr": lr,
        "optim.warmup_steps": steps // 10,
        "optim.weight_decay": 0.1,
        "run.out": str(out),
        "run.steps": steps,
        "run.seed": seed,
        "run.log_every": max(1, steps // 10),
        "run.save_every": steps,
        **extra,
    }
    return train(load_config(None, overrides))


def evaluate_checkpoint(ckpt: Path, bench: Path) -> dict:
    """Shapes accuracies (%) and two collapse diagnostics (cosines).

    `img_img_cos`: mean cosine between the embeddings of different test images (near 1 when
    the encoder maps every image to one point); `pos_cos`: mean cosine of matched pairs.
    """
    import torch
    from PIL import Image

    from ahnpl.evaluation.run import evaluate
    from ahnpl.models import create_model

    model = create_model(str(CONFIG), pretrained=str(ckpt))
    model.model.eval()
    res = evaluate(model, ["shapes"], data_root=bench, workers=0, batch_size=256)
    shapes = res["benchmarks"]["shapes"]
    figures = {s: 100 * m["accuracy"] for s, m in shapes["splits"].items()}
    figures["average"] = 100 * shapes["summary"]["average"]
    pairs = json.loads((bench / "shapes" / "pairs.json").read_text())["items"]
    firsts = list({p["image"]: p["caption"] for p in pairs}.items())[:64]
    with torch.no_grad():
        images = torch.stack(
            [
                model.preprocess_val(Image.open(bench / "shapes" / "images" / name))
                for name, _ in firsts
            ]
        )
        v = torch.nn.functional.normalize(model.model.encode_image(images), dim=-1)
        t = torch.nn.functional.normalize(
            model.model.encode_text(model.tokenizer([c for _, c in firsts])), dim=-1
        )
    n = len(firsts)
    gram = v @ v.T
    figures["img_img_cos"] = float((gram.sum() - gram.diagonal().sum()) / (n * (n - 1)))
    figures["pos_cos"] = float((v * t).sum(-1).mean())
    return figures


def table(results: dict[str, list[dict]], columns: list[str], digits: int = 1, scale=1) -> str:
    lines = [
        "| condition | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for condition, runs in results.items():
        cells = []
        for col in columns:
            values = [r[col] for r in runs]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default=None, help="folder for data and runs (default: a temp dir)")
    p.add_argument("--count", type=int, default=3000, help="training scenes")
    p.add_argument("--test-count", type=int, default=200, help="test scenes (4 pairs each)")
    p.add_argument(
        "--pretrain-steps",
        type=int,
        default=300,
        help="plain-CLIP steps per seed before the compared runs (0: compare from scratch)",
    )
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=150, help="steps of each compared run")
    p.add_argument("--lr", type=float, default=None, help="default: 1e-3 from scratch, else 2e-4")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=0, help="loader workers per run")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--conditions", default=",".join(CONDITIONS))
    args = p.parse_args()
    lr = args.lr or (2e-4 if args.pretrain_steps else 1e-3)

    import torch

    torch.set_num_threads(1)  # 2 shared cores: more threads oversubscribe them
    started = time.perf_counter()
    work = Path(args.work or tempfile.mkdtemp(prefix="shapes-experiment-"))
    work.mkdir(parents=True, exist_ok=True)
    data, bench = work / "train", work / "benchmarks"
    totals = build_train_set(data, args.count, args.world_seed)
    from ahnpl.evaluation.shapes import SPLITS, write_benchmark

    write_benchmark(bench, args.test_count, args.world_seed)
    print(f"data ready in {time.perf_counter() - started:.0f} s: {json.dumps(totals)}")

    seeds = [int(s) for s in args.seeds.split(",")]
    results: dict[str, list[dict]] = {}
    for seed in seeds:
        start_from: dict = {}
        if args.pretrain_steps:
            # The paper fine-tunes a pretrained CLIP: every compared run starts from the same
            # plain-CLIP checkpoint of its seed.
            t0 = time.perf_counter()
            pre = train_run(
                data, work / "runs" / f"pretrain-{seed}", seed, args, args.pretrain_steps,
                args.pretrain_lr, CONDITIONS["clip"],
            )  # fmt: skip
            start_from = {"model.pretrained": str(pre)}
            figures = evaluate_checkpoint(pre, bench)
            results.setdefault("(start: pretrained clip)", []).append(figures)
            print(f"pretrain seed {seed}: average {figures['average']:.1f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
        for condition in args.conditions.split(","):
            t0 = time.perf_counter()
            ckpt = train_run(
                data, work / "runs" / f"{condition}-{seed}", seed, args, args.steps, lr,
                {**CONDITIONS[condition], **start_from},
            )  # fmt: skip
            figures = evaluate_checkpoint(ckpt, bench)
            results.setdefault(condition, []).append(figures)
            print(f"{condition} seed {seed}: average {figures['average']:.1f} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
    wall = time.perf_counter() - started
    start = f"from a {args.pretrain_steps}-step CLIP, " if args.pretrain_steps else "from scratch, "
    print()
    print(
        f"shapes benchmark accuracy (%), mean ± std over seeds {seeds}; {start}{args.steps} "
        f"steps × batch {args.batch_size} at lr {lr:g}, {args.count} train scenes, "
        f"{args.test_count} test scenes"
    )
    print(table(results, [*SPLITS, "average"]))
    print()
    print("collapse check (cosines): different test images; matched image-caption pairs")
    print(table(results, ["img_img_cos", "pos_cos"], digits=3, scale=1))
    print(f"wall time: {wall:.0f} s")
    (work / "results.json").write_text(
        json.dumps({"args": vars(args), "totals": totals, "runs": results, "seconds": wall})
    )
    print(f"results: {work / 'results.json'}")


if __name__ == "__main__":
    main()
