"""Decode, check and normalise input images before they are stored (DESIGN §10).

Every image becomes 8-bit RGB JPEG bytes or an `ImageReject` with a reason. Pixels are kept as
stored (no EXIF rotation) so that widths, heights and boxes of the source annotations stay
valid.
"""

from __future__ import annotations

import errno
import io
import re
import time
import unicodedata
import warnings
from dataclasses import dataclass

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem
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


# errno values of failures that may not happen on a second try (network filesystems, NFS,
# object stores behind FUSE, a disk controller hiccup).
TRANSIENT_ERRNOS = frozenset(
    {
        errno.EIO,
        errno.EAGAIN,
        errno.EBUSY,
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ECONNREFUSED,
        errno.EPIPE,
        errno.ENETDOWN,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        errno.ESTALE,
    }
)
RETRIES = 4  # tries after the first
BACKOFF_S = 0.05  # doubled after each try: 0.05 + 0.1 + 0.2 + 0.4 s at most per file


def is_transient(error: BaseException, local: bool) -> bool:
    """Whether reading again may succeed: timeouts, connection resets, EIO and friends, and
    a file not found on a remote store (listings there can lag behind writes)."""
    if isinstance(error, FileNotFoundError):
        return not local
    if isinstance(error, (TimeoutError, ConnectionError)):
        return True
    return isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS


def read_bytes(
    path: str, retries: int = RETRIES, backoff_s: float = BACKOFF_S, sleep=time.sleep
) -> bytes:
    """Read a file (local path or fsspec URL), retrying transient failures with backoff.

    A name that is missing under its own Unicode form is tried in NFC and NFD too (macOS
    stores names decomposed, caption files usually hold them composed).

    Raises:
        ImageReject: `missing_image` (no such file, after the retries on remote stores) or
            `read_error` (an IO error that persisted through the retries, or is permanent,
            such as permission denied). Details show the name with `repr`, so names that
            differ only in invisible ways can be told apart.
    """
    fs, fs_path = fsspec.core.url_to_fs(path)
    local = isinstance(fs, LocalFileSystem)
    for attempt in range(retries + 1):
        try:
            return _read_any_form(fs, fs_path)
        except IsADirectoryError:
            raise ImageReject("missing_image", f"{path!r}: is a directory") from None
        except OSError as e:  # TimeoutError and ConnectionError included
            if attempt < retries and is_transient(e, local):
                sleep(backoff_s * 2**attempt)
                continue
            tries = f" (after {attempt + 1} tries)" if attempt else ""
            if isinstance(e, FileNotFoundError):
                detail = _missing_detail(fs, fs_path, path) + tries
                raise ImageReject("missing_image", detail) from None
            raise ImageReject("read_error", f"{path!r}: {type(e).__name__}: {e}{tries}") from None
    raise AssertionError("unreachable")


def _read_any_form(fs, fs_path: str) -> bytes:
    forms = [fs_path]
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, fs_path)
        if other not in forms:
            forms.append(other)
    for n, candidate in enumerate(forms):
        try:
            with fs.open(candidate, "rb") as f:
                return f.read()
        except FileNotFoundError:
            if n == len(forms) - 1:
                raise
    raise AssertionError("unreachable")


def _missing_detail(fs, fs_path: str, path: str) -> str:
    folder = fs_path.rpartition("/")[0]
    if folder and not fs.exists(folder):
        return f"{path!r}: no such file; its folder {folder!r} does not exist (check --images)"
    return f"{path!r}: no such file"


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


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
        # PIL names the in-memory file by its address; dropped so rejects.parquet has the
        # same bytes on every run.
        message = _ADDRESS.sub("", str(e))
        raise ImageReject("unreadable_image", f"{type(e).__name__}: {message}") from None
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
