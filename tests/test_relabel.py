"""bench/relabel.py: the independent readings replayed through the rules say which labelled
negatives the code still makes, so a rule change is checked against what raters read."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

import relabel  # noqa: E402

from ahnpl.pipeline.negatives import NegativeGenerator  # noqa: E402


def test_replay_tells_kept_changed_and_removed(tmp_path):
    gen = NegativeGenerator(types=("attribute",))
    caption = "A red car parked on a street."
    made = gen.generate_one(caption)[0].text
    rows = [
        {"type": "attribute", "caption": caption, "others": [], "negative": made, "good": True},
        {"type": "attribute", "caption": caption, "others": [], "negative": "x", "good": False},
        {"type": "attribute", "caption": "A.", "others": [], "negative": "B.", "good": False},
        {"type": "object", "caption": caption, "others": [], "negative": "y", "good": True},
    ]
    path = tmp_path / "labels.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    labels = relabel.read_labels(path, "attribute")
    assert len(labels) == 3  # the object label is another type's
    t = relabel.tally(relabel.replay(labels, gen))
    assert t == {("kept", "good"): 1, ("changed", "bad"): 1, ("removed", "bad"): 1}


def test_the_bundled_labels_are_well_formed():
    keys = {"seed", "type", "caption", "others", "negative", "good", "why"}
    with gzip.open(relabel.LABELS, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len(rows) > 1000 and all(set(r) == keys for r in rows)
    assert {r["type"] for r in rows} == {
        "relation",
        "object",
        "verb",
        "attribute",
        "attribute_swap",
    }
    assert all(r["why"] for r in rows if not r["good"])
