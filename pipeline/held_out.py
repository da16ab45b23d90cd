"""Held-out compositions stay out of the training negatives, text and image alike (DESIGN §8).

A held-out evaluation split tests compositions that never occur in training. A training
*negative* that names one teaches the model that exactly the test's compositions are false
(measured in the shapes world: text-only 51 → 80 % average once removed; docs/shapes.md).
So a build drops every text negative that contains a held-out phrase; the slot becomes
invalid, and an invalid slot never gets an image edit, so no image negative draws it either.

The phrases come from the recipe (`negatives.held_out`, for a user's own held-out split) and
from the input source (`SourceNegatives.held_out`: a rendered world knows its test split). Both end
up in the recipe that the manifest records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ahnpl.registry import Registry

# Rewrites of a negative into its world's wording (None: not a negative there), by name, for
# `negatives.wording`; a source that knows its world registers one and declares its name.
WORDINGS: Registry[Callable[[str, str], str | None]] = Registry(
    "wording", lazy={"shapes": "ahnpl.pipeline.shapes"}
)


class HeldOut:
    """Matches text that names a held-out phrase (whole words, case-insensitive; the last
    word may take a plural "s"/"es": "red circles" names "red circle").

    Args:
        phrases: e.g. `["red circle", "violet circle"]`; empty strings are ignored.
    """

    def __init__(self, phrases: Sequence[str]) -> None:
        words = sorted({" ".join(p.lower().split()) for p in phrases if p.strip()}, key=len)
        self.phrases = tuple(words)
        body = "|".join(r"\s+".join(map(re.escape, p.split())) for p in reversed(words))
        self._pattern = (
            re.compile(rf"(?<!\w)(?:{body})(?:e?s)?(?!\w)", re.IGNORECASE) if words else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def named_in(self, text: str) -> str | None:
        """The first held-out phrase `text` contains (lowercase), or None."""
        if self._pattern is None:
            return None
        m = self._pattern.search(text)
        return None if m is None else " ".join(m.group(0).lower().split())

    def drop(self, rows: list[list[Any | None]]) -> tuple[list[list[Any | None]], int]:
        """`rows[caption][slot]` of negatives (`.text`) with held-out ones set to None.

        Returns the new rows and how many negatives were dropped.
        """
        dropped = 0
        out = []
        for row in rows:
            kept = []
            for neg in row:
                if neg is not None and self.named_in(neg.text) is not None:
                    dropped += 1
                    neg = None
                kept.append(neg)
            out.append(kept)
        return out, dropped


def reword(name: str | None, captions: list[str], rows: list[list[Any | None]]):
    """Negatives rewritten by the registered wording `name` (None: unchanged).

    Returns (rows, dropped). A kept negative gets the new text, with `original`/`replacement`
    /`start`/`end` recomputed as the span between the common prefix and suffix.

    Raises:
        ahnpl.registry.UnknownName (a ValueError): `name` is not registered (lists the names).
    """
    if name is None:
        return rows, 0
    rule, dropped, out = WORDINGS.get(name), 0, []
    for caption, row in zip(captions, rows):
        kept = []
        for neg in row:
            text = None if neg is None else rule(caption, neg.text)
            dropped += neg is not None and text is None
            kept.append(None if text is None else _respan(neg, caption, text))
        out.append(kept)
    return out, dropped


def _respan(neg, caption: str, text: str):
    start = 0
    while start < min(len(caption), len(text)) and caption[start] == text[start]:
        start += 1
    end = 0
    while end < min(len(caption), len(text)) - start and caption[-1 - end] == text[-1 - end]:
        end += 1
    return replace(
        neg,
        text=text,
        original=caption[start : len(caption) - end],
        replacement=text[start : len(text) - end],
        start=start,
        end=len(caption) - end,
    )


def with_source_negatives(recipe, declared):
    """`recipe` with the input source's held-out phrases, lexicon files, wording and
    statistics added.

    Args:
        recipe: `ahnpl.pipeline.recipe.Recipe`.
        declared: what the source declares (`ahnpl.pipeline.inputs.SourceNegatives`).
    Returns:
        A new Recipe (the given one is unchanged); entries already present are not repeated;
        a wording set in the recipe wins, and so do statistics (a `stats_file`, or a `stats`
        other than the default "input").
    """
    neg = recipe.negatives
    own_stats = neg.stats_file is not None or neg.stats != "input"
    update = {
        "held_out": list(dict.fromkeys([*neg.held_out, *declared.held_out])),
        "lexicons": list(dict.fromkeys([*neg.lexicons, *declared.lexicons])),
        "wording": neg.wording or declared.wording,
        "stats_file": neg.stats_file if own_stats else declared.stats_file,
    }
    if all(getattr(neg, k) == v for k, v in update.items()):
        return recipe
    return recipe.model_copy(update={"negatives": neg.model_copy(update=update)})
