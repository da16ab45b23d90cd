"""Replay independent readings through the current rules (issue 11; docs/negatives.md).

`bench/readings/independent_labels.jsonl.gz` holds every negative an independent rater read
(raters who saw neither the code nor the docs; `bench/reading_sheet.py` sheets of held COCO
captions, the image's other captions standing in for the image, "when in doubt, bad"). One JSON
object per line: `seed` (of the sheet), `type`, `caption` (true), `others` (the image's other
captions), `negative` (what the rater read), `good` (bool) and `why` (failed point and reason
when bad). COCO captions: COCO consortium, CC BY 4.0.

For each label of a type, the rules are run on (caption, others) and their negative is compared
with the one the rater read: `kept` (the same), `changed` (another one, unread) or `removed`
(none). A change to a rule should remove labelled-bad negatives and keep labelled-good ones; the
labels are then "seen", so a fresh sheet (a new seed) is the measure, not this replay.

    python bench/relabel.py relation                 # kept / changed / removed by verdict
    python bench/relabel.py relation --show kept-bad # the bad negatives still made, with why
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
from pathlib import Path

from ahnpl.pipeline.negatives import NegativeGenerator

LABELS = Path(__file__).parent / "readings" / "independent_labels.jsonl.gz"
STATES = ("kept", "changed", "removed")


def read_labels(path: Path, type_: str) -> list[dict]:
    """The labels of one negative type from a JSON-lines file (gzip if it ends in .gz)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [r for r in map(json.loads, f) if r["type"] == type_]


def replay(rows: list[dict], gen: NegativeGenerator) -> list[tuple[dict, str, str | None]]:
    """(label, state, the negative the rules make now or None) for each label, in order."""
    out = []
    groups = [[r["caption"], *r["others"]] for r in rows]
    for r, negs in zip(rows, gen.generate_groups(groups)):
        neg = negs[0][0]
        now = neg.text if neg is not None else None
        state = "kept" if now == r["negative"] else ("removed" if now is None else "changed")
        out.append((r, state, now))
    return out


def tally(replayed) -> collections.Counter:
    """Counter of (state, "good" | "bad")."""
    return collections.Counter((s, "good" if r["good"] else "bad") for r, s, _ in replayed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("type")
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--show", default="", help="STATE-VERDICT to list, e.g. kept-bad, removed-good")
    a = ap.parse_args()
    rows = read_labels(a.labels, a.type)
    replayed = replay(rows, NegativeGenerator(types=(a.type,)))
    for r, state, now in replayed:
        if a.show == f"{state}-{'good' if r['good'] else 'bad'}":
            print(f"{r['negative']}\n   true: {r['caption']}\n   now:  {now}\n   why:  {r['why']}")
    t = tally(replayed)
    for state in STATES:
        print(f"{state:8s} good {t[(state, 'good')]:4d}  bad {t[(state, 'bad')]:4d}")
    kept = t[("kept", "good")] + t[("kept", "bad")]
    print(f"labels: {len(rows)}; good among the kept: {t[('kept', 'good')] / max(1, kept):.2f}")


if __name__ == "__main__":
    main()
