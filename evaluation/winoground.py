"""Winoground (Thrush et al., CVPR 2022; facebook/winoground on the Hugging Face hub).

Files: `<data_root>/winoground/examples.jsonl` (`id`, `image_0`, `image_1`, `caption_0`,
`caption_1`, `tag`, `collapsed_tag`) with images `<image_k>.png` in an image folder (the
dataset's `images.zip` unpacked, e.g. `<data_root>/winoground/images`). Protocol (the paper's
scores): text score: each image prefers its own caption; image score: each caption prefers its own
image; group score: both. Strict inequalities (a tie is wrong). Reported for all items and per
`collapsed_tag` (Object, Relation, Both) as groups.
"""

from __future__ import annotations

import json
from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark, require_file

SOURCE = "https://huggingface.co/datasets/facebook/winoground (data/examples.jsonl, images.zip)"


@register_benchmark(
    "winoground",
    task="winoground",
    description="Winoground: two images, two captions; text, image and group scores",
    files=("examples.jsonl", "images/*.png"),
)
def load(data_root: Path) -> ItemList:
    """One item per example: two images, two captions (caption k belongs to image k).

    Raises:
        FileNotFoundError: `data_root/winoground/examples.jsonl` is missing.
        ValueError: a line is not JSON or lacks a field.
    """
    path = require_file(Path(data_root) / "winoground" / "examples.jsonl", "winoground", SOURCE)
    items = ItemList()
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            items.append(
                Item(
                    key=str(row["id"]),
                    split="all",
                    images=(ImageRef(f"{row['image_0']}.png"), ImageRef(f"{row['image_1']}.png")),
                    positives=(row["caption_0"], row["caption_1"]),
                    group=str(row.get("collapsed_tag", row.get("tag", ""))),
                )
            )
        except (KeyError, ValueError, TypeError) as err:
            raise ValueError(f"{path}: line {line_no}: {err}") from err
    return items
