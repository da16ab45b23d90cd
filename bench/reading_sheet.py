"""A reading sheet: a seeded random sample of hard negatives per type, with the other captions
of each image, for judging them by hand (issue 11's rubric; docs/negatives.md, "Reading").

The rubric: a good hard negative is fluent, really changes the meaning, has the right type, and
describes a plausible, minimal scene that is false for the image. Without the image, the other
captions of the same image (COCO has five) stand in for it.

    python bench/blind_lm.py --train /tmp/split/lm.json --score /tmp/split/held.json \
        --limit 5000 --dump /tmp/negs.jsonl
    python bench/reading_sheet.py /tmp/negs.jsonl --captions /tmp/split/held.json \
        --types relation,object --n 100 --seed 31 --out /tmp/sheet.md

The sample is `random.Random(seed).sample` of a type's rows in dump order, so the same dump,
seed and n give the same sheet. Each row gets a numbered line and a blank verdict to fill in.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import defaultdict
from pathlib import Path


def sample_rows(rows: list[dict], types: list[str], n: int, seed: int) -> dict[str, list[dict]]:
    """Per type, `n` rows (or all, if fewer) drawn by `random.Random(seed)`, in sample order."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_type[row["type"]].append(row)
    return {t: random.Random(seed).sample(by_type[t], min(n, len(by_type[t]))) for t in types}


def siblings_of(coco: dict) -> dict[str, list[str]]:
    """Caption (stripped) → the other captions of its image, from a COCO caption file."""
    by_image: dict[int, list[str]] = defaultdict(list)
    for a in coco["annotations"]:
        by_image[a["image_id"]].append(a["caption"].strip())
    out: dict[str, list[str]] = {}
    for captions in by_image.values():
        for c in captions:
            out[c] = [o for o in captions if o != c]
    return out


def sheet(samples: dict[str, list[dict]], siblings: dict[str, list[str]], seed: int) -> str:
    """The Markdown sheet: per type, each negative with its caption and the image's others."""
    lines = [f"# Reading sheet (seed {seed})", ""]
    for t, rows in samples.items():
        lines += [f"## {t} ({len(rows)})", ""]
        for i, row in enumerate(rows, 1):
            lines.append(f"{i}. **{row['negative'].strip()}**")
            lines.append(f"   - true: {row['caption'].strip()}")
            for other in siblings.get(row["caption"].strip(), []):
                lines.append(f"   - other: {other}")
            lines.append("   - verdict: ")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dump", help="JSON lines from `bench/blind_lm.py --dump`")
    ap.add_argument("--captions", required=True, help="the COCO caption JSON that was scored")
    ap.add_argument("--types", default="relation,attribute_swap,attribute,object,verb")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.dump).read_text().splitlines() if line]
    samples = sample_rows(rows, args.types.split(","), args.n, args.seed)
    coco = json.loads(Path(args.captions).read_text())
    Path(args.out).write_text(sheet(samples, siblings_of(coco), args.seed) + "\n")
    print(f"{args.out}: " + ", ".join(f"{t} {len(r)}" for t, r in samples.items()))


if __name__ == "__main__":
    main()
