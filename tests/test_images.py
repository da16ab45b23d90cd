"""Every kind of bad image becomes RGB JPEG bytes or a reject with a reason (DESIGN §10)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ahnpl.pipeline.images import ImageReject, load_image, read_bytes
from ahnpl.pipeline.recipe import ImagesConfig

CFG = ImagesConfig()


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _decoded(jpeg: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(jpeg))
    assert img.format == "JPEG"
    return img


def test_real_rgb_jpeg_is_stored_unchanged(coco_mini):
    data = next((coco_mini / "images").iterdir()).read_bytes()
    loaded = load_image(data, CFG)
    assert loaded.jpeg == data
    assert loaded.pil.mode == "RGB"


def test_cmyk_jpeg_becomes_rgb():
    data = _encode(Image.new("CMYK", (32, 24), (0, 255, 255, 0)), "JPEG")
    loaded = load_image(data, CFG)
    img = _decoded(loaded.jpeg)
    assert img.mode == "RGB" and img.size == (32, 24)
    r, g, b = img.getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60  # cyan-free, magenta+yellow = red


def test_16bit_png_is_scaled_not_clipped():
    arr = np.full((20, 20), 32768, dtype=np.uint16)  # mid grey in 16 bits
    data = _encode(Image.fromarray(arr), "PNG")
    img = _decoded(load_image(data, CFG).jpeg)
    value = img.getpixel((3, 3))[0]
    assert 120 <= value <= 135


def test_palette_and_rgba_are_composited_on_white():
    rgba = Image.new("RGBA", (16, 16), (255, 0, 0, 0))  # fully transparent red
    img = _decoded(load_image(_encode(rgba, "PNG"), CFG).jpeg)
    assert min(img.getpixel((8, 8))) > 245
    palette = Image.new("P", (16, 16), 3)
    img = _decoded(load_image(_encode(palette, "PNG"), CFG).jpeg)
    assert img.mode == "RGB"


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"not an image at all", "unreadable_image"),
        (b"", "unreadable_image"),
    ],
)
def test_garbage_is_rejected(data, reason):
    with pytest.raises(ImageReject) as e:
        load_image(data, CFG)
    assert e.value.reason == reason


def test_truncated_jpeg_is_rejected(coco_mini):
    data = next((coco_mini / "images").iterdir()).read_bytes()
    with pytest.raises(ImageReject) as e:
        load_image(data[: len(data) // 3], CFG)
    assert e.value.reason == "unreadable_image"


def test_one_pixel_image_is_rejected_as_too_small():
    with pytest.raises(ImageReject) as e:
        load_image(_encode(Image.new("RGB", (1, 1)), "PNG"), CFG)
    assert e.value.reason == "too_small"


def test_decompression_bomb_is_rejected_before_decoding():
    # A 1-bit PNG of 20000x20000 is a few KB on disk and 400M pixels once decoded.
    bomb = _encode(Image.new("1", (20000, 20000)), "PNG", optimize=True)
    assert len(bomb) < 200_000
    with pytest.raises(ImageReject) as e:
        load_image(bomb, CFG)
    assert e.value.reason == "too_large"


def test_resize_keeps_aspect():
    cfg = ImagesConfig(resize_max_side=64)
    loaded = load_image(_encode(Image.new("RGB", (400, 200), "blue"), "PNG"), cfg)
    assert (loaded.width, loaded.height) == (64, 32)
    assert _decoded(loaded.jpeg).size == (64, 32)


def test_missing_file_is_a_reject(tmp_path):
    with pytest.raises(ImageReject) as e:
        read_bytes(str(tmp_path / "nope.jpg"))
    assert e.value.reason == "missing_image"
