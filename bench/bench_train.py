"""Trainer speed, as ratios measured side by side in one run (DESIGN §11).

1. Step time with the AHNPL losses vs plain CLIP loss on the same encoders and the same texts
   (captions + their text negatives encoded in both; only the loss differs). Target ≤ 1.05.
2. Shard reading (ShardStream: read, expand, shuffle, decode, transform, tokenise) vs decoding
   the same JPEG bytes from a folder with the same transforms and tokenising the same texts.
   Target ≥ 0.9.

    python bench/bench_train.py --threads 1            # ahnpl-tiny on CPU
    python bench/bench_train.py --model ViT-B-32 --device cuda --precision bf16 --batch-size 256
    python bench/bench_train.py --data out/demo/dataset  # any ahnpl dataset

Without --data a dataset is written from the 30 bundled photos (short side 256 px) with the
test fixtures' hand-made text negatives and edited images.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from ahnpl.models import create_model
from ahnpl.shards.io import read_shard
from ahnpl.shards.manifest import load_manifest, shard_urls
from ahnpl.trainer.config import DataConfig, LossConfig
from ahnpl.trainer.data import ShardStream, StreamOptions
from ahnpl.trainer.objective import build_objective, encode

REPO = Path(__file__).resolve().parent.parent


def dataset(path: str | None) -> str:
    if path and (Path(path) / "manifest.json").is_file():
        return path
    from ahnpl.testing.datasets import make_records, write_dataset

    out = Path(tempfile.mkdtemp()) / "ds"
    write_dataset(out, make_records(30, 256), 10)
    return str(out)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_losses(args, loaded, batch: dict, device: torch.device) -> tuple[float, float]:
    model = loaded.model.to(device).train()
    b, k = batch["neg_mask"].shape
    losses = {
        "ahnpl": build_objective(LossConfig(image_negatives="both"), k, b).to(device),
        "clip": build_objective(LossConfig(mode="clip"), k, b).to(device),
    }
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16")
    times: dict[str, list[float]] = {k: [] for k in losses}

    def step(name: str) -> float:
        sync(device)
        t0 = time.perf_counter()
        with amp:  # the same inputs for both: only the loss differs
            encoded = encode(model, batch, device, losses["ahnpl"])
        out = losses[name](encoded)
        out["total"].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync(device)
        return time.perf_counter() - t0

    for _ in range(args.warmup):
        for name in losses:
            step(name)
    for _ in range(args.steps):  # interleaved, so drift in machine load hits both alike
        for name in losses:
            times[name].append(step(name))
    return statistics.median(times["ahnpl"]), statistics.median(times["clip"])


def bench_reading(args, loaded, data: str) -> tuple[float, float]:
    manifest = load_manifest(data)
    urls = shard_urls(data, manifest)
    cfg = DataConfig(
        path=data,
        batch_size=args.read_batch,
        workers=0,
        shuffle_buffer=256,
        captions_per_image="one",
    )
    k = len(manifest.negative_types)
    checked = StreamOptions(entries=list(manifest.shards))  # as the trainer reads them
    stream = ShardStream(
        urls, k, loaded.preprocess_train, loaded.tokenizer, cfg, seed=0, options=checked
    )

    # The folder: the very same JPEG bytes, one file per image, with the caption and negatives
    # the stream would pick, so both sides decode, transform and tokenise the same things.
    folder = Path(tempfile.mkdtemp())
    items = []
    for url in urls:
        for r in read_shard(url):
            (folder / f"{r.key}.jpg").write_bytes(r.image)
            items.append((folder / f"{r.key}.jpg", r.captions[0], r.neg_texts[0]))

    def folder_batches():
        i = 0
        while True:
            chunk = [items[(i + j) % len(items)] for j in range(args.read_batch)]
            i += args.read_batch
            imgs = []
            for path, _, _ in chunk:
                with open(path, "rb") as f:
                    img = Image.open(io.BytesIO(f.read())).convert("RGB")
                imgs.append(loaded.preprocess_train(img))
            captions = loaded.tokenizer([c for _, c, _ in chunk])
            negatives = loaded.tokenizer([n for _, _, negs in chunk for n in negs])
            yield torch.stack(imgs), captions, negatives

    # Interleaved batch by batch, so changes in machine load hit both sides alike.
    sources = {"shards": iter(stream), "folder": folder_batches()}
    spent = dict.fromkeys(sources, 0.0)
    for it in sources.values():
        next(it)  # open files, warm caches
    n_batches = max(1, args.read_samples // args.read_batch)
    for _ in range(n_batches):
        for name, it in sources.items():
            t0 = time.perf_counter()
            next(it)
            spent[name] += time.perf_counter() - t0
    n = n_batches * args.read_batch
    return n / spent["shards"], n / spent["folder"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", default="", help="dataset dir (default: built from bundled photos)")
    p.add_argument("--model", default="ahnpl-tiny")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--read-batch", type=int, default=32)
    p.add_argument("--read-samples", type=int, default=600)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data = dataset(args.data)
    loaded = create_model(args.model)
    manifest = load_manifest(data)

    # One training batch from the shards, all captions, pixel edits where present.
    cfg = DataConfig(path=data, batch_size=args.batch_size, workers=0)
    stream = ShardStream(
        shard_urls(data, manifest),
        len(manifest.negative_types),
        loaded.preprocess_train,
        loaded.tokenizer,
        cfg,
        seed=0,
        options=StreamOptions(pixel_negatives=True),
    )
    batch = next(iter(stream))
    n_neg = int(batch["neg_mask"].sum())
    n_edit = batch["edit_images"].shape[0]

    ahnpl, clip = bench_losses(args, loaded, batch, device)
    print(
        f"model {args.model} on {device} ({args.precision}), batch {args.batch_size} "
        f"(+{n_neg} text negatives, +{n_edit} edits), {args.steps} steps each"
    )
    print(f"  step with AHNPL losses : {ahnpl * 1e3:8.1f} ms")
    print(f"  step with CLIP loss    : {clip * 1e3:8.1f} ms")
    print(f"  ratio AHNPL / CLIP     : {ahnpl / clip:8.3f}   (target <= 1.05)")

    shard_rate, folder_rate = bench_reading(args, loaded, data)
    print(f"reading {args.read_samples} samples, batch {args.read_batch}, 1 process:")
    print(f"  shards (read+decode+transform+tokenise): {shard_rate:8.1f} samples/s")
    print(f"  folder JPEGs (decode+transform+tokenise): {folder_rate:8.1f} samples/s")
    print(f"  ratio shards / folder  : {shard_rate / folder_rate:8.3f}   (target >= 0.9)")


if __name__ == "__main__":
    main()
