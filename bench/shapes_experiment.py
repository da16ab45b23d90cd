"""What does each AHNPL loss do? A small CLIP trained on the shapes world, on CPU.

    .venv/bin/python bench/shapes_experiment.py --quick --work DIR --json OUT
    .venv/bin/python bench/shapes_experiment.py --work DIR --json OUT --plots docs/images

Builds one training set with `ahnpl-gen build`'s driver (source "shapes": text negatives from
the spaCy rules plus the world's shape-noun lexicon, image negatives from the "render"
editor; no negative names a held-out composition), renders the shapes benchmark (test scenes
with held-out colour-shape pairs), then trains `bench/shapes-clip.json` under each condition
with the same data, steps and seeds:

- `clip`: plain CLIP loss;
- `text`: text hard negatives in the contrastive loss only (NegCLIP; all λ = 0);
- `ahnpl`: the default AHNPL loss with the rendered pixel image negatives;
- `ahnpl-feature`: the same with feature perturbations only (no rendered images);
- `ahnpl-selfanchor`: `ahnpl` with the self-anchored MHN term (`loss.mhn_form=self`);
- `reference`: the published code's loss (`loss.mode=reference`);
- `mhn-only`, `dm-only`, `pos-only`: `ahnpl` with one term group kept (warm start only).

Two starts: `scratch` (random init) and `warm` (every seed first trains plain CLIP; every
condition of that seed fine-tunes the same checkpoint, as the paper fine-tunes a pretrained
CLIP). Each finished run leaves `WORK/runs/<start>/<condition>-<seed>/figures.json`; a rerun
with the same WORK skips them, so an interrupted experiment continues. `--json` writes
`{"conditions": {name: {split: accuracy %, "average": ...}}, "starts": {start: {name: {split:
{"mean", "std", "runs"}}}}, ...}`; "conditions" holds the warm start (or the only start run).
Measured tables, commands and wall times: docs/shapes.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ahnpl.evaluation.shapes import SPLITS

CONFIG = Path(__file__).with_name("shapes-clip.json")

_NO_PIXELS = {"data.image_negatives_per_sample": 0}
# Two of the (up to four) rendered negatives per sample, drawn per step: bounds the cost.
_PIXELS = {"loss.image_negatives": "pixel", "data.image_negatives_per_sample": 2}
# Pinned, not inherited: a condition measures the same loss whatever the defaults become.
_AHNPL = {
    "loss.mode": "ahnpl",
    "loss.mhn_form": "positive",
    "loss.lambda_mhn": 0.2,
    "loss.lambda_dm": 0.2,
    "loss.lambda_pos": 0.2,
    "loss.margin": "mean",
    "loss.tau_max": 10.0,
    "loss.alpha": 0.3,
    "loss.alpha_from": "fixed",
}
CONDITIONS: dict[str, dict] = {
    "clip": {"loss.mode": "clip", **_NO_PIXELS},
    "text": {
        **_AHNPL,
        "loss.lambda_mhn": 0.0,
        "loss.lambda_dm": 0.0,
        "loss.lambda_pos": 0.0,
        "loss.image_negatives": "none",
        **_NO_PIXELS,
    },
    "ahnpl": {**_AHNPL, **_PIXELS},
    "ahnpl-feature": {**_AHNPL, "loss.image_negatives": "feature", **_NO_PIXELS},
    "ahnpl-selfanchor": {**_AHNPL, "loss.mhn_form": "self", **_PIXELS},
    "reference": {
        "loss.mode": "reference",
        "loss.lambda_mhn": 0.2,
        "loss.lambda_dm": 0.2,
        **_NO_PIXELS,
    },
}
# One term group kept at a time (the issue allows these from the warm start only).
ABLATIONS: dict[str, dict] = {
    "mhn-only": {**_AHNPL, **_PIXELS, "loss.lambda_dm": 0.0, "loss.lambda_pos": 0.0},
    "dm-only": {**_AHNPL, **_PIXELS, "loss.lambda_mhn": 0.0, "loss.lambda_pos": 0.0},
    "pos-only": {**_AHNPL, **_PIXELS, "loss.lambda_mhn": 0.0, "loss.lambda_dm": 0.0},
}
QUICK = {
    "count": 1000,
    "test_count": 100,
    "pretrain_steps": 100,
    "steps": 20,
    "seeds": "0",
    "starts": "warm",
}


def cache_tokenizer() -> None:
    """Tokenize each distinct text once per process (open_clip's BPE is pure Python).

    The world has a few thousand distinct captions and negatives, each seen many times; the
    cache changes no token, only the time (a quarter of a step on these small models).
    """
    from open_clip.tokenizer import SimpleTokenizer

    if getattr(SimpleTokenizer.encode, "cached", False):
        return
    encode = SimpleTokenizer.encode

    @functools.lru_cache(maxsize=1 << 16)
    def cached(self, text: str) -> tuple[int, ...]:
        return tuple(encode(self, text))

    def encode_cached(self, text: str) -> list[int]:
        return list(cached(self, text))

    encode_cached.cached = True
    SimpleTokenizer.encode = encode_cached


def build_train_set(out: Path, count: int, world_seed: int) -> dict:
    """The training shards: `count` train scenes, text negatives, rendered image negatives.

    Every valid negative slot (4 per caption at most) gets its rendered image.
    """
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import Recipe

    recipe = Recipe.model_validate(
        {
            "input": {"source": "shapes", "count": count, "split": "train"},
            "edit": {"editor": "render", "edits_per_image": 4},
            "output": {"out": str(out), "images_per_shard": 1000},
            "seed": world_seed,
        }
    )
    manifest = out / "manifest.json"
    if manifest.is_file():  # built by an earlier, interrupted run of the experiment
        return json.loads(manifest.read_text())["totals"]
    result = build(recipe, progress=False)
    return result.manifest.totals.model_dump() if result.manifest is not None else {}


def train_run(data: Path, out: Path, seed: int, args, steps: int, lr: float, extra: dict) -> Path:
    """One `ahnpl.trainer` run; returns its checkpoint. Loss terms are logged 50 times."""
    from ahnpl.trainer.config import load_config
    from ahnpl.trainer.train import train

    cache_tokenizer()
    overrides = {
        "model.name": str(getattr(args, "model", CONFIG)),  # bench/shapes_alpha.py passes none
        "data.path": str(data),
        "data.batch_size": args.batch_size,
        "data.workers": args.workers,
        "data.shuffle_buffer": 2000,
        # The world's captions name positions and every image is exact: no crop (which moves
        # the objects); the fused AdamW is the same update, a third faster on this model.
        "data.augment": "none",
        "optim.fused": True,
        "optim.lr": lr,
        "optim.warmup_steps": steps // 10,
        "optim.weight_decay": 0.1,
        "run.out": str(out),
        "run.steps": steps,
        "run.seed": seed,
        "run.log_every": max(1, steps // 50),
        "run.save_every": steps,
        **extra,
    }
    return train(load_config(None, overrides))


def evaluate_checkpoint(ckpt: Path, bench: Path, model_config: Path = CONFIG) -> dict:
    """Shapes accuracies (%) and two collapse diagnostics (cosines).

    `img_img_cos`: mean cosine between the embeddings of different test images (near 1 when
    the encoder maps every image to one point); `pos_cos`: mean cosine of matched pairs.
    """
    import torch
    from PIL import Image

    from ahnpl.evaluation.run import evaluate
    from ahnpl.models import create_model

    model = create_model(str(model_config), pretrained=str(ckpt))
    model.model.eval()
    res = evaluate(model, ["shapes"], data_root=bench, workers=0, batch_size=256)
    shapes = res["benchmarks"]["shapes"]
    figures = {s: 100 * m["accuracy"] for s, m in shapes["splits"].items()}
    figures["average"] = 100 * shapes["summary"]["average"]
    pairs = json.loads((bench / "shapes" / "pairs.json").read_text())["items"]
    firsts = list({p["image"]: p["caption"] for p in pairs}.items())[:64]
    folder = bench / "shapes" / "images"
    with torch.no_grad():
        images = torch.stack([model.preprocess_val(Image.open(folder / n)) for n, _ in firsts])
        v = torch.nn.functional.normalize(model.model.encode_image(images), dim=-1)
        t = torch.nn.functional.normalize(
            model.model.encode_text(model.tokenizer([c for _, c in firsts])), dim=-1
        )
    n = len(firsts)
    gram = v @ v.T
    figures["img_img_cos"] = float((gram.sum() - gram.diagonal().sum()) / (n * (n - 1)))
    figures["pos_cos"] = float((v * t).sum(-1).mean())
    return figures


def cached_run(folder: Path, run, bench: Path, model_config: Path, collect: bool = False):
    """`run()` (→ checkpoint) evaluated, or the figures a finished earlier run left.

    With `collect`, a run that has not finished is not started: None.
    """
    done = folder / "figures.json"
    # {"placeholder": true} marks a run another process has taken over (no figures yet).
    figures = json.loads(done.read_text()) if done.is_file() else {"placeholder": True}
    if not figures.get("placeholder"):
        return figures
    if collect:
        return None
    t0 = time.perf_counter()
    ckpt = run()
    figures = evaluate_checkpoint(ckpt, bench, model_config)
    figures["seconds"] = time.perf_counter() - t0
    done.write_text(json.dumps(figures))
    return figures


def pretrain_run(seed: int, args, data: Path, bench: Path) -> tuple[Path, dict | None]:
    """The plain-CLIP run from random init that every warm condition of `seed` starts from.

    From scratch, `clip` with the same steps is this very run (same seed, data, lr and
    config), so the scratch start reuses it. When another process (`--parallel`) is still
    training it, this waits for its figures.
    """
    folder = args.work / "runs" / "warm" / f"pretrain-{seed}"

    def pretrain():
        return train_run(
            data, folder, seed, args, args.pretrain_steps, args.lr_scratch, CONDITIONS["clip"]
        )

    done = folder / "figures.json"
    while not args.collect and (folder / "config.yaml").is_file() and not done.is_file():
        if time.time() - (folder / "config.yaml").stat().st_mtime > 4 * 3600:
            raise SystemExit(f"{folder}: an unfinished run; remove the folder to train it again")
        time.sleep(10)
    return folder, cached_run(folder, pretrain, bench, args.model, args.collect)


def seed_runs(seed: int, start: str, args, data: Path, bench: Path) -> dict[str, dict]:
    """Every condition of one seed and start; {condition: figures}."""
    root = args.work / "runs" / start
    names = [c for c in args.conditions if c in CONDITIONS or start == "warm"]
    out: dict[str, dict] = {}
    base: dict = {}
    steps, lr = args.steps, args.lr_warm if start == "warm" else args.lr_scratch
    if start == "warm":
        folder, out["(start: plain clip)"] = pretrain_run(seed, args, data, bench)
        base = {"model.pretrained": str(folder / "checkpoints" / "latest.pt")}
    else:
        steps = args.scratch_steps or args.pretrain_steps + args.steps
    reuse = start == "scratch" and steps == args.pretrain_steps
    if reuse and "clip" in names:  # last: by then the warm process has trained it
        names = [n for n in names if n != "clip"] + ["clip"]
    for name in names:
        if reuse and name == "clip":
            out[name] = pretrain_run(seed, args, data, bench)[1]
            if out[name] is not None:
                print(f"scratch clip seed {seed}: the warm start's plain-CLIP run", flush=True)
            continue
        folder = root / f"{name}-{seed}"
        extra = {**{**CONDITIONS, **ABLATIONS}[name], **base}

        def run(folder=folder, extra=extra):
            return train_run(data, folder, seed, args, steps, lr, extra)

        out[name] = cached_run(folder, run, bench, args.model, args.collect)
        if out[name] is None:
            continue
        print(
            f"{start} {name} seed {seed}: average {out[name]['average']:.1f} "
            f"({out[name]['seconds']:.0f} s)",
            flush=True,
        )
    order = ["(start: plain clip)", *args.conditions]
    return {n: out[n] for n in sorted(out, key=order.index)}


def summarize(runs: dict[str, dict[str, list[dict]]]) -> dict:
    """{start: {condition: {column: {"mean", "std", "runs"}}}} over seeds (std 0 for one)."""
    out: dict = {}
    for start, by_condition in runs.items():
        for name, figures in by_condition.items():
            cell = out.setdefault(start, {}).setdefault(name, {})
            for column in (*SPLITS, "average", "img_img_cos", "pos_cos", "seconds"):
                values = [f[column] for f in figures if column in f]
                if values:
                    std = statistics.stdev(values) if len(values) > 1 else 0.0
                    cell[column] = {"mean": statistics.mean(values), "std": std, "runs": values}
    return out


def sensitivity(cells: dict, a: str = "text", b: str = "clip", need: float = 8.0) -> dict:
    """Does `a` beat `b` by at least `need` points on swap_att and swap_rel (issue 17)?

    Per split: the gap of the means, the seeds' standard deviations, and `holds` = gap ≥
    `need` and gap > 2 × the larger standard deviation. {} when a condition is missing.
    """
    if a not in cells or b not in cells:
        return {}
    out = {}
    for split in ("swap_att", "swap_rel"):
        gap = cells[a][split]["mean"] - cells[b][split]["mean"]
        std = max(cells[a][split]["std"], cells[b][split]["std"])
        out[split] = {"gap": gap, "std": std, "holds": gap >= need and gap > 2 * std}
    return out


def table(summary: dict[str, dict], columns: list[str], digits: int = 1) -> str:
    lines = ["| condition | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, cell in summary.items():
        values = [f"{cell[c]['mean']:.{digits}f} ± {cell[c]['std']:.{digits}f}" for c in columns]
        lines.append(f"| {name} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help=f"one seed, warm start, small: {QUICK}")
    p.add_argument("--work", type=Path, default=None, help="data and runs (default: temp dir)")
    p.add_argument("--json", type=Path, default=None, help="write the summary JSON here")
    p.add_argument("--plots", type=Path, default=None, help="write the PNG plots here")
    p.add_argument("--model", type=Path, default=CONFIG, help="open_clip model-config JSON")
    p.add_argument("--count", type=int, default=8000, help="training scenes")
    p.add_argument("--test-count", type=int, default=400, help="test scenes (4 pairs each)")
    p.add_argument("--pretrain-steps", type=int, default=300, help="plain-CLIP steps (warm)")
    p.add_argument("--steps", type=int, default=400, help="steps of each warm-start run")
    p.add_argument(
        "--scratch-steps",
        type=int,
        default=1000,
        help="steps of each from-scratch run (0: pretrain + steps); equal to --pretrain-steps, "
        "scratch clip is the warm start's plain-CLIP run",
    )
    p.add_argument("--lr-scratch", type=float, default=2e-3, help="random init and pretraining")
    p.add_argument("--lr-warm", type=float, default=1e-3, help="fine-tuning the warm start")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=0, help="loader workers per run")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--starts", default="scratch,warm", help="scratch and/or warm")
    p.add_argument("--world-seed", type=int, default=0)
    p.add_argument("--conditions", default=",".join([*CONDITIONS, *ABLATIONS]))
    p.add_argument(
        "--parallel", action="store_true", help="one process per (start, seed), then collect"
    )
    p.add_argument(
        "--collect", action="store_true", help="train nothing: report the finished runs in WORK"
    )
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if p.get_default(key) == getattr(args, key):
                setattr(args, key, value)
    args.conditions = args.conditions.split(",")
    unknown = [c for c in args.conditions if c not in CONDITIONS and c not in ABLATIONS]
    if unknown:
        p.error(f"--conditions: unknown {unknown}; choose from {[*CONDITIONS, *ABLATIONS]}")
    args.work = args.work or Path(tempfile.mkdtemp(prefix="shapes-experiment-"))
    return args


def _without(argv: list[str], flags: tuple[str, ...], bare: tuple[str, ...] = ()) -> list[str]:
    """`argv` without the options `flags` and their values, and the switches `bare`."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in flags:
            skip = True
        elif a.split("=", 1)[0] not in flags and a not in bare:
            out.append(a)
    return out


def run_in_parallel(args, argv: list[str]) -> None:
    """One child process per (start, seed), same WORK; their figures are collected after."""
    import subprocess

    children = []
    for start in args.starts.split(","):
        for seed in args.seeds.split(","):
            cmd = [sys.executable, __file__, *argv, "--starts", start, "--seeds", seed]
            log = (args.work / f"{start}-{seed}.log").open("w")
            children.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
    codes = [c.wait() for c in children]
    if any(codes):
        raise SystemExit(f"a child process failed (exit codes {codes}); see WORK/*-*.log")


def report(args, summary: dict, totals: dict, wall: float) -> dict:
    headline = "warm" if "warm" in summary else next(iter(summary))
    doc = {
        "conditions": {
            name: {c: cell[c]["mean"] for c in (*SPLITS, "average")}
            for name, cell in summary[headline].items()
            if not name.startswith("(")
        },
        "headline_start": headline,
        "starts": summary,
        "sensitivity": {start: sensitivity(cells) for start, cells in summary.items()},
        "totals": totals,
        "seconds": wall,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }
    for start, cells in summary.items():
        print(f"\n{start}: shapes accuracy (%), mean ± std over seeds {args.seeds}")
        print(table(cells, [*SPLITS, "average"]))
        print(table(cells, ["img_img_cos", "pos_cos"], digits=3))
        for split, v in doc["sensitivity"][start].items():
            print(
                f"text − clip on {split}: {v['gap']:+.1f} points (larger std {v['std']:.1f}); "
                f"≥ 8 and > 2 std: {v['holds']}"
            )
    print(f"wall time: {wall:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=1))
    return doc


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    import torch

    torch.set_num_threads(1)  # 2 shared cores: more threads oversubscribe them
    # Import everything now: editing the source tree during a long run cannot change it.
    import ahnpl.evaluation.run  # noqa: F401
    import ahnpl.trainer.train  # noqa: F401
    from ahnpl.evaluation.shapes import write_benchmark

    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    data, bench = args.work / "train", args.work / "benchmarks"
    totals = build_train_set(data, args.count, args.world_seed)
    if not (bench / "shapes" / "pairs.json").is_file():
        write_benchmark(bench, args.test_count, args.world_seed)
    print(f"data ready in {time.perf_counter() - started:.0f} s: {json.dumps(totals)}", flush=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.parallel:
        flags = ("--seeds", "--starts", "--json", "--plots")
        run_in_parallel(args, _without(argv, flags, bare=("--parallel",)))
        args.collect = True
    runs: dict[str, dict[str, list[dict]]] = {}
    for start in args.starts.split(","):
        for seed in seeds:
            for name, figures in seed_runs(seed, start, args, data, bench).items():
                if figures is not None:
                    runs.setdefault(start, {}).setdefault(name, []).append(figures)
    doc = report(args, summarize(runs), totals, time.perf_counter() - started)
    if args.plots:
        sys.path.insert(0, str(Path(__file__).parent))
        from shapes_plots import plot_accuracy, plot_curves

        plot_accuracy(doc, args.plots / "shapes_accuracy.png")
        plot_curves(args.work / "runs", args.plots / "shapes_curves.png", seed=seeds[0])


if __name__ == "__main__":
    main()
