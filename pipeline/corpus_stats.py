"""Corpus statistics: the plausibility model of the text negative rules (DESIGN §4).

Counts, over parsed captions, which words go together in each role a rule edits:

| table  | key                                   | e.g.                         |
|--------|---------------------------------------|------------------------------|
| `rel`  | head, relation, object                | sit · on · bench             |
| `svo`  | subject, verb, object ("-" if none)   | man · ride · horse           |
| `amod` | adjective, noun                       | red · car                    |
| `gov`  | noun, governor: `v:`/`s:` verb of its object/subject, `p:` relation | horse · v:ride |
| `prt`  | verb, particle of a phrasal verb      | pick · up                    |
| `mod`  | modifier, noun, adjacent ("compound" candidates) | polar · bear      |
| `crel` | class of the thing located, relation, object | food · on · plate    |
| `co`   | a noun, a lexicon noun or verb of the same caption | lake · boat, pool · v:swim |

Nouns are keyed by their lexicon group's head word ("guy" counts as "man", "dogs" as "dog"),
verbs by their base form, relations by their lexicon group ("next to" counts as "near"), so
counts pool over synonyms and inflections. A modifier–noun pair is a compound that must stay
whole when it is seen at least `COMPOUND_MIN` times and the modifier almost always goes with
that noun (P(noun | modifier) ≥ `COMPOUND_SHARE`: "polar" → "bear", "hot" → "dog").

The file is JSON, with every table sorted, so the same captions give the same bytes;
`sha256` is of those bytes. `ahnpl-gen stats CAPTIONS… --out FILE` builds one; a build
computes one from its own input before any shard (`pipeline.build`). The bundled default
(`lexicons/coco_stats.json.gz`) comes from COCO captions (CC BY 4.0), see its `meta`.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ahnpl.atomic import write_bytes_atomic
from ahnpl.pipeline.caption_parse import Parse, match_phrase, shared_spacy
from ahnpl.pipeline.lexicon import Lexicon, load_lexicon
from ahnpl.shards.layout import STATS_NAME  # noqa: F401  (re-exported: the dataset file name)

FORMAT = "ahnpl-corpus-stats"
VERSION = 1
TABLES = ("rel", "svo", "amod", "gov", "prt", "mod", "crel", "co")
COMPOUND_MIN = 3
VETO_EXPECTED = 1.0
VETO_RATIO = 0.1
OBSERVED_MIN = 2  # "observed" means seen twice: once may be a parse error
SMOOTHING = 2.0
COMPOUND_SHARE = 0.5
BUNDLED = "coco_stats.json.gz"
_NOUN_TAGS = frozenset({"NN", "NNS", "NNP", "NNPS"})
_RELATIVE = frozenset({"that", "who", "which"})


def noun_key(p: Parse, i: int, lex: Lexicon) -> str:
    """The noun at token i as the statistics count it: its lexicon group's head, else the
    lowercase word (a plural "-s" dropped)."""
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return lex.group_heads[noun.group]
    low = p.lows[i]
    if p.tags[i] == "NNS" and low.endswith("s") and not low.endswith("ss"):
        return low[:-1]
    return low


def verb_key(p: Parse, i: int, lex: Lexicon) -> str:
    entries = lex.verbs.get(p.lows[i])
    return entries[0][0].forms[0] if entries else p.lows[i]


def relation_key(words: tuple[str, ...], lex: Lexicon) -> str:
    rel = lex.relations.get(words)
    return rel.group if rel is not None else " ".join(words)


def head_key(p: Parse, i: int, lex: Lexicon) -> str:
    return verb_key(p, i, lex) if p.tags[i].startswith("VB") else noun_key(p, i, lex)


def entity_class(p: Parse, i: int, lex: Lexicon) -> str | None:
    """The coarse class (lexicon supercategory; "person" for people words) of what token i
    names, or for a verb, of its subject: the thing a relation headed by i locates. Class
    counts generalise over nouns too rare for their own ("bread on a couch" is unseen, food
    on a couch is rare)."""
    if p.tags[i].startswith("VB"):
        subj = p.child(i, ("nsubj", "nsubjpass"))
        # "a woman that is sitting on a bench": the relative pronoun stands for the woman.
        if (subj is None or p.lows[subj] in _RELATIVE) and p.deps[i] in ("acl", "relcl"):
            subj = p.heads[i]
        if subj is None or subj == i:
            return None
        i = subj
    for n in range(min(lex.max_noun_len, i + 1), 0, -1):
        noun = lex.nouns.get(tuple(p.lows[i - n + 1 : i + 1]))
        if noun is not None:
            return noun.supercategory
    return "person" if p.lows[i] in lex.animate_extra else None


def relations_in(p: Parse, lex: Lexicon) -> Iterator[tuple[int, int, int]]:
    """(first, end, object) token spans of prepositional relations: a lexicon phrase ("in front
    of") or a lone preposition ("of"), with the noun it governs."""
    i, n = 0, len(p)
    while i < n:
        m = match_phrase(p.lows, i, lex.relations, lex.max_relation_len, lex.relation_starts)
        length = m[0] if m is not None else 1
        if m is None and p.deps[i] != "prep":
            i += 1
            continue
        obj = p.child(i + length - 1, ("pobj",))
        if obj is not None and p.tags[obj] in _NOUN_TAGS:
            yield i, i + length, obj
        i += length


def observe(p: Parse, lex: Lexicon) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every (table, key) a parsed caption contributes."""
    for s, e, obj in relations_in(p, lex):
        o = noun_key(p, obj, lex)
        r = relation_key(tuple(p.lows[s:e]), lex)
        yield "rel", (head_key(p, p.heads[s], lex), r, o)
        yield "gov", (o, "p:" + r)
        cls = entity_class(p, p.heads[s], lex)
        if cls is not None:
            yield "crel", (cls, r, o)
    for i, (tag, dep) in enumerate(zip(p.tags, p.deps)):
        if tag.startswith("VB") and dep not in ("aux", "auxpass", "amod"):
            v = verb_key(p, i, lex)
            subj = p.child(i, ("nsubj", "nsubjpass"))
            if subj is None and dep in ("acl", "relcl") and p.tags[p.heads[i]] in _NOUN_TAGS:
                subj = p.heads[i]
            obj = p.child(i, ("dobj",))
            s = noun_key(p, subj, lex) if subj is not None else "-"
            o = noun_key(p, obj, lex) if obj is not None else "-"
            yield "svo", (s, v, o)
            if subj is not None:
                yield "gov", (s, "s:" + v)
            if obj is not None:
                yield "gov", (o, "v:" + v)
            prt = p.child(i, ("prt",))
            if prt is not None:
                yield "prt", (v, p.lows[prt])
        elif tag in _NOUN_TAGS or tag in ("JJ", "VBN"):
            h = p.heads[i]
            if dep not in ("amod", "compound", "nmod"):
                continue
            if (
                h != i
                and p.tags[h] in _NOUN_TAGS
                and (dep == "amod" or p.lows[i] in lex.attributes)
            ):
                yield "amod", (p.lows[i], noun_key(p, h, lex))
            # Adjacent, whatever the parser attached it to ("a polar bear swimming" is often
            # parsed with "swimming" as the noun).
            if i + 1 < len(p) and p.tags[i + 1] in _NOUN_TAGS:
                yield "mod", (p.lows[i], p.lows[i + 1])
    yield from cooccurrences(p, lex)


def caption_nouns(p: Parse, lex: Lexicon, skip: range = range(0)) -> set[str]:
    """Keys of the common nouns of a caption (compound modifiers too: "baseball" in
    "baseball game"), tokens in `skip` aside."""
    return {
        noun_key(p, i, lex) for i, t in enumerate(p.tags) if t in ("NN", "NNS") and i not in skip
    }


def cooccurrences(p: Parse, lex: Lexicon) -> Iterator[tuple[str, tuple[str, str]]]:
    """("co", (noun, lexicon noun or "v:" lexicon verb)) for each pair of a noun and another
    noun or a verb of one caption: what a scene holds together ("lake" and "boat", not
    "lake" and "bus"; "pool" and "v:swim", not "sidewalk" and "v:swim"). Only lexicon words
    are candidates of the rules, so only they are counted on the right."""
    keys = sorted(caption_nouns(p, lex))
    candidates = [k for k in keys if k in lex.noun_heads]
    verbs = {
        "v:" + lex.verbs[low][0][0].forms[0]
        for low, tag in zip(p.lows, p.tags)
        if tag.startswith("VB") and low in lex.verbs
    }
    candidates += sorted(verbs)
    for a in keys:
        for b in candidates:
            if a != b:
                yield "co", (a, b)


@dataclass
class CorpusStats:
    """Counts per table, indexed for the rules' look-ups (see the module docstring).

    `index[name][context]` maps a candidate to its count in that context, e.g.
    `index["rel|ho"][("sit", "bench")]["on"]`; `totals` holds the context sums.
    """

    counts: dict[str, Counter]
    meta: dict
    sha256: str
    index: dict[str, dict[tuple, dict[str, int]]] = field(default_factory=dict)
    totals: dict[str, dict[tuple, int]] = field(default_factory=dict)
    marginals: dict[str, tuple[dict[str, int], int]] = field(default_factory=dict)
    compounds: frozenset[tuple[str, str]] = frozenset()
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # context table name → (key positions that form the context, position of the candidate)
        views = {
            "rel|ho": ("rel", (0, 2), 1),
            "rel|hr": ("rel", (0, 1), 2),
            "rel|ro": ("rel", (1, 2), 0),
            "rel|h": ("rel", (0,), 1),
            "rel|o": ("rel", (2,), 1),
            "rel|r": ("rel", (1,), 0),
            "svo|so": ("svo", (0, 2), 1),
            "svo|sv": ("svo", (0, 1), 2),
            "svo|vo": ("svo", (1, 2), 0),
            "svo|s": ("svo", (0,), 1),
            "svo|o": ("svo", (2,), 1),
            "amod|n": ("amod", (1,), 0),
            "amod|a": ("amod", (0,), 1),
            "gov|g": ("gov", (1,), 0),
            "prt|v": ("prt", (0,), 1),
            "crel|cr": ("crel", (0, 1), 2),
            "crel|co": ("crel", (0, 2), 1),
            "co|n": ("co", (0,), 1),
        }
        for name, (table, ctx, cand) in views.items():
            idx: dict[tuple, dict[str, int]] = {}
            for key, c in self.counts.get(table, {}).items():
                slot = idx.setdefault(tuple(key[k] for k in ctx), {})
                slot[key[cand]] = slot.get(key[cand], 0) + c
            self.index[name] = idx
            self.totals[name] = {k: sum(v.values()) for k, v in idx.items()}
            marg: Counter = Counter()
            for slot in idx.values():
                marg.update(slot)
            self.marginals[name] = (dict(marg), max(1, sum(marg.values())))
        by_mod: Counter = Counter()
        for (m, _), c in self.counts.get("mod", {}).items():
            by_mod[m] += c
        self.compounds = frozenset(
            key
            for key, c in self.counts.get("mod", {}).items()
            if c >= COMPOUND_MIN and c >= COMPOUND_SHARE * by_mod[key[0]]
        )

    def count(self, view: str, context: tuple, candidate: str) -> int:
        slot = self.index[view].get(context)
        return slot.get(candidate, 0) if slot else 0

    def total(self, view: str, context: tuple) -> int:
        return self.totals[view].get(context, 0)

    def score(
        self,
        features: list[tuple[str, tuple]],
        candidate: str,
        observed: bool = False,
        veto: float = VETO_EXPECTED,
        among: tuple[str, ...] | None = None,
        ratio: float = VETO_RATIO,
    ) -> float | None:
        """Plausibility of `candidate` in a context: the mean over `features` (view, context)
        of log P(candidate | context), smoothed towards the candidate's overall share
        (natural log, ≤ 0). With `among` (the words of its kind: the nouns of a supercategory,
        the colours) counts and shares are taken among those words only, so a context that
        mostly takes other kinds of words ("flying" takes birds and kites) still tells which
        vehicle flies.

        None when the corpus speaks against it: in some context its overall frequency
        predicts at least `veto` sightings, and it was seen less than `ratio` times that
        ("green" with "woman", a bicycle flying). A candidate no context saw but none rules
        out keeps a low score (its share alone), so observed ones win when they exist.
        With `observed`, every context must have seen the candidate `OBSERVED_MIN` times
        (object_swap: the corpus must show each noun in the other's role).
        """
        log_sum = 0.0
        for view, context in features:
            slot = self.index[view].get(context)
            c = slot.get(candidate, 0) if slot else 0
            marg, n = self.marginals[view]
            if among is None:
                tot = self.totals[view].get(context, 0)
            else:
                tot, n = self._restricted(view, context, among)
            share = (marg.get(candidate, 0) + 0.5) / n
            expected = tot * share
            # Unseen, or seen far less often than its frequency predicts there.
            if (observed and c < OBSERVED_MIN) or (expected >= veto and c < ratio * expected):
                return None
            log_sum += math.log((c + SMOOTHING * share) / (tot + SMOOTHING))
        return log_sum / len(features)

    def memo(self, key: tuple, compute):
        """`compute()`, cached under `key` for these statistics: a rule's derived counts are
        asked for again for every candidate of every caption. Bounded: keys are unbounded
        over a corpus."""
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 200_000:
                self._cache.clear()
            hit = self._cache[key] = compute()
        return hit

    def _restricted(self, view: str, context: tuple, among: tuple[str, ...]) -> tuple[int, float]:
        """(count of the context among `among`, their smoothed marginal total), cached."""

        def compute() -> tuple[int, float]:
            slot = self.index[view].get(context) or {}
            marg = self.marginals[view][0]
            return sum(slot.get(w, 0) for w in among), sum(marg.get(w, 0) + 0.5 for w in among)

        return self.memo((view, context, among), compute)

    def prior(self, view: str, candidate: str) -> float:
        """log share of `candidate` among a view's candidates: the score where no context
        applies ("a dog" alone), so frequent, ordinary words are preferred."""
        marg, n = self.marginals[view]
        return math.log((marg.get(candidate, 0) + 0.5) / n)

    def info(self) -> dict:
        """What the manifest records: sha256, captions counted, where they came from."""
        return {"sha256": self.sha256, **{k: self.meta[k] for k in sorted(self.meta)}}


def count_parses(parses: Iterable[Parse], lex: Lexicon | None = None) -> tuple[dict, int]:
    """Count the tables over parsed captions; returns (counts per table, captions)."""
    lex = lex or load_lexicon()
    counts = {t: Counter() for t in TABLES}
    n = 0
    for p in parses:
        n += 1
        for table, key in observe(p, lex):
            counts[table][key] += 1
    return counts, n


def encode(counts: dict, meta: dict) -> bytes:
    """Canonical JSON bytes: tables sorted by key, no whitespace, so equal counts give equal
    bytes (and sha256)."""
    tables = {t: [[*k, c] for k, c in sorted(counts[t].items())] for t in TABLES}
    doc = {"format": FORMAT, "version": VERSION, "meta": meta, "tables": tables}
    return (
        json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    ).encode()


def decode(data: bytes, origin: str) -> CorpusStats:
    """Parse statistics bytes (JSON, optionally gzipped).

    Raises:
        ValueError: not an ahnpl statistics file, or a malformed table (names `origin`).
    """
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        raise ValueError(f"statistics {origin}: not JSON ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"statistics {origin}: not an {FORMAT} file (make one: ahnpl-gen stats)")
    if doc.get("version") != VERSION:
        raise ValueError(f"statistics {origin}: version {doc.get('version')}, expected {VERSION}")
    counts = {}
    for t in TABLES:
        rows = doc["tables"].get(t, [])
        try:
            counts[t] = Counter({tuple(r[:-1]): int(r[-1]) for r in rows})
        except (TypeError, ValueError, IndexError) as e:
            raise ValueError(f"statistics {origin}: table {t!r} has a malformed row") from e
    return CorpusStats(counts, dict(doc.get("meta", {})), hashlib.sha256(data).hexdigest())


def from_counts(counts: dict, meta: dict) -> tuple[CorpusStats, bytes]:
    data = encode(counts, meta)
    return decode(data, "<memory>"), data


def load_stats(path: str | Path) -> CorpusStats:
    """Load a statistics file written by `ahnpl-gen stats` (or the bundled one).

    Raises:
        FileNotFoundError: no such file. ValueError: not a statistics file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"statistics {path}: no such file (make one: ahnpl-gen stats)")
    return decode(path.read_bytes(), str(path))


@lru_cache(maxsize=1)
def bundled_stats() -> CorpusStats:
    """The packaged default: COCO 2017 val captions of even image ids (see its `meta`)."""
    data = (resources.files("ahnpl.pipeline.lexicons") / BUNDLED).read_bytes()
    return decode(data, BUNDLED)


def merge(a: dict, b: dict) -> dict:
    return {t: a.get(t, Counter()) + b.get(t, Counter()) for t in TABLES}


def compute_stats(
    captions: Iterable[str],
    spacy_model: str | None = None,
    batch_size: int = 256,
    lexicon_paths: tuple[str, ...] = (),
    meta: dict | None = None,
) -> tuple[CorpusStats, bytes]:
    """Parse captions (as the generator does) and count them; returns (stats, file bytes).

    `meta` is stored in the file (where the captions came from, their licence); the number
    of captions and the spaCy model are added.
    """
    counts, n, model = count_captions(captions, spacy_model, batch_size, lexicon_paths)
    return from_counts(counts, {**(meta or {}), "captions": n, "spacy_model": model})


def count_captions(
    captions: Iterable[str],
    spacy_model: str | None = None,
    batch_size: int = 256,
    lexicon_paths: tuple[str, ...] = (),
) -> tuple[dict, int, str]:
    """Parse and count captions; returns (counts per table, captions counted, spaCy model).

    Counts of parts of a corpus `merge` into the counts of the whole (the build counts its
    shards in its worker processes)."""
    nlp = shared_spacy(spacy_model)
    lex = load_lexicon(lexicon_paths)

    def parses() -> Iterator[Parse]:
        with nlp.memory_zone():
            for doc in nlp.pipe((c.strip() for c in captions if c.strip()), batch_size=batch_size):
                yield Parse.from_doc(doc)

    counts, n = count_parses(parses(), lex)
    model = f"{nlp.meta.get('lang')}_{nlp.meta.get('name')}-{nlp.meta.get('version')}"
    return counts, n, model


def read_caption_files(paths: Iterable[str | Path]) -> Iterator[str]:
    """Captions from COCO caption JSON files (`annotations[].caption`) or text files with one
    caption a line.

    Raises:
        FileNotFoundError: a file is missing. ValueError: a JSON file is not COCO captions.
    """
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"captions {path}: no such file")
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
                raise ValueError(f"captions {path}: no 'annotations' list (COCO caption JSON)")
            yield from (str(a.get("caption", "")) for a in data["annotations"])
        else:
            yield from path.read_text(encoding="utf-8").splitlines()


def write_stats(path: str | Path, data: bytes) -> None:
    """Write statistics bytes to `path` (local path or fsspec URL) atomically, gzipped when it
    ends in `.gz` (mtime 0, so the same statistics give the same file)."""
    if str(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    write_bytes_atomic(str(path), data)


STATS_MODES = ("input", "input+bundled", "bundled")


def stats_for_build(
    mode: str,
    captions: Iterable[str],
    out: str,
    spacy_model=None,
    lexicons=(),
    input_key="",
    count: Callable[[], tuple[dict, int, str]] | None = None,
) -> tuple[str | None, float]:
    """The build's statistics step (DESIGN §4), run once before any shard.

    `mode` is "input" (count the build's own captions), "input+bundled" (those plus the bundled
    COCO counts), "bundled", or the path of a statistics file (`negatives.stats_file`).
    Counted statistics are written to `out/corpus_stats.json.gz`, with `input_key` (what the
    captions were: input fingerprint, item count, mode, model, lexicons) in their meta. The
    file is kept when it records the same key (a resumed build, or another rank, made the
    same bytes from the same input) and counted again otherwise (`--limit` changed, say).
    `count()`, when given, counts in place of parsing `captions` here (as `count_captions`
    does; the build counts its shards on its workers).
    Returns (path of the statistics the shards use, None for the bundled ones; seconds spent
    counting).
    """
    import time

    import fsspec

    if mode == "bundled":
        return None, 0.0
    if mode not in STATS_MODES:
        load_stats(mode)  # fails early with the file's name
        return mode, 0.0
    url = f"{out.rstrip('/')}/{STATS_NAME}"
    fs, path = fsspec.core.url_to_fs(url)
    if fs.exists(path):
        with fs.open(path, "rb") as f:
            if decode(f.read(), url).meta.get("input_key") == input_key:
                return url, 0.0
    started = time.perf_counter()
    if count is None:
        counts, n, model = count_captions(captions, spacy_model, lexicon_paths=tuple(lexicons))
    else:
        counts, n, model = count()
    meta = {"source": "build input", "mode": mode, "input_key": input_key}
    own, data = from_counts(counts, {**meta, "captions": n, "spacy_model": model})
    if mode == "input+bundled":
        meta = {**own.meta, "bundled_sha256": bundled_stats().sha256}
        own, data = from_counts(merge(own.counts, bundled_stats().counts), meta)
    write_stats(url, data)
    return url, time.perf_counter() - started


def open_stats(source: str | None) -> CorpusStats:
    """Statistics from a local path or fsspec URL; None = the bundled default."""
    if source is None:
        return bundled_stats()
    if "://" not in source:
        return load_stats(source)
    import fsspec

    with fsspec.open(source, "rb") as f:
        return decode(f.read(), source)
