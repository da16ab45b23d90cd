"""Where a caption is negated, so that an edit there would not make it false (DESIGN §4).

"Three people are not swimming in the pool" → "… are not walking …" is likely *true* of the
same image, and so is "a street with no cars" → "… with no trucks": replacing a word inside a
negation's scope does not contradict the image. The scope is read from the parse: the subtree
of the word a `neg` dependent negates ("not", "n't", "never"), the subtree of "without",
"nothing", "nobody", "none", and the noun phrase a "no"/"neither" determines. It errs on the
side of too wide (spaCy may hang a following clause under the negated noun).
"""

from __future__ import annotations

from ahnpl.pipeline.caption_parse import Parse

_HEADS_OF_SCOPE = frozenset({"without", "nothing", "nobody", "none"})
_DETERMINERS = frozenset({"no", "neither"})


def negation_scope(parse: Parse) -> list[tuple[int, int]]:
    """Character spans [start, end) of the tokens under a negation; [] for most captions."""
    roots = set()
    for i, (low, dep) in enumerate(zip(parse.lows, parse.deps)):
        if dep == "neg" or (low in _DETERMINERS and dep == "det"):
            roots.add(parse.heads[i])
        elif low in _HEADS_OF_SCOPE:
            roots.add(i)
    if not roots:
        return []
    return [
        (parse.starts[j], parse.ends[j]) for j in range(len(parse.words)) if _under(parse, j, roots)
    ]


def _under(parse: Parse, j: int, roots: set[int]) -> bool:
    seen = set()
    while j not in roots:
        if j in seen or parse.heads[j] == j:
            return False
        seen.add(j)
        j = parse.heads[j]
    return True


def touches(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether the character range [start, end) overlaps any of `spans`."""
    return any(s < end and start < e for s, e in spans)
