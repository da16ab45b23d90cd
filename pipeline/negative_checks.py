"""Automatic checks of the text-negative invariants of DESIGN §4, without a parser.

`broken_invariants(caption, negative)` names every invariant a negative breaks; the tests
assert it is empty and `bench/bench_captions.py` reports the share of negatives where it is
not. Surface checks count violations in the negative beyond those already in the caption
(human captions contain "a orange" too), so only what the generator introduced is blamed.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from ahnpl.pipeline.lexicon import load_lexicon
from ahnpl.pipeline.surface import article_for

_ARTICLE = re.compile(r"\b(an?)\s+([^\W_][\w'-]*)", re.IGNORECASE)
_COUNT = re.compile(
    r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|[2-9]|1[0-2]|a|an|one)"
    r"\s+(\w+(?:\s\w+)?)",
    re.IGNORECASE,
)
_BE = re.compile(r"\b(is|are|was|were|am|be)\s+(\w+)", re.IGNORECASE)
_PUNCT = set(',.;:!?()"[]')
_FUNCTION_WORDS = frozenset(
    "is are was were and or with on in at of near next by under behind that who which to for "
    "from as sitting standing laying lying walking eating playing holding".split()
)


@lru_cache(maxsize=1)
def _tables():
    lex = load_lexicon()
    singular, plural = set(), set()
    for key, noun in lex.nouns.items():
        phrase = " ".join(key)
        if noun.mass:
            continue
        (plural if noun.plural else singular).add(phrase)
    ambiguous = (singular & plural) | lex.invariant_nouns  # "sheep"
    bare = set()
    for forms in lex.verbs:
        for verb, k in lex.verbs[forms]:
            # "is clean" is an adjective, not a bare verb.
            if k == 0 and forms not in verb.forms[2:] and forms not in lex.swappable:
                bare.add(forms)
    bare -= singular | plural  # "a man is skateboard" is odd but no verb form error
    participles = {v.forms[k] for vs in lex.verbs.values() for v, _ in vs for k in (2, 3, 4)}
    return singular - ambiguous, plural - ambiguous, bare, participles


def _article_errors(text: str) -> Counter:
    return Counter(
        (m.group(1).lower(), m.group(2).lower())
        for m in _ARTICLE.finditer(text)
        if article_for(m.group(2)) != m.group(1).lower()
    )


def _agreement_errors(text: str) -> Counter:
    singular, plural, _, participles = _tables()
    out = Counter()
    for m in _COUNT.finditer(text):
        det, words = m.group(1).lower(), m.group(2).lower()
        first, _, second = words.partition(" ")
        if second in ("s", "'s", "'") or text[m.end(2) : m.end(2) + 1] in ("'", "’"):
            continue  # possessive: "a men's room"
        single = det in ("a", "an", "one")
        # The noun must end its phrase: "two computer screens" has the modifier "computer".
        ends = not second or second in _FUNCTION_WORDS or second in participles
        # Keyed by the noun: "two zebra" → "four zebra" keeps the caption's error, adds none.
        if single and (words in plural or (first in plural and ends)):
            out[("one", first)] += 1
        elif (
            not single
            and words not in plural
            and (words in singular or (first in singular and ends))
        ):
            out[("many", first)] += 1
    return out


def _be_errors(text: str) -> Counter:
    _, _, bare, _ = _tables()
    return Counter(m.group(0).lower() for m in _BE.finditer(text) if m.group(2).lower() in bare)


def _same_group(original: str, replacement: str) -> bool:
    lex = load_lexicon()
    a = original.lower().removeprefix("an ").removeprefix("a ")
    b = replacement.lower().removeprefix("an ").removeprefix("a ")
    if a == b:
        return True
    pairs = [
        (lex.attributes.get(a), lex.attributes.get(b), "group"),
        (lex.nouns.get(tuple(a.split())), lex.nouns.get(tuple(b.split())), "group"),
        (lex.relations.get(tuple(a.split())), lex.relations.get(tuple(b.split())), "group"),
    ]
    for x, y, field in pairs:
        if x is not None and y is not None and getattr(x, field) == getattr(y, field):
            return True
    va, vb = lex.verbs.get(a), lex.verbs.get(b)
    if va and vb:
        # The original's synonyms name what may not replace it ("entails" is one way).
        return any(w.forms[0] in v.synonyms for v, _ in va for w, _ in vb)
    return False


def broken_invariants(caption: str, negative) -> list[str]:
    """Names of the DESIGN §4 invariants `negative` (an `ahnpl.pipeline.negatives.Negative`)
    breaks for `caption`; [] when it is a clean negative."""
    text, s, e = negative.text, negative.start, negative.end
    broken = []
    if text == caption:
        broken.append("identical")
    if (
        caption[s:e] != negative.original
        or text != caption[:s] + negative.replacement + caption[e:]
    ):
        broken.append("outside_span")
    keep = lambda t: Counter(c for c in t if c in _PUNCT)  # noqa: E731
    if keep(negative.original) != keep(negative.replacement):
        broken.append("punctuation")
    if caption[:1].isalpha() and caption[:1].isupper() != text[:1].isupper():
        broken.append("casing")
    if _article_errors(text) - _article_errors(caption):
        broken.append("a_an")
    if _agreement_errors(text) - _agreement_errors(caption):
        broken.append("number_agreement")
    if _be_errors(text) - _be_errors(caption):
        broken.append("verb_form")
    if negative.type in ("attribute", "object", "verb", "relation") and _same_group(
        negative.original, negative.replacement
    ):
        broken.append("synonym")
    return broken
