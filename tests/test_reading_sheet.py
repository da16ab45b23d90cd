"""The reading sheet (bench/reading_sheet.py): a reproducible sample with each image's other
captions, so two readers judge the same negatives against the same evidence."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import reading_sheet as rs  # noqa: E402

COCO = {
    "annotations": [
        {"image_id": 1, "caption": "A cat on a bed. "},
        {"image_id": 1, "caption": "A cat sleeping on a quilt."},
        {"image_id": 2, "caption": "A dog in a park."},
        {"image_id": 2, "caption": "A dog running on grass."},
    ]
}


def _rows(n: int) -> list[dict]:
    return [
        {"type": "relation" if i % 2 else "object", "caption": f"c{i}", "negative": f"n{i}"}
        for i in range(n)
    ]


def test_same_seed_same_sample_and_types_kept_apart():
    rows = _rows(40)
    a = rs.sample_rows(rows, ["relation", "object"], 5, seed=3)
    assert a == rs.sample_rows(rows, ["relation", "object"], 5, seed=3)
    assert a != rs.sample_rows(rows, ["relation", "object"], 5, seed=4)
    assert all(r["type"] == "relation" for r in a["relation"]) and len(a["object"]) == 5
    assert len(rs.sample_rows(rows, ["relation"], 100, seed=3)["relation"]) == 20


def test_sheet_shows_only_the_same_images_other_captions():
    row = {"type": "relation", "caption": "A cat on a bed.", "negative": "A cat under a bed."}
    text = rs.sheet({"relation": [row]}, rs.siblings_of(COCO), seed=0)
    assert "**A cat under a bed.**" in text
    assert "other: A cat sleeping on a quilt." in text
    assert "other: A cat on a bed." not in text and "dog" not in text
