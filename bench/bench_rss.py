"""Peak memory against input size (DESIGN §7, §8: memory flat in input and dataset size).

    python bench/bench_rss.py build --rows 10000,1000000 --limit 1000
    python bench/bench_rss.py train --images 300,3000 --steps 30

`build`: generates img2dataset-style Parquet inputs (img2dataset's columns: url, caption, key,
status, error_message, width, height, original_width, original_height and the JPEG bytes in
`jpg`; 10,000 rows a file, as img2dataset writes them) of each `--rows` size, reusing a few
real photos from data/coco-mini shrunk to `--thumb` px so a million rows fit on a small disk,
then runs `ahnpl-gen build --source parquet --input DIR --limit N` on each and prints the peak
resident memory of the build process (its workers included) and the seconds taken. The input
folders are deleted afterwards.

`--input-kind coco` writes a COCO caption JSON instead (the reader that holds its whole file).

`train`: writes datasets of each `--images` size (the bundled photos reused under new keys,
the test fixtures' negatives and edits), runs `ahnpl-train manifests/train-demo.yaml` for the
same `--steps` on each, and prints the trainer's peak resident memory (loader workers
included).

Peak RSS is `getrusage(RUSAGE_CHILDREN).ru_maxrss` of a wrapper process around each command:
the largest of the command's process and every process it waited for.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ROWS_PER_FILE = 10_000
WRAPPER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)"
)


def peak_rss_mib(cmd: list[str], log: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of `cmd` and its children; raises if it fails."""
    start = time.perf_counter()
    with open(log, "w") as err:
        done = subprocess.run(
            [sys.executable, "-c", WRAPPER, *cmd], stdout=subprocess.PIPE, stderr=err, text=True
        )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (rc {done.returncode}); see {log}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024, seconds


def thumbnails(size: int, count: int = 8) -> list[tuple[bytes, int, int, str]]:
    """(jpeg, width, height, caption) of the first `count` coco-mini photos at `size` px."""
    from PIL import Image

    data = json.loads((REPO / "data/coco-mini/captions.json").read_text())
    captions = {}
    for a in data["annotations"]:
        captions.setdefault(a["image_id"], a["caption"].strip())
    out = []
    for info in data["images"][:count]:
        with Image.open(REPO / "data/coco-mini/images" / info["file_name"]) as im:
            im = im.convert("RGB")
            im.thumbnail((size, size))
            buf = io.BytesIO()
            im.save(buf, "JPEG", quality=85)
        out.append((buf.getvalue(), im.width, im.height, captions[info["id"]]))
    return out


def write_parquet_input(folder: Path, rows: int, thumbs) -> int:
    """img2dataset-style Parquet files of `rows` rows in all; returns the bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    n = len(thumbs)
    for start in range(0, rows, ROWS_PER_FILE):
        count = min(ROWS_PER_FILE, rows - start)
        pick = [(start + i) % n for i in range(count)]
        keys = [f"{start + i:09d}" for i in range(count)]
        widths = pa.array([thumbs[p][1] for p in pick], pa.int32())
        heights = pa.array([thumbs[p][2] for p in pick], pa.int32())
        table = pa.table(
            {
                "url": [f"http://example.com/{k}.jpg" for k in keys],
                "caption": [thumbs[p][3] for p in pick],
                "key": keys,
                "status": ["success"] * count,
                "error_message": pa.nulls(count, pa.string()),
                "width": widths,
                "height": heights,
                "original_width": widths,
                "original_height": heights,
                "jpg": pa.array([thumbs[p][0] for p in pick], pa.binary()),
            }
        )
        # No dictionary for the bytes: repeated photos would otherwise shrink to one copy a file,
        # and the input would be far smaller than a real one of the same row count.
        path = folder / f"{start // ROWS_PER_FILE:05d}.parquet"
        dictionary = [c for c in table.column_names if c != "jpg"]
        pq.write_table(table, path, row_group_size=1000, use_dictionary=dictionary)
    return sum(f.stat().st_size for f in folder.iterdir())


def write_coco_input(folder: Path, rows: int, thumbs) -> int:
    """A COCO caption JSON of `rows` images (one caption each) naming the reused thumbnails."""
    folder.mkdir(parents=True)
    (folder / "images").mkdir()
    for i, (jpeg, *_) in enumerate(thumbs):
        (folder / "images" / f"{i}.jpg").write_bytes(jpeg)
    n = len(thumbs)
    images = [{"id": i, "file_name": f"{i % n}.jpg"} for i in range(rows)]
    annotations = [{"id": i, "image_id": i, "caption": thumbs[i % n][3]} for i in range(rows)]
    path = folder / "captions.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations}))
    return path.stat().st_size


def bench_build(args, tmp: Path) -> None:
    thumbs = thumbnails(args.thumb)
    kind = "img2dataset-style Parquet" if args.input_kind == "parquet" else "COCO caption JSON"
    print(f"## build --limit {args.limit}: {kind} inputs, {args.thumb} px JPEGs")
    print("| input rows | input size | peak RSS | seconds |")
    print("|---:|---:|---:|---:|")
    for rows in args.rows:
        folder = tmp / f"input-{rows}"
        out = tmp / f"out-{rows}"
        cmd = [str(BIN / "ahnpl-gen"), "build"]
        if args.input_kind == "parquet":
            size = write_parquet_input(folder, rows, thumbs)
            cmd += ["--source", "parquet", "--input", str(folder)]
        else:
            size = write_coco_input(folder, rows, thumbs)
            cmd += ["--captions", str(folder / "captions.json"), "--images", str(folder / "images")]
        cmd += ["--out", str(out), "--limit", str(args.limit), "--no-progress", *args.extra]
        rss, seconds = peak_rss_mib(cmd, tmp / f"build-{rows}.log")
        print(
            f"| {rows:,} | {size / 2**20:,.0f} MiB | {rss:,.0f} MiB | {seconds:.1f} |", flush=True
        )
        shutil.rmtree(folder)
        shutil.rmtree(tmp / f"out-{rows}")


def write_training_set(out: Path, images: int) -> None:
    sys.path.insert(0, str(REPO / "tests"))
    import trainer_fixtures as fx

    base = fx.make_records(30, 64)
    records = []
    for i in range(images):
        r = base[i % len(base)]
        records.append(dataclasses.replace(r, key=f"img{i:09d}"))
    fx.write_dataset(out, records, 100)


def bench_train(args, tmp: Path) -> None:
    print(f"\n## ahnpl-train manifests/train-demo.yaml, {args.steps} steps, batch 16")
    print("| dataset images | shards | peak RSS | seconds |")
    print("|---:|---:|---:|---:|")
    for images in args.images:
        data = tmp / f"train-{images}"
        write_training_set(data, images)
        cmd = [str(BIN / "ahnpl-train"), str(REPO / "manifests/train-demo.yaml")]
        cmd += ["--data", str(data), "--out", str(tmp / f"run-{images}")]
        cmd += ["--steps", str(args.steps)]
        rss, seconds = peak_rss_mib(cmd, tmp / f"train-{images}.log")
        shards = len(list(data.glob("**/shard-*")))
        print(f"| {images:,} | {shards} | {rss:,.0f} MiB | {seconds:.1f} |", flush=True)
        shutil.rmtree(data)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("part", choices=["build", "train", "both"])
    p.add_argument("--rows", default="10000,1000000", help="input sizes of the build part")
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--input-kind", default="parquet", choices=["parquet", "coco"])
    p.add_argument("--thumb", type=int, default=64, help="longer side of the reused photos")
    p.add_argument("--images", default="300,3000", help="dataset sizes of the train part")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--tmp", default=None, help="work folder (default: a temporary one)")
    p.add_argument("extra", nargs="*", help="more `ahnpl-gen build` overrides")
    args = p.parse_args()
    args.rows = [int(r) for r in args.rows.split(",")]
    args.images = [int(i) for i in args.images.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-rss-", dir=args.tmp) as name:
        tmp = Path(name)
        if args.part in ("build", "both"):
            bench_build(args, tmp)
        if args.part in ("train", "both"):
            bench_train(args, tmp)


if __name__ == "__main__":
    main()
