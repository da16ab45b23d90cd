"""Evaluation rate vs pure encoder throughput on the same items (DESIGN §11: target >= 0.9x).

Baseline ("pure encoder"): one plain loop that decodes and preprocesses each unique image once
and encodes it, and tokenises and encodes each unique text once, in batches of the same size,
with no loading, deduplication, bookkeeping or scoring. Also printed: the encoder alone on
already-decoded tensors (an upper bound no evaluation can reach when decoding is the cost).
Evaluation: `ahnpl.evaluation.run.evaluate` end to end (load the benchmark files, resolve
images, encode, score, summarise). Median of `--repeats` runs after one warm-up.

    .venv/bin/python bench/bench_eval.py [--model ahnpl-tiny] [--benchmark sugarcrepe]
        [--data-root data/benchmarks] [--images data/coco-mini/images] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import torch
from PIL import Image

from ahnpl.evaluation.benchmarks import get_benchmark
from ahnpl.evaluation.run import _image_roots, evaluate
from ahnpl.evaluation.scoring import ImageResolver
from ahnpl.models import create_model


def _unique_inputs(names, data_root, images):
    from pathlib import Path

    refs, texts, n_items = [], [], 0
    for name in names:
        items = get_benchmark(name).load(Path(data_root))
        n_items += len(items)
        resolver = ImageResolver(_image_roots([Path(images)], Path(data_root), name))
        for it in items:
            paths = [resolver.resolve(r.path) for r in it.images]
            if all(paths):
                refs.extend((p, r.box) for p, r in zip(paths, it.images, strict=True))
                texts.extend(it.positives + it.negatives)
    return list(dict.fromkeys(refs)), list(dict.fromkeys(texts)), n_items


def _sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


@torch.inference_mode()
def pure_encoder(loaded, refs, texts, device, batch_size, decode=True, pixels=None):
    """Seconds to encode every unique image and text once (decoding included when `decode`)."""
    model = loaded.model.eval()
    dtype = next(model.visual.parameters()).dtype
    start = time.perf_counter()
    for i in range(0, len(refs), batch_size):
        if decode:
            batch = []
            for path, box in refs[i : i + batch_size]:
                img = Image.open(path).convert("RGB")
                if box is not None:
                    img = img.crop((box[0], box[1], box[0] + box[2], box[1] + box[3]))
                batch.append(loaded.preprocess_val(img))
            x = torch.stack(batch)
        else:
            x = pixels[i : i + batch_size]
        model.encode_image(x.to(device=device, dtype=dtype), normalize=True)
    for i in range(0, len(texts), batch_size):
        model.encode_text(loaded.tokenizer(texts[i : i + batch_size]).to(device), normalize=True)
    _sync(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ahnpl-tiny")
    parser.add_argument("--benchmark", default="sugarcrepe")
    parser.add_argument("--data-root", default="data/benchmarks")
    parser.add_argument("--images", default="data/coco-mini/images")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads (0: torch default)"
    )
    args = parser.parse_args()
    if args.threads:
        # On a shared CPU, more threads than free cores makes every figure noise.
        torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    loaded = create_model(args.model, device=args.device)
    names = args.benchmark.split(",")
    refs, texts, n_items = _unique_inputs(names, args.data_root, args.images)
    pixels = torch.stack(
        [loaded.preprocess_val(Image.open(p).convert("RGB")) for p, _ in refs]
    )  # for the encoder-only figure

    def run_eval(workers):
        start = time.perf_counter()
        evaluate(loaded, names, args.data_root, args.images, args.device, args.batch_size, workers)
        _sync(args.device)
        return time.perf_counter() - start

    timings = {
        "encoder only (pre-decoded)": lambda: pure_encoder(
            loaded, refs, texts, args.device, args.batch_size, decode=False, pixels=pixels
        ),
        "pure encoder (decode + encode)": lambda: pure_encoder(
            loaded, refs, texts, args.device, args.batch_size
        ),
        "evaluate, workers=0": lambda: run_eval(0),
        "evaluate, default workers": lambda: run_eval(None),
    }
    for fn in timings.values():
        fn()  # warm-up
    # Interleaved, best of N: on a shared machine the minimum is the least disturbed run.
    runs: dict[str, list[float]] = {label: [] for label in timings}
    for _ in range(args.repeats):
        for label, fn in timings.items():
            runs[label].append(fn())
    results = {label: min(times) for label, times in runs.items()}

    print(
        f"model {args.model} on {args.device} ({torch.get_num_threads()} threads); "
        f"{args.benchmark}: {n_items} items, "
        f"{len(refs)} unique images, {len(texts)} unique texts; batch {args.batch_size}; "
        f"best of {args.repeats} interleaved runs"
    )
    base = results["pure encoder (decode + encode)"]
    for label, seconds in results.items():
        print(
            f"  {label:32s} {seconds:8.3f} s  {n_items / seconds:9.1f} items/s  "
            f"{base / seconds:5.2f}x pure encoder"
        )


if __name__ == "__main__":
    main()
