"""One seed derivation (ahnpl/seeding.py)."""

from __future__ import annotations

import hashlib

import pytest

from ahnpl.seeding import derive_seed, numpy_rng, python_rng, torch_generator


def test_derivation_is_blake2b_of_the_joined_parts():
    digest = hashlib.blake2b(b"img-1\x1f2\x1f0\x1f7", digest_size=8).digest()
    expected = int.from_bytes(digest, "big") & ((1 << 63) - 1)
    assert derive_seed("img-1", 2, 0, 7) == expected
    assert 0 <= derive_seed("x") < 2**63


def test_different_parts_give_different_seeds():
    seeds = {derive_seed("k", c, s, 0) for c in range(5) for s in range(5)}
    assert len(seeds) == 25
    assert derive_seed("a", "b") != derive_seed("a\x1eb")
    assert derive_seed(True) == derive_seed(1)


def test_bad_parts_are_refused():
    with pytest.raises(TypeError, match="float"):
        derive_seed(0.5)
    with pytest.raises(ValueError, match="separator"):
        derive_seed("a\x1fb")
    with pytest.raises(ValueError, match="at least one"):
        derive_seed()


def test_generators_are_seeded_with_the_derived_seed():
    import numpy as np
    import torch

    assert python_rng("a", 1).random() == python_rng("a", 1).random()
    assert python_rng("a", 1).random() != python_rng("a", 2).random()
    assert numpy_rng("a", 1).integers(1 << 30) == np.random.default_rng(
        derive_seed("a", 1)
    ).integers(1 << 30)
    g = torch_generator("a", 1)
    assert g.initial_seed() == derive_seed("a", 1)
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch_generator("a", 1)))
