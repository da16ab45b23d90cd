"""Decode, check and normalise input images before they are stored (DESIGN §10).

Every image becomes 8-bit RGB JPEG bytes or an `ImageReject` with a reason. Pixels are kept as
stored (no EXIF rotation) so that widths, heights and boxes of the source annotations stay
valid.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import fsspec
import numpy as np
from PIL import Image, UnidentifiedImageError

from .recipe import ImagesConfig


class ImageReject(Exception):
    """An image that cannot be stored; `reason` is a short machine-readable tag."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class LoadedImage:
    jpeg: bytes
    width: int
    height: int
    pil: Image.Image  # RGB, for the editors


def read_bytes(path: str) -> bytes:
    """Raises ImageReject("missing_image") when the file does not exist."""
    try:
        with fsspec.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise ImageReject("missing_image", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReject("missing_image", f"{path}: is a directory") from None


def load_image(data: bytes, cfg: ImagesConfig) -> LoadedImage:
    """Decode `data` into RGB, reject what cannot be used, return JPEG bytes to store.

    Raises:
        ImageReject: reason `unreadable_image` (not an image, truncated, corrupt),
            `too_large` (more than `cfg.max_pixels`: decompression bombs), `too_small`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            # Checked before decoding so a bomb never allocates its pixels.
            if w * h > cfg.max_pixels:
                raise ImageReject("too_large", f"{w}x{h} pixels exceeds {cfg.max_pixels}")
            fmt = img.format
            img.load()
    except ImageReject:
        raise
    except Image.DecompressionBombError as e:
        # PIL refuses on open past twice its own limit, before our check can run.
        raise ImageReject("too_large", str(e)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageReject("unreadable_image", f"{type(e).__name__}: {e}") from None
    if min(w, h) < cfg.min_side:
        raise ImageReject("too_small", f"{w}x{h}: a side is under {cfg.min_side} pixels")
    original_mode = img.mode
    rgb = to_rgb(img)
    if cfg.resize_max_side and max(w, h) > cfg.resize_max_side:
        scale = cfg.resize_max_side / max(w, h)
        rgb = rgb.resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BICUBIC
        )
    keep_original = fmt == "JPEG" and original_mode == "RGB" and rgb.size == (w, h)
    if keep_original:
        jpeg = data  # already what we would write: re-encoding would only lose quality
    else:
        jpeg = encode_jpeg(rgb, cfg.jpeg_quality)
    return LoadedImage(jpeg, rgb.width, rgb.height, rgb)


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB from any PIL mode: CMYK, 16-bit grey, palette, alpha (on white), 1-bit."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # PIL's convert("L") clips 16-bit values instead of scaling them.
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def encode_jpeg(img: Image.Image, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
