"""Text hard negatives: captions → one negative per type, in slot order (DESIGN §4).

    gen = NegativeGenerator(types=("relation", "attribute", "object"), seed=0)
    for caption, negs in zip(captions, gen.generate(captions)):
        ...  # negs[k] is a Negative or None (slot k invalid: the caption lacks that type)
    for image_captions, rows in zip(images, gen.generate_groups(images)):
        ...  # the captions of one image are each other's siblings: a replacement another
             # caption of the image states (same role) is not false for it, so it is not used

Replacements are chosen by the corpus statistics (`ahnpl.pipeline.corpus_stats`; the bundled
COCO default unless given), each negative carries its plausibility `score`.

Captions are parsed as written with spaCy (`nlp.pipe` in batches, NER and lemmatizer not
loaded; the rules need tags and dependencies only) inside `nlp.memory_zone()`, so memory stays
bounded over millions of captions. With `n_process > 1` chunks of captions go to worker
processes that each parse and apply the rules; an exception in a worker is raised in the
caller, and a worker that dies raises `BrokenProcessPool` instead of hanging.

Output is a function of (caption, sibling captions, seed, types, statistics, lexicons) only:
each replacement is drawn from a RNG seeded with `ahnpl.seeding.derive_seed(seed, type,
caption)`, never from batch position or worker.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from ahnpl.pipeline.caption_parse import (
    UNUSED_COMPONENTS,
    Choices,
    Parse,
    apply_edits,
    load_spacy,
    shared_spacy,
)
from ahnpl.pipeline.corpus_stats import CorpusStats, entity_class, noun_key, observe, open_stats
from ahnpl.pipeline.lexicon import Lexicon, load_lexicon
from ahnpl.pipeline.negation import negation_scope, touches
from ahnpl.pipeline.rules import RULES, Roles, RuleContext
from ahnpl.seeding import SEPARATOR
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, slot_order

# The spaCy loading of the rules lives with the parse (corpus_stats needs it too); it is part
# of this module's interface.
__all__ = ["UNUSED_COMPONENTS", "Negative", "NegativeGenerator", "load_spacy", "resolve_stats"]


@dataclass(frozen=True)
class Negative:
    """One text hard negative.

    `text == caption[:start] + replacement + caption[end:]`; `original == caption[start:end]`
    is the changed region (for swaps it runs from the first to the last changed word).
    `start`/`end` are character offsets into the caption.
    """

    type: str
    text: str
    original: str
    replacement: str
    start: int
    end: int
    score: float = 0.0  # plausibility (CorpusStats.score): mean log-probability in context


def _rng(caption: str, type_: str, seed: int) -> Choices:
    """The RNG of one (caption, type, seed): `derive_seed(seed, type, caption)`."""
    # derive_seed refuses its separator inside a part; a caption may hold any character.
    return Choices(seed, type_, caption.replace(SEPARATOR, " "))


def roles_of(p: Parse, lex: Lexicon) -> Roles:
    """What one caption says, by role (the sibling exclusion of the rules)."""
    roles = Roles()
    for i, tag in enumerate(p.tags):
        if tag in ("NN", "NNS"):
            roles.nouns.add(noun_key(p, i, lex))
        if tag == "NNS":
            roles.several.add(noun_key(p, i, lex))
        count = lex.numbers.get(p.lows[i]) or (int(p.lows[i]) if p.lows[i].isdecimal() else 0)
        if count and p.deps[i] == "nummod" and p.tags[p.heads[i]] in ("NN", "NNS"):
            h = p.heads[i]
            roles.counts.add((count, noun_key(p, h, lex)))
            if entity_class(p, h, lex) == "person":
                roles.counts.add((count, "person"))
    for table, key in observe(p, lex):
        if table == "amod":
            roles.amod.add(key)
        elif table == "svo":
            roles.verbs.add(key[1])
        elif table == "rel":
            roles.rel.add((key[1], key[2]))
    roles.amod |= _described(p, lex)
    return roles


def _described(p: Parse, lex: Lexicon) -> set[tuple[str, str]]:
    """(attribute, noun) pairs the statistics do not count: the second of joined words ("a
    grey and white cat") and a predicate ("the cat is grey"); each is as true as "a grey cat"."""
    out = set()
    for i, low in enumerate(p.lows):
        if low not in lex.attributes:
            continue
        h, dep = p.heads[i], p.deps[i]
        while dep == "conj" and p.heads[h] != h:  # "grey, white and black": as the first goes
            h, dep = p.heads[h], p.deps[h]
        if dep in ("acomp", "attr"):
            h = next((k for k in p.children(h) if p.deps[k] == "nsubj"), h)
        elif dep != "amod":
            continue
        if h != i and p.tags[h] in ("NN", "NNS"):
            out.add((low, noun_key(p, h, lex)))
    return out


def _siblings(roles: list[Roles], c: int) -> Roles:
    out = Roles()
    for k, r in enumerate(roles):
        if k != c:
            out.nouns |= r.nouns
            out.amod |= r.amod
            out.verbs |= r.verbs
            out.rel |= r.rel
            out.several |= r.several
            out.counts |= r.counts
    return out


def resolve_stats(stats: CorpusStats | str | None) -> CorpusStats:
    """A CorpusStats, a statistics file path or URL, or None (the bundled COCO default)."""
    return stats if isinstance(stats, CorpusStats) else open_stats(stats)


class NegativeGenerator:
    """Caption → list of `Negative | None`, one per type in slot order (DESIGN §4).

    Args:
        types: negative types (any order; stored in `ahnpl.shards.schema.slot_order`).
        spacy_model: spaCy package name or path; None = `load_spacy`'s default.
        seed: replacement seed.
        n_process: parsing processes (1 = in this process).
        batch_size: captions per `nlp.pipe` batch.
        stats: the plausibility model: `CorpusStats`, a statistics file, or None (bundled).
        lexicons: user lexicon files extending the packaged ones (`ahnpl.pipeline.lexicon`).

    Raises:
        ValueError: unknown type, `n_process < 1` or `batch_size < 1`; a bad statistics file.
        LexiconError: a bad user lexicon (names the file and the entry).
        RuntimeError: the spaCy model is missing (see `load_spacy`).
    """

    def __init__(
        self,
        types=CORE_NEGATIVE_TYPES,
        spacy_model: str | None = None,
        seed: int = 0,
        n_process: int = 1,
        batch_size: int = 256,
        stats: CorpusStats | str | None = None,
        lexicons: tuple[str, ...] = (),
    ):
        if isinstance(types, str):
            types = (types,)
        self.types: tuple[str, ...] = slot_order(list(types))
        if not self.types:
            raise ValueError("types: give at least one negative type")
        if n_process < 1 or batch_size < 1:
            raise ValueError(f"n_process={n_process}, batch_size={batch_size}: both must be >= 1")
        self.spacy_model = spacy_model
        self.seed = int(seed)
        self.n_process = n_process
        self.batch_size = batch_size
        self.lexicons = tuple(str(x) for x in lexicons)
        self.lexicon = load_lexicon(self.lexicons)
        self.stats = resolve_stats(stats)
        self.nlp = shared_spacy(spacy_model)
        self._rules = [(t, RULES[t]) for t in self.types]

    def model_info(self) -> dict:
        """{"name": ..., "version": ...} of the spaCy pipeline (for the manifest)."""
        meta = self.nlp.meta
        return {
            "name": f"{meta.get('lang', 'xx')}_{meta.get('name', '?')}",
            "version": meta.get("version", "?"),
        }

    def plausibility_info(self) -> dict:
        """What made the choices (for the manifest): the statistics and the lexicons."""
        return {
            "model": "corpus-statistics",
            "statistics": self.stats.info(),
            "lexicons": list(self.lexicons),
        }

    def negatives_of(
        self, caption: str, parse: Parse, siblings: Roles | None = None
    ) -> list[Negative | None]:
        ctx = RuleContext(self.lexicon, self.stats, siblings or Roles())
        negated = negation_scope(parse)
        out: list[Negative | None] = []
        for type_, rule in self._rules:
            neg = None
            if len(parse):
                result = rule(parse, ctx, _rng(caption, type_, self.seed))
                if result:
                    edits, score = result
                    start, end, repl = apply_edits(parse, caption, edits)
                    text = caption[:start] + repl + caption[end:]
                    # Under a negation a replacement is no contradiction; existence flips it.
                    if type_ != "existence" and touches(negated, start, end):
                        text = caption
                    if text != caption:
                        neg = Negative(
                            type_, text, caption[start:end], repl, start, end, round(score, 4)
                        )
            out.append(neg)
        return out

    def _run_chunk(self, groups: list[list[str]]) -> list[list[list[Negative | None]]]:
        flat = [c for g in groups for c in g]
        out, pos = [], 0
        # Strings interned while parsing are freed when the zone closes; no Doc leaves it.
        with self.nlp.memory_zone():
            parses = [Parse.from_doc(d) for d in self.nlp.pipe(flat, batch_size=self.batch_size)]
            for g in groups:
                ps = parses[pos : pos + len(g)]
                pos += len(g)
                roles = [roles_of(p, self.lexicon) for p in ps] if len(g) > 1 else []
                out.append(
                    [
                        self.negatives_of(c, p, _siblings(roles, k) if roles else None)
                        for k, (c, p) in enumerate(zip(g, ps))
                    ]
                )
        return out

    def generate_groups(self, groups: Iterable[list[str]]) -> Iterator[list[list[Negative | None]]]:
        """Yield, for each group (the captions of one image), each caption's negatives in slot
        order; a caption's siblings are the other captions of its group.

        Streams: groups are read lazily in chunks. Raises TypeError naming the position of a
        caption that is not a string; re-raises any worker's exception.
        """
        chunks = _checked_chunks(groups, self.batch_size * 8)
        if self.n_process == 1:
            for chunk in chunks:
                yield from self._run_chunk(chunk)
            return
        ctx = multiprocessing.get_context("spawn")
        args = (self.types, self.spacy_model, self.seed, self.batch_size, self.stats, self.lexicons)
        with ProcessPoolExecutor(
            self.n_process, mp_context=ctx, initializer=_init_worker, initargs=args
        ) as pool:
            pending: deque = deque()
            try:
                for chunk in chunks:
                    pending.append(pool.submit(_work, chunk))
                    if len(pending) >= 2 * self.n_process:
                        yield from pending.popleft().result()
                while pending:
                    yield from pending.popleft().result()
            finally:
                for f in pending:
                    f.cancel()

    def generate(self, captions: Iterable[str]) -> Iterator[list[Negative | None]]:
        """Yield, for each caption in order, its negatives in slot order (None = invalid slot).
        Each caption is alone (no siblings); see `generate_groups`."""
        for rows in self.generate_groups([c] for c in captions):
            yield rows[0]

    def generate_one(self, caption: str, siblings: list[str] = ()) -> list[Negative | None]:
        """Negatives of one caption, in slot order (None = the caption lacks that type); the
        other captions of its image, if given, are excluded as replacements."""
        return next(iter(self.generate_groups([[caption, *siblings]])))[0]


def _checked_chunks(groups: Iterable, size: int) -> Iterator[list[list[str]]]:
    """Groups of captions, whole, in chunks of about `size` captions."""
    chunk: list[list[str]] = []
    n = offset = 0
    for group in groups:
        group = list(group)
        for k, c in enumerate(group):
            if not isinstance(c, str):
                raise TypeError(
                    f"caption {offset + k}: expected str, got {type(c).__name__} ({c!r:.60})"
                )
        offset += len(group)
        chunk.append(group)
        n += len(group)
        if n >= size:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


_WORKER: NegativeGenerator | None = None


def _init_worker(types, spacy_model, seed, batch_size, stats, lexicons) -> None:
    global _WORKER
    _WORKER = NegativeGenerator(
        types, spacy_model, seed, n_process=1, batch_size=batch_size, stats=stats, lexicons=lexicons
    )


def _work(chunk: list[list[str]]) -> list[list[list[Negative | None]]]:
    return _WORKER._run_chunk(chunk)
