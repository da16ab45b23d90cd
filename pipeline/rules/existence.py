"""The `existence` rule (with → without and similar negations, VALSE's existence piece) and
the `order_shuffle` baseline (nouns trade places, the NegCLIP shuffle; DESIGN §4)."""

from __future__ import annotations

from ahnpl.pipeline.caption_parse import Choices, Parse, frozen_tokens, moved_word
from ahnpl.pipeline.corpus_stats import head_key
from ahnpl.pipeline.rules.common import (
    NOUN_TAGS,
    UNLOCATED,
    Result,
    RuleContext,
    is_plural,
    pick,
    plural_phrase,
)
from ahnpl.pipeline.surface import match_case

_ABSTRACT = frozenset("focus help care ease joy pride interest caution".split())


def existence(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    """VALSE-style existence negative: "a man with a hat" → "a man without a hat"; a vague
    determiner goes ("with some graffiti" → "without graffiti"), a counted object is left
    alone ("with two dogs"). Score: plausibility of the object after "without"."""
    lex = ctx.lex
    frozen = frozen_tokens(p, lex)
    slots = []
    for i, low in enumerate(p.lows):
        # Only "with" that gives a thing a part or a companion ("a bed with pillows"); with a
        # verb it names an instrument or a manner ("filled with", "playing with").
        if low != "with" or p.deps[i] != "prep" or frozen[i]:
            continue
        obj = p.child(i, ("pobj",))
        if obj is None or p.tags[obj] not in NOUN_TAGS or p.tags[p.heads[i]] not in NOUN_TAGS:
            continue
        if p.lows[obj] in UNLOCATED or p.lows[obj] in _ABSTRACT:
            continue
        det = p.child(obj, ("det", "nummod", "quantmod"))
        if p.child(obj, ("nummod",)) is not None or (det is not None and det != i + 1):
            continue
        if det is not None and p.lows[det] in ("no", "without"):
            continue
        end = i + 1
        if det == i + 1 and p.lows[det] in lex.existence_drop:
            end = i + 2
            if end < len(p) and p.lows[end] == "of":  # "with lots of people"
                end += 1
        score = ctx.stats.score([("rel|r", ("without",))], head_key(p, p.heads[i], lex))
        slots.append(((i, end), [("without", score if score is not None else 0.0, False)]))
    if not slots:
        return None
    (s, e), repl, score = pick(rng, slots)
    return [(s, e, match_case(p.words[s], repl))], score


def order_shuffle(p: Parse, ctx: RuleContext, rng: Choices) -> Result | None:
    """ARO-style word-order negative: nouns and adjectives trade places within their class
    (singular nouns, plural nouns, adjectives), so number agreement still holds. No
    plausibility applies (score 0): such negatives are meant to be ungrammatical-ish."""
    lex = ctx.lex
    edits = []
    classes: dict[str, list[int]] = {"NN": [], "NNS": [], "JJ": []}
    for i, t in enumerate(p.tags):
        # Quantity nouns ("a couple glasses", "a group of") are determiners, not objects.
        low = p.lows[i]
        if not low.isalpha() or t not in ("NN", "NNS", "JJ") or low in lex.collectives:
            continue
        if low == "one" or low in lex.numbers:  # "a baby one": a pronoun, not a noun
            continue
        if t == "JJ":
            classes["JJ"].append(i)
            continue
        plural = is_plural(p, i, lex)
        # A plural noun modifier reads as a plural head elsewhere ("a clothes washer"); a
        # number its determiner contradicts ("A people", "one points") is not trusted.
        if (plural and p.deps[i] == "compound") or plural_phrase(p, i, i, plural) != plural:
            continue
        classes["NNS" if plural else "NN"].append(i)
    for pos in classes.values():
        if len({p.lows[i] for i in pos}) < 2:
            continue
        k = rng.randrange(1, len(pos))
        for dst, src in zip(pos, pos[k:] + pos[:k]):
            if p.lows[dst] != p.lows[src]:
                edits.append((dst, dst + 1, moved_word(p, src, dst)))
    return (edits, 0.0) if edits else None
