"""A replacement inside a negation's scope is no hard negative: "are not swimming" → "are not
walking" is likely true of the same image (found by the fresh-user trial)."""

from __future__ import annotations

import pytest

from ahnpl.pipeline.negatives import NegativeGenerator
from ahnpl.shards.schema import ALL_NEGATIVE_TYPES

NEGATED = {
    "Three people are not swimming in the pool.": "not swimming in the pool",
    "A street with no cars on it.": "no cars on it",
    "A man sitting on a bench without a red umbrella.": "without a red umbrella",
    "A bus never stops at the station near a tree.": "never stops at the station near a tree",
}


@pytest.fixture(scope="module")
def gen() -> NegativeGenerator:
    return NegativeGenerator(types=ALL_NEGATIVE_TYPES, seed=0)


@pytest.mark.parametrize("caption", sorted(NEGATED))
def test_nothing_inside_a_negation_is_replaced(gen, caption):
    scope = NEGATED[caption]
    lo = caption.index(scope)
    hi = lo + len(scope)
    for t, neg in zip(gen.types, gen.generate_one(caption)):
        if neg is not None and t not in ("existence", "order_shuffle"):
            assert not (neg.start < hi and lo < neg.end), (t, neg.text)


def test_the_rest_of_a_negated_caption_still_gets_negatives(gen):
    caption = "A small white dog sitting on a red couch and a cat that is not sleeping."
    negatives = dict(zip(gen.types, gen.generate_one(caption)))
    assert any(n is not None for t, n in negatives.items() if t in ("attribute", "object"))
    for t, n in negatives.items():
        if n is not None and t not in ("existence", "order_shuffle"):
            assert "not sleeping" in n.text, (t, n.text)


def test_an_affirmative_caption_is_unchanged_by_the_check(gen):
    out = gen.generate_one("A small white dog sitting on a red couch.")
    assert sum(n is not None for n in out) >= 3
