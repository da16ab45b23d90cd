"""Build speed (DESIGN §11): the build's stages timed alone, back to back, against the whole
build, in one run; and the same build on 1, 2, 4 local worker processes.

    python bench/bench_build.py                                   # 1,000 images, none + flip
    python bench/bench_build.py --editors none,flip,instruct-pix2pix --ip2p-images 64
    python bench/bench_build.py --no-stages --workers 1,2,4       # worker speed-up only
    python bench/bench_build.py --captions ../shared/data/captions/captions_val2017.json \\
        --photos ../shared/data/coco/images                        # real captions, 200 photos

The input is a generated COCO caption file of `--images` images: the photos of `--photos`
reused in turn, each with five captions taken in turn from `--captions` (default: the bundled
coco-mini). For each editor one table: seconds and images/s of each stage run alone on all
images (read the caption file and the image bytes; load spaCy and the editor; count the
corpus statistics; decode and check; parse and negatives; edit; JPEG-encode the edits;
write the shards), the rate those stages allow back to back (images / sum of seconds), the
end-to-end `build` rate in one process, and their ratio (target >= 0.8). Both sides load
spaCy and the editor from scratch, and count the statistics (the default `negatives.stats:
input`). The worker table runs `ahnpl-gen build --workers N` in a fresh process per run, N
taking turns, and prints wall and CPU seconds, the speed-up over the first N and the load
average (1 min) around each run: judge speed-ups only when the load stays under the core count.
`instruct-pix2pix` is the tiny random-weight pipeline of `ahnpl.testing.diffusion`.
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

from ahnpl.pipeline import build as build_module
from ahnpl.pipeline.build import CHUNK_IMAGES, ShardWork, build
from ahnpl.pipeline.distributors import LocalDistributor
from ahnpl.pipeline.images import ImageReject, load_image, read_bytes
from ahnpl.pipeline.inputs import open_source
from ahnpl.pipeline.recipe import load_recipe
from ahnpl.shards.manifest import join, sha256_of

REPO = Path(__file__).resolve().parent.parent


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
    from ahnpl.pipeline.caption_parse import shared_spacy

    shared_spacy.cache_clear()


class Clock:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn, *a):
        start = time.perf_counter()
        value = fn(*a)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
        return value


def stages_alone(recipe, out: Path) -> dict[str, float]:
    """Seconds of each stage of the build run alone over all images, back to back, each
    called as the build calls it (chunks of `CHUNK_IMAGES` images)."""
    clock = Clock()
    fresh_models()
    out.mkdir(parents=True, exist_ok=True)
    source = clock("read", open_source, recipe.input, recipe.seed)
    plan = clock("read", source.plan, recipe.output.images_per_shard)
    items = clock("read", lambda: [i for spec in plan.shards for i in source.read(spec)])
    for item in items:
        if item.image is None and item.reject is None:
            item.image = clock("read", read_bytes, item.path)
    from ahnpl.pipeline.caption_parse import shared_spacy

    clock("load models", shared_spacy, recipe.negatives.spacy_model)
    build_module._PROCESS.source = (recipe.model_dump_json(), source)
    stats, _ = clock(
        "corpus statistics",
        build_module._statistics_step,
        recipe,
        plan,
        str(out),
        LocalDistributor(1),
        False,
    )
    builder = ShardWork(recipe.model_dump_json(), str(out), None, stats).builder()
    clock("load models", lambda: (builder.negatives, builder.editor))
    kept = clock("decode and check", decode_all, builder, items)
    records: list = []
    for start in range(0, len(kept), CHUNK_IMAGES):
        chunk = kept[start : start + CHUNK_IMAGES]
        groups = [captions for _, captions, _ in chunk]
        rows = clock("parse and negatives", all_of, builder.negatives.generate_groups, groups)
        part, requests = [], []
        for (item, captions, image), negatives in zip(chunk, rows):
            part.append(builder.make_record(item, captions, image, negatives))
            if builder.editor is not None:
                requests += builder.edit_requests(part[-1].key, image.pil, captions, negatives)
        results = clock("edit", all_of, builder.editor.edit, requests) if requests else []
        clock("JPEG encode", builder.attach, part, requests, results)
        records += part
    per_shard = recipe.output.images_per_shard
    for shard_id, group in groupby(records, key=lambda r: int(r.key) // per_shard):
        url = join(str(out), builder.shard_name(shard_id))
        rows = list(group)
        clock("write", lambda: (builder.writer.write(rows, url), sha256_of(url)))  # noqa: B023
    build_module._PROCESS.release()
    return clock.seconds


def all_of(fn, arg) -> list:
    return list(fn(arg))  # generators run when consumed: inside the clock


def decode_all(builder, items) -> list:
    """(item, usable captions, decoded image) of every item the build keeps."""
    kept, rejects = [], []
    for item in items:
        captions = builder.usable_captions(item, rejects) if item.reject is None else []
        if not captions:
            continue
        try:
            kept.append((item, captions, load_image(item.image, builder.recipe.images)))
        except ImageReject:
            continue
    return kept


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
    order = ["read", "load models", "corpus statistics", "decode and check"]
    for name in order + ["parse and negatives", "edit", "JPEG encode", "write"]:
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
    cores = len(os.sched_getaffinity(0))
    print(f"\n## workers: {n} images, editor {editor}, {args.images_per_shard} images a shard")
    best = dict.fromkeys(args.workers, (float("inf"), 0.0))
    loads = []
    for r in range(args.repeats):
        for w in args.workers:
            out = tmp / f"workers-{w}-{r}"
            loads.append(os.getloadavg()[0])
            best[w] = min(best[w], cli_build(args, captions, out, editor, w))
            shutil.rmtree(out)
    loads.append(os.getloadavg()[0])
    print(f"| workers | wall s (best of {args.repeats}) | images/s | speed-up | CPU s |")
    print("|---:|---:|---:|---:|---:|")
    base = best[args.workers[0]][0]
    for w, (wall, cpu) in best.items():
        print(f"| {w} | {wall:.2f} | {n / wall:,.1f} | {base / wall:.2f}x | {cpu:.1f} |")
    print(
        f"\n{cores} cores; load average (1 min) around the runs: {min(loads):.2f} to "
        f"{max(loads):.2f}"
        + (" (busy machine: speed-ups understated)" if max(loads) > 1.5 else ""),
        flush=True,
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--images", type=int, default=1000, help="input images (photos reused)")
    p.add_argument("--captions", type=Path, default=REPO / "data/coco-mini/captions.json")
    p.add_argument("--photos", type=Path, default=REPO / "data/coco-mini/images")
    p.add_argument("--editors", default="none,flip", help="none,flip,instruct-pix2pix")
    p.add_argument("--workers", default="", help="e.g. 1,2,4: also time local worker counts")
    p.add_argument("--no-stages", action="store_true", help="only the worker table")
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
        if "instruct-pix2pix" in editors and not args.no_stages:
            from ahnpl.testing.diffusion import build_pipeline

            args.ip2p_model = str(build_pipeline("instruct-pix2pix", tmp / "ip2p"))
        print(
            f"# bench_build: {args.images} images ({args.photos}), captions {args.captions}, "
            f"{len(os.sched_getaffinity(0))} cores, load {os.getloadavg()[0]:.2f}"
        )
        if not args.no_stages:
            # Imports (spaCy, pyarrow, torch) are paid once here, by neither side of the ratio.
            warm = recipe_for(args, captions, tmp / "warm-up", "flip", 8)
            stages_alone(warm, tmp / "warm-up-w")
            for editor in editors:
                stage_table(args, captions, tmp, editor)
        if args.workers:
            worker_table(args, captions, tmp, args.worker_editor)


if __name__ == "__main__":
    main()
