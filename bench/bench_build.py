"""Build speed (DESIGN §11): the build's stages timed alone, back to back, against the whole
build, in one run; and the same build on 1, 2, 4 local worker processes.

    python bench/bench_build.py                                   # 1,000 images, none + flip
    python bench/bench_build.py --editors none,flip,instruct-pix2pix --ip2p-images 64
    python bench/bench_build.py --workers 1,2,4 --editors flip    # worker speed-up only
    python bench/bench_build.py --captions ../shared/data/captions/captions_val2017.json \\
        --photos ../shared/data/coco/images                        # real captions, 200 photos

The input is a generated COCO caption file of `--images` images: the photos of `--photos`
reused in turn, each with five captions taken in turn from `--captions` (default: the bundled
coco-mini). For each editor one table: seconds and images/s of each stage run alone on all
images (read the caption file and the image bytes; load spaCy and the editor; decode and
check; parse and negatives; edit; JPEG-encode the edits; write the shards), the rate those
stages allow back to back (images / sum of seconds), the end-to-end `build` rate in one
process, and their ratio (target ≥ 0.8). Both sides load spaCy and the editor from scratch.
The worker table runs `ahnpl-gen build --workers N` in a fresh process per run, N taking
turns.
`instruct-pix2pix` is the tiny random-weight pipeline of tests/editor_fixtures.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import groupby
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from ahnpl.pipeline.build import build  # noqa: E402
from ahnpl.pipeline.distributors import ShardWork  # noqa: E402
from ahnpl.pipeline.images import encode_jpeg, read_bytes  # noqa: E402
from ahnpl.pipeline.inputs import read_input  # noqa: E402
from ahnpl.pipeline.recipe import load_recipe  # noqa: E402
from ahnpl.shards.manifest import join, sha256_of  # noqa: E402


def make_input(n: int, captions: Path, photos: Path, folder: Path) -> Path:
    """A COCO caption file of `n` images reusing the photos of `photos`; returns its path."""
    source = json.loads(captions.read_text(encoding="utf-8"))
    texts = [a["caption"] for a in source["annotations"]]
    files = sorted(p.name for p in photos.glob("*.jpg"))
    if not files or not texts:
        sys.exit(f"{photos}: no .jpg files, or {captions}: no captions")
    images, annotations = [], []
    for i in range(n):
        images.append({"id": i + 1, "file_name": files[i % len(files)]})
        for c in range(5):
            caption = texts[(5 * i + c) % len(texts)]
            annotations.append({"id": 5 * i + c, "image_id": i + 1, "caption": caption})
    path = folder / "captions.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path


def recipe_for(args, captions: Path, out: Path, editor: str, n: int, *extra: str):
    overrides = [
        f"input.captions={captions}",
        f"input.images={args.photos}",
        f"input.limit={n}",
        f"output.out={out}",
        f"output.images_per_shard={args.images_per_shard}",
        f"edit.editor={editor}",
        *extra,
    ]
    if editor == "instruct-pix2pix":
        overrides += [
            f"edit.options.model={args.ip2p_model}",
            "edit.options.device=cpu",
            "edit.options.dtype=fp32",
            f"edit.options.steps={args.ip2p_steps}",
            f"edit.options.resolution={args.ip2p_resolution}",
        ]
    return load_recipe(None, overrides)


def fresh_models() -> None:
    from ahnpl.pipeline import negatives

    negatives._shared_spacy.cache_clear()


class Clock:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn, *a):
        start = time.perf_counter()
        value = fn(*a)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return value


def stages_alone(recipe, out: Path) -> dict[str, float]:
    """Seconds of each stage of the build run alone over all images, back to back."""
    clock = Clock()
    fresh_models()
    inputs = clock("read", read_input, recipe.input, recipe.seed)
    for item in inputs.items:
        item.image = clock("read", read_bytes, item.path)
    builder = ShardWork(recipe.model_dump_json(), str(out)).builder()
    clock("load models", lambda: (builder.negatives, builder.editor))
    rejects: list[dict] = []
    usable = [(i, builder.usable_captions(i, rejects)) for i in inputs.items]
    flat = [c for _, captions in usable for c in captions]
    negatives = iter(clock("parse and negatives", lambda: list(builder.negatives.generate(flat))))
    records, requests = [], []
    for item, captions in usable:
        per_caption = [next(negatives) for _ in captions]
        record, image = clock(
            "decode and check", builder.make_record, item, captions, per_caption, rejects
        )
        if record is None:
            continue
        records.append(record)
        if builder.editor is not None:
            requests += builder.edit_requests(record.key, image.pil, captions, per_caption)
    results = clock("edit", lambda: builder.editor.edit(requests) if requests else [])
    quality = recipe.images.jpeg_quality
    for result in results:
        if result.image is not None:
            clock("JPEG encode", encode_jpeg, result.image, quality)
    out.mkdir(parents=True, exist_ok=True)
    per_shard = recipe.output.images_per_shard
    for shard_id, group in groupby(records, key=lambda r: int(r.key) // per_shard):
        url = join(str(out), builder.shard_name(shard_id))
        rows = list(group)
        clock("write", lambda: (builder.writer.write(rows, url), sha256_of(url)))  # noqa: B023
    return clock.seconds


def end_to_end(recipe) -> float:
    fresh_models()
    start = time.perf_counter()
    build(recipe, rank=0, world=1, progress=False)
    return time.perf_counter() - start


def stage_table(args, captions: Path, tmp: Path, editor: str) -> None:
    """Stages alone and whole build taking turns `--repeats` times; the best of each (the run
    least disturbed by other load on a shared machine)."""
    n = args.ip2p_images if editor == "instruct-pix2pix" else args.images
    alone: dict[str, float] = {}
    e2e = float("inf")
    for r in range(args.repeats):
        recipe = recipe_for(args, captions, tmp / f"alone-{editor}-{r}", editor, n)
        for name, seconds in stages_alone(recipe, tmp / f"w-{editor}-{r}").items():
            alone[name] = min(alone.get(name, float("inf")), seconds)
        recipe = recipe_for(args, captions, tmp / f"e2e-{editor}-{r}", editor, n)
        e2e = min(e2e, end_to_end(recipe))
    total = sum(alone.values())
    print(f"\n## editor {editor}: {n} images, one process, best of {args.repeats}")
    print("| stage | seconds | images/s |")
    print("|---|---:|---:|")
    order = ["read", "load models", "decode and check", "parse and negatives", "edit"]
    for name in order + ["JPEG encode", "write"]:
        s = alone.get(name, 0.0)
        rate = f"{n / s:,.0f}" if s > 1e-3 else "-"
        print(f"| {name} | {s:.2f} | {rate} |")
    print(f"| stages back to back | {total:.2f} | {n / total:,.1f} |")
    print(f"| whole build | {e2e:.2f} | {n / e2e:,.1f} |")
    print(f"\nend-to-end / stages-allow: {total / e2e:.2f} (target >= 0.8)", flush=True)


def cli_build(args, captions: Path, out: Path, editor: str, workers: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `ahnpl-gen build` in a fresh process: what a user
    waits for (process start, imports and model loads included), and the CPU time it and its
    workers used (user + system), which a loaded machine does not inflate."""
    cmd = [str(Path(sys.executable).parent / "ahnpl-gen"), "build", "--captions", str(captions)]
    cmd += ["--images", str(args.photos), "--out", str(out), "--editor", editor]
    cmd += ["--workers", str(workers), "--images-per-shard", str(args.images_per_shard)]
    cmd += ["--limit", str(args.images), "--no-progress"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def worker_table(args, captions: Path, tmp: Path, editor: str) -> None:
    """`ahnpl-gen build` with each worker count, taking turns `--repeats` times; best of each."""
    n = args.images
    print(f"\n## workers: {n} images, editor {editor}, {args.images_per_shard} images a shard")
    print(f"cores {len(os.sched_getaffinity(0))}, load before: {os.getloadavg()[0]:.2f}")
    best = dict.fromkeys(args.workers, (float("inf"), 0.0))
    for r in range(args.repeats):
        for w in args.workers:
            out = tmp / f"workers-{w}-{r}"
            best[w] = min(best[w], cli_build(args, captions, out, editor, w))
            shutil.rmtree(out)
    print(f"| workers | wall s (best of {args.repeats}) | images/s | speed-up | CPU s |")
    print("|---:|---:|---:|---:|---:|")
    base = best[args.workers[0]][0]
    for w, (wall, cpu) in best.items():
        print(f"| {w} | {wall:.2f} | {n / wall:,.1f} | {base / wall:.2f}x | {cpu:.1f} |")
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=1000, help="input images (photos reused)")
    p.add_argument("--captions", type=Path, default=REPO / "data/coco-mini/captions.json")
    p.add_argument("--photos", type=Path, default=REPO / "data/coco-mini/images")
    p.add_argument("--editors", default="none,flip", help="none,flip,instruct-pix2pix")
    p.add_argument("--workers", default="", help="e.g. 1,2,4: also time local worker counts")
    p.add_argument("--worker-editor", default="flip")
    p.add_argument("--repeats", type=int, default=2, help="runs of each measurement (best)")
    p.add_argument("--images-per-shard", type=int, default=125)
    p.add_argument("--ip2p-images", type=int, default=64)
    p.add_argument("--ip2p-steps", type=int, default=4)
    p.add_argument("--ip2p-resolution", type=int, default=128)
    args = p.parse_args()
    args.workers = [int(w) for w in args.workers.split(",") if w]
    editors = [e for e in args.editors.split(",") if e]
    with tempfile.TemporaryDirectory(prefix="bench-build-") as name:
        tmp = Path(name)
        captions = make_input(args.images, args.captions, args.photos, tmp)
        if "instruct-pix2pix" in editors:
            from editor_fixtures import build_pipeline

            args.ip2p_model = str(build_pipeline("instruct-pix2pix", tmp / "ip2p"))
        print(
            f"# bench_build: {args.images} images ({args.photos}), captions {args.captions}, "
            f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.2f}"
        )
        # Imports (spaCy, pyarrow, torch) are paid once here, by neither side of the ratio.
        stages_alone(recipe_for(args, captions, tmp / "warm-up", "flip", 8), tmp / "warm-up-w")
        for editor in editors:
            stage_table(args, captions, tmp, editor)
        if args.workers:
            worker_table(args, captions, tmp, args.worker_editor)


if __name__ == "__main__":
    main()
