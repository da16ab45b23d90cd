"""Held-out compositions stay out of the training negatives, text and image alike (DESIGN §8).

A held-out evaluation split tests compositions that never occur in training. A training
*negative* that names one teaches the model that exactly the test's compositions are false
(measured in the shapes world: text-only 51 → 80 % average once removed; docs/shapes.md).
So a build drops every text negative that contains a held-out phrase; the slot becomes
invalid, and an invalid slot never gets an image edit, so no image negative draws it either.

The phrases come from the recipe (`negatives.held_out`, for a user's own held-out split) and
from the input source (`InputSet.held_out`: a rendered world knows its test split). Both end
up in the recipe that the manifest records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any


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


def with_source_negatives(recipe, held_out: Sequence[str], lexicons: Sequence[str]):
    """`recipe` with the input source's held-out phrases and lexicon files added.

    Args:
        recipe: `ahnpl.pipeline.recipe.Recipe`.
        held_out, lexicons: what the source declares (`InputSet.held_out`, `.lexicons`).
    Returns:
        A new Recipe (the given one is unchanged); entries already present are not repeated.
    """
    neg = recipe.negatives
    phrases = list(dict.fromkeys([*neg.held_out, *held_out]))
    files = list(dict.fromkeys([*neg.lexicons, *lexicons]))
    if phrases == neg.held_out and files == neg.lexicons:
        return recipe
    update = {"held_out": phrases, "lexicons": files}
    return recipe.model_copy(update={"negatives": neg.model_copy(update=update)})
