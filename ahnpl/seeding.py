"""One seed derivation for every random choice in ahnpl (DESIGN §4, §5, §7).

`derive_seed(*parts)` maps a tuple of ints and strings to a seed. It is the only way the
project turns "this item, this slot, this recipe seed" into randomness, so that an item's
output never depends on batch position, worker, process or Python's salted `hash()`.

Derivation (stable across runs, processes, platforms and Python versions):
1. each part is written as text: an int (or bool) in base 10, a string as itself;
2. the texts are joined with the unit separator U+001F (a string part may not contain it, so
   the encoding is unambiguous);
3. the UTF-8 bytes go through blake2b with an 8-byte digest, read big-endian;
4. the top bit is cleared, so the seed is an int in [0, 2**63): it fits a signed 64-bit column
   (the shards' `edits.seed`), `torch.Generator.manual_seed`, numpy and `random.Random`.

`derive_seed(key, caption_index, slot, seed)` is bit-for-bit the per-edit seed the editors
used before this module existed, so existing datasets rebuild to the same bytes.
"""

from __future__ import annotations

import hashlib
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch and numpy are optional here: import them only where used
    import numpy as np
    import torch

SEPARATOR = "\x1f"
_MASK = (1 << 63) - 1


def _encode(part: int | str) -> str:
    if isinstance(part, int):  # bool is an int: True -> "1"
        return str(int(part))
    if isinstance(part, str):
        if SEPARATOR in part:
            raise ValueError(f"derive_seed: part {part!r} contains the separator U+001F")
        return part
    raise TypeError(f"derive_seed: parts are int or str, got {type(part).__name__} {part!r}")


def derive_seed(*parts: int | str) -> int:
    """The seed of `parts`: blake2b-64 of their U+001F-joined text, top bit cleared.

    Args:
        parts: ints and strings naming what the randomness is for, most general first,
            e.g. `("shapes", world_seed, split, index)` or `(key, caption, slot, recipe_seed)`.
    Returns:
        int in [0, 2**63).
    Raises:
        TypeError: a part is neither int nor str (floats are refused: their text is not unique).
        ValueError: no parts, or a string part contains U+001F.
    """
    if not parts:
        raise ValueError("derive_seed: give at least one part")
    payload = SEPARATOR.join(_encode(p) for p in parts).encode("utf-8")
    digest = hashlib.blake2b(payload, digest_size=8).digest()
    return int.from_bytes(digest, "big") & _MASK


def python_rng(*parts: int | str) -> random.Random:
    """A `random.Random` seeded with `derive_seed(*parts)`."""
    return random.Random(derive_seed(*parts))


def numpy_rng(*parts: int | str) -> np.random.Generator:
    """A numpy `Generator` (PCG64) seeded with `derive_seed(*parts)`."""
    import numpy as np

    return np.random.default_rng(derive_seed(*parts))


def torch_generator(*parts: int | str, device: str | torch.device = "cpu") -> torch.Generator:
    """A `torch.Generator` on `device` seeded with `derive_seed(*parts)`.

    Seeds the generator directly: `torch.manual_seed` would reseed every device globally.
    """
    import torch

    return torch.Generator(device=device).manual_seed(derive_seed(*parts))
