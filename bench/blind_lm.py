"""Blind check of text hard negatives: can a caption LM that never sees the image spot them?

A trigram language model (interpolated Kneser-Ney, discount 0.75) is trained on the captions
of one set of images; the negatives of other images' captions are scored against their true
caption. For each type it prints the share of pairs where the LM prefers the true caption
(a tie counts ½; 0.5 = it cannot tell them apart), next to the same LM on SugarCrepe's
human-validated negatives (the anchor; Hsieh et al., 2023). A negative the LM spots teaches a
text encoder to find odd sentences instead of looking at the image.

This is a development tool (issue 11). The split keeps three disjoint sets of images
(`bench/coco_split.py`): the statistics and all tuning use even image ids, the LM trains on
ids ≡ 1 mod 4, the scored captions are ids ≡ 3 mod 4, unseen by both.

    python bench/coco_split.py ../shared/data/captions/captions_val2017.json --out /tmp/split
    python bench/blind_lm.py --train /tmp/split/lm.json --score /tmp/split/held.json \\
        --sugarcrepe ../shared/data/benchmarks/sugarcrepe --limit 5000 --dump /tmp/negs.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

from ahnpl.pipeline.negatives import NegativeGenerator

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")
# Our type → the SugarCrepe split it is compared with (verb has none; replace_rel is closest).
ANCHOR = {
    "relation": "replace_rel",
    "attribute": "replace_att",
    "object": "replace_obj",
    "attribute_swap": "swap_att",
    "verb": "replace_rel",
    "object_swap": "swap_obj",
    "existence": "add_obj",
}


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().strip())


class KneserNeyTrigram:
    """Interpolated Kneser-Ney trigram LM over lowercase word tokens (Chen & Goodman 1998)."""

    def __init__(self, sentences, discount: float = 0.75):
        self.d = discount
        self.tri: Counter = Counter()
        for s in sentences:
            w = ["<s>", "<s>", *tokens(s), "</s>"]
            self.tri.update(zip(w, w[1:], w[2:]))
        self.ctx2: Counter = Counter()  # c(u v ·)
        self.types2: Counter = Counter()  # N1+(u v ·)
        self.cont2: Counter = Counter()  # N1+(· v w)
        for (u, v, w), c in self.tri.items():
            self.ctx2[(u, v)] += c
            self.types2[(u, v)] += 1
            self.cont2[(v, w)] += 1
        self.mid: Counter = Counter()  # N1+(· v ·)
        self.types1: Counter = Counter()  # N1+(v ·) over continuation counts
        self.cont1: Counter = Counter()  # N1+(· w)
        for (v, w), c in self.cont2.items():
            self.mid[v] += c
            self.types1[v] += 1
            self.cont1[w] += 1
        self.n_cont = sum(self.cont1.values())
        self.vocab = len(self.cont1) + 1

    def _p1(self, w: str) -> float:
        return (self.cont1.get(w, 0) + 0.5) / (self.n_cont + 0.5 * self.vocab)

    def _p2(self, v: str, w: str) -> float:
        n = self.mid.get(v, 0)
        if not n:
            return self._p1(w)
        high = max(self.cont2.get((v, w), 0) - self.d, 0) / n
        return high + self.d * self.types1[v] / n * self._p1(w)

    def _p3(self, u: str, v: str, w: str) -> float:
        n = self.ctx2.get((u, v), 0)
        if not n:
            return self._p2(v, w)
        high = max(self.tri.get((u, v, w), 0) - self.d, 0) / n
        return high + self.d * self.types2[(u, v)] / n * self._p2(v, w)

    def logprob(self, text: str) -> float:
        w = ["<s>", "<s>", *tokens(text), "</s>"]
        return sum(math.log(self._p3(u, v, x)) for u, v, x in zip(w, w[1:], w[2:]))

    def prefers_true(self, true: str, negative: str) -> float:
        a, b = self.logprob(true), self.logprob(negative)
        return 1.0 if a > b else 0.5 if a == b else 0.0


def coco_groups(path: Path) -> list[list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    by_image: dict = defaultdict(list)
    for a in data["annotations"]:
        if a["caption"].strip():
            by_image[a["image_id"]].append(a["caption"].strip())
    return [by_image[k] for k in sorted(by_image)]


def sugarcrepe(folder: Path, lm: KneserNeyTrigram) -> dict[str, tuple[float, int]]:
    out = {}
    for f in sorted(folder.glob("*.json")):
        items = json.loads(f.read_text(encoding="utf-8")).values()
        prefs = [lm.prefers_true(i["caption"], i["negative_caption"]) for i in items]
        out[f.stem] = (sum(prefs) / len(prefs), len(prefs))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--train", type=Path, required=True, help="COCO caption JSON the LM learns")
    ap.add_argument("--score", type=Path, required=True, help="COCO caption JSON to negate")
    ap.add_argument("--sugarcrepe", type=Path, help="folder of SugarCrepe split JSON files")
    ap.add_argument("--limit", type=int, default=5000, help="captions scored (whole images)")
    ap.add_argument("--types", default="relation,attribute_swap,attribute,object,verb")
    ap.add_argument("--stats", default=None, help="statistics file (default: bundled)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dump", type=Path, help="write every scored pair here (JSON lines)")
    args = ap.parse_args()

    lm = KneserNeyTrigram(c for g in coco_groups(args.train) for c in g)
    groups, n = [], 0
    for g in coco_groups(args.score):
        if n >= args.limit:
            break
        groups.append(g)
        n += len(g)
    gen = NegativeGenerator(types=args.types.split(","), seed=args.seed, stats=args.stats)
    t0 = time.perf_counter()
    rows = [
        (c, negs) for g, out in zip(groups, gen.generate_groups(groups)) for c, negs in zip(g, out)
    ]
    seconds = time.perf_counter() - t0
    prefs: dict[str, list[float]] = {t: [] for t in gen.types}
    dump = []
    for caption, negs in rows:
        for t, neg in zip(gen.types, negs):
            if neg is not None:
                pref = lm.prefers_true(caption, neg.text)
                prefs[t].append(pref)
                row = {"type": t, "caption": caption, "negative": neg.text}
                dump.append({**row, "score": neg.score, "lm_prefers_true": pref})
    anchor = sugarcrepe(args.sugarcrepe, lm) if args.sugarcrepe else {}
    print(f"LM: {args.train} ({len(lm.tri)} trigrams); scored: {n} captions of {args.score}")
    print(f"negatives in {seconds:.1f}s; statistics {gen.stats.sha256[:16]}…")
    print("\n| type | coverage | LM prefers true (ahnpl) | SugarCrepe split, same LM |")
    print("|---|---|---|---|")
    for t in gen.types:
        p = prefs[t]
        a = anchor.get(ANCHOR.get(t, ""))
        ref = f"{a[0]:.2f} ({ANCHOR[t]}, n={a[1]})" if a else "–"
        share = f"{sum(p) / len(p):.3f}" if p else "–"
        print(f"| {t} | {len(p) / n:.3f} | {share} (n={len(p)}) | {ref} |")
    if anchor:
        print(
            "\nSugarCrepe, all splits: " + ", ".join(f"{k} {v[0]:.2f}" for k, v in anchor.items())
        )
    if args.dump:
        random.Random(0).shuffle(dump)
        args.dump.write_text("".join(json.dumps(d) + "\n" for d in dump), encoding="utf-8")


if __name__ == "__main__":
    main()
