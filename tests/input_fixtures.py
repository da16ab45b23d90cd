"""Inputs in the layouts users already have, made from the bundled COCO photos.

`write_img2dataset_parquet` and `write_img2dataset_tars` follow img2dataset's writers
(rom1504/img2dataset `writer.py` / `downloader.py`): the input columns (`url`, `caption`),
then `key`, `status`, `error_message`, `width`, `height`, `original_width`,
`original_height`, and the bytes in a column named after the encode format (`jpg`); failed
downloads keep their row with `jpg` null. Tars hold `key.jpg`, `key.txt`, `key.json` (the
metadata, indented as img2dataset writes it) for successful samples only.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

IMG2DATASET_SCHEMA = pa.schema(
    [
        ("url", pa.string()),
        ("caption", pa.string()),
        ("key", pa.string()),
        ("status", pa.string()),
        ("error_message", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("original_width", pa.int32()),
        ("original_height", pa.int32()),
        ("jpg", pa.binary()),
    ]
)


def coco_pairs(coco_mini: Path, n: int) -> list[dict]:
    """The first `n` coco-mini images as {file, url, caption, captions, width, height}."""
    data = json.loads((coco_mini / "captions.json").read_text())
    caps: dict[int, list[str]] = {}
    for a in data["annotations"]:
        caps.setdefault(a["image_id"], []).append(a["caption"])
    return [
        {
            "file": coco_mini / "images" / im["file_name"],
            "url": im.get("flickr_url", f"http://example.com/{im['file_name']}"),
            "caption": caps[im["id"]][0],
            "captions": caps[im["id"]],
            "width": im["width"],
            "height": im["height"],
        }
        for im in data["images"][:n]
    ]


def img2dataset_rows(pairs: list[dict], failed: set[int] = frozenset()) -> list[dict]:
    rows = []
    for i, p in enumerate(pairs):
        ok = i not in failed
        rows.append(
            {
                "url": p["url"],
                "caption": p["caption"],
                "key": f"{i:09d}",
                "status": "success" if ok else "failed_to_download",
                "error_message": None if ok else "HTTP Error 404: Not Found",
                "width": p["width"] if ok else None,
                "height": p["height"] if ok else None,
                "original_width": p["width"] if ok else None,
                "original_height": p["height"] if ok else None,
                "jpg": p["file"].read_bytes() if ok else None,
            }
        )
    return rows


def write_img2dataset_parquet(
    folder: Path, pairs: list[dict], failed=frozenset(), per_file=10, row_group=4
) -> Path:
    """`folder/00000.parquet`, ... with `row_group`-row groups; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = img2dataset_rows(pairs, failed)
    for f, start in enumerate(range(0, len(rows), per_file)):
        table = pa.Table.from_pylist(rows[start : start + per_file], schema=IMG2DATASET_SCHEMA)
        pq.write_table(table, folder / f"{f:05d}.parquet", row_group_size=row_group)
    return folder


def write_img2dataset_tars(folder: Path, pairs: list[dict], per_tar=10, png: set[int] = ()):
    """`folder/00000.tar`, ... plus the metadata-only `00000.parquet` img2dataset writes."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = img2dataset_rows(pairs)
    for t, start in enumerate(range(0, len(rows), per_tar)):
        with tarfile.open(folder / f"{t:05d}.tar", "w") as tar:
            for i, row in enumerate(rows[start : start + per_tar], start=start):
                meta = {k: v for k, v in row.items() if k != "jpg"}
                ext = "png" if i in png else "jpg"
                image = row["jpg"] if ext == "jpg" else _as_png(row["jpg"])
                members = {ext: image, "txt": row["caption"].encode(), "json": _indent(meta)}
                for suffix, data in members.items():
                    info = tarfile.TarInfo(f"{row['key']}.{suffix}")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        side = [{k: v for k, v in r.items() if k != "jpg"} for r in rows[start : start + per_tar]]
        pq.write_table(pa.Table.from_pylist(side), folder / f"{t:05d}.parquet")
    return folder


def _indent(meta: dict) -> bytes:
    return json.dumps(meta, indent=4).encode()


def _as_png(jpeg: bytes) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buf, "PNG")
    return buf.getvalue()
