"""Split a COCO caption file by image id, so statistics, the blind LM and the scored captions
never share an image (issue 11's honest held-out check).

    python bench/coco_split.py ../shared/data/captions/captions_val2017.json --out /tmp/split

writes `stats.json` (even image ids: the bundled statistics and all tuning), `lm.json`
(image id ≡ 1 mod 4: the blind LM's training half) and `held.json` (≡ 3 mod 4: the captions
scored by `bench/blind_lm.py`, seen by neither).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PARTS = {"stats": lambda i: i % 2 == 0, "lm": lambda i: i % 4 == 1, "held": lambda i: i % 4 == 3}


def split(data: dict) -> dict[str, dict]:
    out = {}
    for name, keep in PARTS.items():
        ids = {im["id"] for im in data["images"] if keep(im["id"])}
        out[name] = {
            "info": data.get("info", {}),
            "licenses": data.get("licenses", []),
            "images": [im for im in data["images"] if im["id"] in ids],
            "annotations": [a for a in data["annotations"] if a["image_id"] in ids],
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("captions", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in split(json.loads(args.captions.read_text(encoding="utf-8"))).items():
        (args.out / f"{name}.json").write_text(json.dumps(part), encoding="utf-8")
        print(f"{name}: {len(part['images'])} images, {len(part['annotations'])} captions")


if __name__ == "__main__":
    main()
