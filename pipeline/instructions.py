"""Edit instructions for instruct-pix2pix, made from the exact span a negative changed.

InstructPix2Pix was trained on short imperative edits ("make it red", "turn the man into a
woman", "replace the dog with a cat"); these templates produce that form from a negative's
`type`, `original` span, `replacement` span and position (DESIGN §5). Negatives are duck-typed:
`.type`, `.text`, `.original`, `.replacement`, `.start`, `.end`.
"""

from __future__ import annotations

import re
from typing import Any

from .surface import article_for

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")

_NUMBERS = frozenset(
    """
    one two three four five six seven eight nine ten eleven twelve a an single several many few
    multiple couple pair dozen lone both some
""".split()
)
_PEOPLE = frozenset(
    """
    man woman boy girl person child kid lady guy baby men women boys girls people children kids
    ladies guys player players skier surfer skateboarder gentleman toddler adult adults teenager
    father mother chef officer policeman soldier worker
""".split()
)
# Words that end an attribute's noun phrase without being its noun ("a red and white bus").
_LINKERS = {"and", "or", "&", "but"}
# Words that cannot be the noun an attribute modifies ("a harbor full of ships").
_STOP = frozenset(
    """
    of in on at with near next by under above behind beside from to for that which who is are
    was were has have the a an while during into onto over up down there as colored coloured one
    ones
""".split()
)
# Second words of common caption compounds ("soccer field", "coffee table", "teddy bear").
_COMPOUND_HEADS = frozenset(
    """
    field table ball court board bag cake shirt room light hydrant sign bear glass cup player
    station track area pole plate house box bottle phone jacket hat umbrella truck bus
""".split()
)
_ARTICLE = re.compile(r"^(a|an|the)\s+", re.IGNORECASE)


def _article(noun: str) -> str:
    """The indefinite article and a space, by sound (`surface.article_for`); "" for plurals."""
    return "" if _is_plural(noun) else article_for(noun) + " "


def _is_plural(noun: str) -> bool:
    word = noun.split()[-1].lower() if noun.split() else ""
    if word in {"people", "men", "women", "children", "mice", "geese", "feet", "teeth"}:
        return True
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _after_span(negative: Any) -> str:
    """The negative's text after its replaced span."""
    text, repl = str(negative.text), str(negative.replacement)
    start = int(negative.start)
    if text[start : start + len(repl)] == repl:
        return text[start + len(repl) :]
    at = text.find(repl)
    return text[at + len(repl) :] if at >= 0 else ""


def _head_noun(negative: Any) -> str | None:
    """The noun an attribute span modifies: the next word (two for a known compound such as
    "soccer field"), skipping "and <adjective>"; None when the attribute is predicative."""
    after = _after_span(negative)
    words = _WORD.findall(after.split(",")[0].split(".")[0])
    i = 0
    while i < len(words) and words[i].lower() in _LINKERS:
        i += 2  # "red and white bus": skip "and white"
    if i >= len(words) or words[i].lower() in _STOP:
        return None
    if i + 1 < len(words) and words[i + 1].lower().rstrip("s") in _COMPOUND_HEADS:
        return f"{words[i]} {words[i + 1]}"
    return words[i]


def _strip_article(span: str) -> str:
    return _ARTICLE.sub("", span.strip())


def instruction(negative: Any) -> str:
    """An InstructPix2Pix instruction that turns the caption's image into the negative's.

    attribute: "make the car blue" (numbers: "make it three dogs");
    object: "replace the dog with a cat", people: "turn the man into a woman";
    other types, and attributes without a noun after them ("a harbor full of ships"):
    "make it show <negative caption>".
    Returns a lower-case instruction; never empty.
    """
    kind = getattr(negative, "type", "")
    # A span can carry its article when the article changes ("an airplane" -> "a bus").
    original = _strip_article(str(getattr(negative, "original", "")))
    replacement = _strip_article(str(getattr(negative, "replacement", "")))
    text = str(getattr(negative, "text", "")).strip().rstrip(".")
    noun = _head_noun(negative) if kind == "attribute" else None
    if kind == "attribute" and original and replacement and noun:
        if original.lower() in _NUMBERS or replacement.lower() in _NUMBERS or original.isdigit():
            return f"make it {replacement} {noun}".lower()
        return f"make the {noun} {replacement}".lower()
    if kind == "object" and original and replacement:
        if original.lower() in _PEOPLE and replacement.lower() in _PEOPLE:
            return f"turn the {original} into {_article(replacement)}{replacement}".lower()
        return f"replace the {original} with {_article(replacement)}{replacement}".lower()
    return f"make it show {text}".lower()
