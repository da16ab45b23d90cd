"""The `attribute` and `attribute_swap` rules (DESIGN §4): replace one modifier (colour,
size, material, number…) by one of its kind, or swap two nouns' modifiers, never across a
compound or an idiom."""

from __future__ import annotations

import math

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, moved_word
from ahnpl.pipeline.corpus_stats import OBSERVED_MIN, CorpusStats, noun_key
from ahnpl.pipeline.lexicon import Lexicon
from ahnpl.pipeline.rules.common import (
    NOUN_TAGS,
    Result,
    RuleContext,
    is_compound,
    pick,
    supercategory_of,
)
from ahnpl.pipeline.surface import match_case

_COLOUR_DEPS = frozenset({"amod", "compound", "acomp", "attr", "conj", "oprd", "nmod", "pobj"})
_PREDICATE_DEPS = frozenset({"amod", "acomp", "conj", "attr", "oprd"})
_NUMBER_WORDS_BY_VALUE: dict[int, str] = {}

# Kinds of attribute any thing of a kind can have; a noun seen KIND_SEEN times with words of
# one of them takes that kind (attribute_swap across kinds).
PHYSICAL = frozenset({"colour", "material", "shape"})
KIND_SEEN = 3


def _modifiers(p: Parse, ctx: RuleContext) -> list[tuple[int, int]]:
    """(adjective, noun) pairs: an attributive adjective before the noun it modifies, outside
    compounds and idioms."""
    lex = ctx.lex
    out = []
    for i, (low, tag, dep) in enumerate(zip(p.lows, p.tags, p.deps)):
        h = p.heads[i]
        # Only known descriptive adjectives: "remote" in "remote control" is no attribute.
        if h <= i or p.tags[h] not in NOUN_TAGS or low not in lex.swappable:
            continue
        attr = lex.attributes.get(low)
        if (
            (dep == "amod" and tag in ("JJ", "VBN"))
            or (attr is not None and attr.kind == "colour" and dep in ("amod", "compound"))
        ) and not is_compound(p, i, i + 1 if i + 1 < len(p) else h, ctx):
            out.append((i, h))
    return out


def _near(p: Parse, i: int, word: str, skip: int) -> bool:
    """Whether `word` is already within three tokens of token i (token `skip` aside)."""
    return any(p.lows[j] == word for j in range(max(0, i - 3), min(len(p), i + 4)) if j != skip)


def attribute_swap(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    mods = _modifiers(p, ctx)
    present = {(p.lows[a], p.lows[h]) for a, h in mods}
    pool = []
    for x, (a, ha) in enumerate(mods):
        for b, hb in mods[x + 1 :]:
            la, lb = p.lows[a], p.lows[b]
            if ha == hb or la == lb or p.lows[ha] == p.lows[hb]:
                continue
            at, bt = lex.attributes.get(la), lex.attributes.get(lb)
            if at is not None and bt is not None and at.group == bt.group:
                continue  # synonyms: swapping "big" and "large" changes nothing
            if {(lb, p.lows[ha]), (la, p.lows[hb])} <= present:
                continue
            between = p.tags[min(a, b) + 1 : max(a, b)]
            if not NOUN_TAGS & set(between) or _near(p, a, lb, b) or _near(p, b, la, a):
                continue  # one phrase: "white and grey cat" ↛ "white and white cat"
            na, nb = noun_key(p, ha, lex), noun_key(p, hb, lex)
            if (lb, na) in ctx.siblings.amod or (la, nb) in ctx.siblings.amod:
                continue  # another caption of the image says so: not false
            s1 = stats.score([("amod|n", (na,))], lb)
            s2 = stats.score([("amod|n", (nb,))], la)
            if s1 is None or s2 is None:
                continue
            if _swap_fits(p, (a, ha, at), (b, hb, bt), (na, nb), ctx):
                pool.append(((a, b), (s1 + s2) / 2, False))
    if not pool:
        return None
    (a, b), score, _ = rng.weighted(pool, [math.exp(sc) for _, sc, _ in pool])
    return [(a, a + 1, moved_word(p, b, a)), (b, b + 1, moved_word(p, a, b))], score


def _swap_fits(p: Parse, x: tuple, y: tuple, nouns: tuple[str, str], ctx: RuleContext) -> bool:
    """Whether modifiers x and y (token, noun token, Attribute or None) may trade nouns.

    Two words of one kind trade places (colours, sizes, materials). Across kinds, or for a
    descriptive adjective of no kind, only where the corpus states both new pairs
    `OBSERVED_MIN` times ("a white table with a wooden vase"), or, for colours, materials and
    shapes, where each noun is seen with words of the other's kind `KIND_SEEN` times (a vase
    takes colours, a table materials): otherwise the result reads oddly ("an empty bus on a
    yellow road"). Never for modifiers joined to others ("grey and white").
    """
    (a, ha, at), (b, hb, bt) = x, y
    lex, stats = ctx.lex, ctx.stats
    na, nb = nouns
    la, lb = p.lows[a], p.lows[b]
    observed = (
        stats.count("amod|n", (na,), lb) >= OBSERVED_MIN
        and stats.count("amod|n", (nb,), la) >= OBSERVED_MIN
    )
    kinds = {at.kind if at else None, bt.kind if bt else None}
    # A size says little of a group or a room ("a long group of people") unless the corpus
    # says it of those nouns.
    if "size" in kinds and not observed:
        if not (_is_object(p, ha, lex) and _is_object(p, hb, lex)):
            return False
    if len(kinds) == 1 and None not in kinds:
        return True
    if _coordinated(p, a) or _coordinated(p, b):
        return False
    if observed:
        return True
    if not kinds <= PHYSICAL:
        return False
    return (
        _kind_count(stats, lex, na, bt.kind) >= KIND_SEEN
        and _kind_count(stats, lex, nb, at.kind) >= KIND_SEEN
    )


def _kind_count(stats: CorpusStats, lex: Lexicon, noun: str, kind: str) -> int:
    """How often the corpus says a word of attribute `kind` of `noun`."""
    slot = stats.index["amod|n"].get((noun,)) or {}
    return sum(c for w, c in slot.items() if (at := lex.attributes.get(w)) and at.kind == kind)


def _is_object(p: Parse, h: int, lex: Lexicon) -> bool:
    """Whether the noun at h is a thing of the object lexicon, not a collective ("group")."""
    return supercategory_of(p, h, lex) is not None and p.lows[h] not in lex.collectives


def _coordinated(p: Parse, i: int) -> bool:
    """Whether modifier i is one of several joined by "and" ("a grey and white cat")."""
    if i > 0 and p.lows[i - 1] in ("and", "&", ","):
        return True  # also where the parser misreads the first one ("Grey and white cat")
    return p.deps[i] == "conj" or any(p.deps[j] in ("cc", "conj") for j in p.children(i))


def _number_word(value: int, template: str, lex: Lexicon) -> str:
    if template.isdigit():
        return str(value)
    if not _NUMBER_WORDS_BY_VALUE:
        _NUMBER_WORDS_BY_VALUE.update({v: w for w, v in lex.numbers.items()})
    return match_case(template, _NUMBER_WORDS_BY_VALUE[value])


def _attribute_noun(p: Parse, i: int) -> int | None:
    """The noun an adjective describes: its head ("a red car"), or the subject of the copula
    it completes ("the car is red")."""
    h = p.heads[i]
    if p.tags[h] in NOUN_TAGS:
        return h
    if p.deps[i] in ("acomp", "attr", "oprd"):
        subj = p.child(h, ("nsubj",))
        if subj is not None and p.tags[subj] in NOUN_TAGS:
            return subj
    return None


def _attribute_ok(p: Parse, i: int, kind: str, lex: Lexicon) -> bool:
    low, tag, dep = p.lows[i], p.tags[i], p.deps[i]
    if kind == "colour":
        # "orange" is also a fruit: as a noun it is an object, not a colour.
        return tag == "JJ" or (
            dep in _COLOUR_DEPS and ((low,) not in lex.nouns or dep in ("amod", "compound"))
        )
    if kind in ("material", "shape"):
        return (tag == "JJ" and dep in _PREDICATE_DEPS) or dep in ("amod", "compound")
    return (tag == "JJ" or (kind == "state" and tag == "VBN")) and dep in _PREDICATE_DEPS


def _number_slot(p: Parse, i: int, ctx: RuleContext):
    """Candidates for a count ("two dogs" → "three dogs"): nearby values first, as a count
    a caption would plausibly give; no corpus feature applies (score 0)."""
    lex, low = ctx.lex, p.lows[i]
    value = lex.numbers.get(low) or (int(low) if low.isdigit() and len(low) < 3 else 0)
    if value < 2 or p.deps[i] != "nummod" or p.tags[p.heads[i]] != "NNS":
        return None
    cands = [
        (_number_word(v, p.words[i], lex), -abs(v - value) / 2.0, False)
        for v in lex.number_choices
        if v != value and not p.has(_number_word(v, "x", lex))
    ]
    return cands or None


def attribute(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    lex, stats = ctx.lex, ctx.stats
    frozen = frozen_tokens(p, lex)
    slots = []
    for i, low in enumerate(p.lows):
        if frozen[i] or (i + 1 < len(p) and is_compound(p, i, i + 1, ctx)):
            continue  # "hot dog", "black and white photo", "polar bear"
        attr = lex.attributes.get(low)
        if attr is None:
            cands = _number_slot(p, i, ctx)
            if cands:
                slots.append((i, cands))
            continue
        if not _attribute_ok(p, i, attr.kind, lex):
            continue
        noun = _attribute_noun(p, i)
        n = noun_key(p, noun, lex) if noun is not None else None
        cands = []
        for r in attr.replacements:
            if p.has(r) or (n is not None and (r, n) in ctx.siblings.amod):
                continue
            if n is not None:
                score = stats.score([("amod|n", (n,))], r)
            else:
                score = stats.prior("amod|n", r)
            if score is not None:
                cands.append((match_case(p.words[i], r), score, False))
        if cands:
            slots.append((i, cands))
    if not slots:
        return None
    i, repl, score = pick(rng, slots)
    return [(i, i + 1, repl)], score
