"""Edit throughput: batched `DiffusionEditor.edit` vs one diffusers call per image.

    python bench/bench_edit.py                                   # CPU, tiny random pipeline
    python bench/bench_edit.py --device cuda --size 256,512      # GPU, SD 1.5-sized, random

Prints images/s for both and their ratio for each working size; on CUDA also the UNet's FLOPs
per image (torch.utils.flop_counter) and its utilisation against the device's dense bf16 peak:
end-to-end (UNet FLOPs over the whole edit time, a lower bound) and UNet-only (timed UNet
forwards at the same batch). Weights are random (the speed of a real checkpoint of the same
architecture is the same); photos are the bundled data/coco-mini ones.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from PIL import Image

from ahnpl.pipeline.diffusion import DiffusionEditor, working_size
from ahnpl.pipeline.editors import EditRequest
from ahnpl.testing.diffusion import make_negative, make_pipeline

ROOT = Path(__file__).resolve().parent.parent

# Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s, from the vendors' data sheets.
BF16_PEAK_TFLOPS = {
    "H200": 989.4,
    "H100 SXM": 989.4,
    "H100 NVL": 835.0,
    "H100 PCIe": 756.0,
    "H100": 989.4,
    "A100": 312.0,
    "L40S": 362.1,
    "L4": 121.0,
    "A10G": 70.0,
    "A10": 125.0,
}
CAPTION = "a red car parked next to a dog"


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, value in BF16_PEAK_TFLOPS.items():  # most specific names first
        if key in name:
            return value
    return None


def requests_for(n: int) -> list[EditRequest]:
    with Image.open(sorted((ROOT / "data/coco-mini/images").glob("*.jpg"))[0]) as im:
        photo = im.convert("RGB")
    negative = make_negative(CAPTION, "attribute", "red", "blue")
    return [EditRequest(f"img{i}", 0, i % 5, photo, CAPTION, negative, 0) for i in range(n)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(
    editor: DiffusionEditor, requests: list, batch_size: int, repeats: int
) -> float:
    """Best of `repeats` timed runs (the least disturbed by other load), after a warm-up."""
    editor.config.batch_size = batch_size
    editor.edit(requests[:batch_size])  # warm-up: kernels, allocator, cuDNN autotune
    best = 0.0
    for _ in range(repeats):
        sync(editor.device)
        start = time.perf_counter()
        results = editor.edit(requests)
        sync(editor.device)
        best = max(best, len(requests) / (time.perf_counter() - start))
        failed = [r.reason for r in results if r.image is None]
        if failed:
            raise RuntimeError(f"{len(failed)} edits failed: {sorted(set(failed))}")
    return best


def unet_inputs(editor: DiffusionEditor, size: tuple[int, int], batch: int) -> tuple:
    """The UNet inputs of one instruct-pix2pix denoising step (3x batch for the guidance)."""
    unet, f = editor.pipe.unet, editor.pipe.vae_scale_factor
    n = 3 * batch
    x = torch.randn(n, unet.config.in_channels, size[1] // f, size[0] // f)
    ctx = torch.randn(n, 77, unet.config.cross_attention_dim)
    t = torch.full((n,), 500, device=editor.device)
    return x.to(editor.device, unet.dtype), ctx.to(editor.device, unet.dtype), t


@torch.inference_mode()
def unet_flops_and_seconds(editor: DiffusionEditor, size, batch: int, repeats: int):
    from torch.utils.flop_counter import FlopCounterMode

    unet = editor.pipe.unet
    x, ctx, t = unet_inputs(editor, size, batch)
    with FlopCounterMode(display=False) as counter:
        unet(x, t, encoder_hidden_states=ctx)
    flops = counter.get_total_flops()
    unet(x, t, encoder_hidden_states=ctx)
    sync(editor.device)
    start = time.perf_counter()
    for _ in range(repeats):
        unet(x, t, encoder_hidden_states=ctx)
    sync(editor.device)
    return flops, (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", default=None, help="working sizes (longer side), e.g. 256,512")
    parser.add_argument(
        "--sd15",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="SD 1.5-sized UNet (default on cuda) instead of the tiny one",
    )
    parser.add_argument("--batch", type=int, default=None, help="edits per diffusers call")
    parser.add_argument("--images", type=int, default=None, help="edits timed per mode")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--dtype", default=None, choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per mode (best)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="override the bf16 peak")
    args = parser.parse_args()
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    transformers.utils.logging.set_verbosity_error()

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    sd15 = cuda if args.sd15 is None else args.sd15
    sizes = [int(s) for s in (args.size or ("256,512" if cuda else "64")).split(",")]
    batch = args.batch or 8
    n_images = args.images or (2 * batch)
    steps = args.steps or (20 if cuda else 4)
    dtype = args.dtype or ("bf16" if cuda else "fp32")
    torch.backends.cudnn.benchmark = True

    built = time.perf_counter()
    pipe = make_pipeline("instruct-pix2pix", sd15=sd15)
    editor = DiffusionEditor.from_pipeline(
        "instruct-pix2pix",
        pipe,
        model="random-sd15" if sd15 else "random-tiny",
        device=str(device),
        dtype=dtype,
        steps=steps,
        batch_size=batch,
    )
    params = sum(p.numel() for p in pipe.unet.parameters()) / 1e6
    print(
        f"# instruct-pix2pix, random weights, UNet {params:.0f}M params, {dtype} UNet, "
        f"fp32 VAE, {steps} steps, batch {batch}, {n_images} images per mode, device "
        f"{torch.cuda.get_device_name(device) if cuda else 'cpu'} "
        f"(built in {time.perf_counter() - built:.0f}s)"
    )
    peak = peak_tflops(device, args.peak_tflops)
    requests = requests_for(n_images)
    for resolution in sizes:
        editor.config.resolution = resolution
        size = working_size(*requests[0].image.size, resolution, pipe.vae_scale_factor)
        batched = images_per_second(editor, requests, batch, args.repeats)
        single = images_per_second(editor, requests, 1, args.repeats)
        flops, unet_s = unet_flops_and_seconds(editor, size, batch, repeats=5 if cuda else 2)
        per_image = flops / batch * steps  # UNet FLOPs of one edit
        line = (
            f"size {size[0]}x{size[1]}: batched {batched:.2f} img/s, one call per image "
            f"{single:.2f} img/s, ratio {batched / single:.2f}x; "
            f"UNet {per_image / 1e9:.2f} GFLOP per edit"
        )
        if peak:
            e2e = per_image * batched / 1e12 / peak
            unet_only = flops / unet_s / 1e12 / peak
            line += (
                f"; UNet utilisation vs {peak:.0f} TFLOP/s bf16: end-to-end {e2e:.1%}, "
                f"UNet-only {unet_only:.1%}"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
