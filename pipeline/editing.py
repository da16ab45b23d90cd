"""The editor interface (DESIGN §5): what an editor is given, what it returns, what it is.

Kept apart from the editors themselves so that every editor module (model-free, diffusion,
the shapes world's renderer) and the quality filter import this, and nothing here imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from PIL import Image

# Failure reasons an editor may return; the build counts failed edits by these.
FAILURE_REASONS: tuple[str, ...] = (
    "unsupported",  # the editor cannot express this negative
    "nsfw",  # the model's safety checker flagged the result
    "non_finite",  # NaN/inf in the decoded image
    "blank",  # near-constant image (e.g. a black safety-checker output)
    "filter_dir",  # CLIP directional similarity under the threshold
    "filter_img",  # CLIP image similarity outside the thresholds
)


@dataclass
class EditRequest:
    """One edit to make: negative `slot` of caption `caption_index` of image `key`.

    `negative` is an `ahnpl.pipeline.negatives.Negative` (duck-typed here: `.type`, `.text`,
    `.original`, `.replacement`, `.start`, `.end`). `seed` is this edit's own seed,
    `ahnpl.seeding.derive_seed(key, caption_index, slot, recipe_seed)` (see `edit_seed`): an
    editor uses it as given, so an item's result does not depend on the batch it lands in.
    """

    key: str
    caption_index: int
    slot: int
    image: Image.Image
    caption: str
    negative: Any
    seed: int


@dataclass
class EditResult:
    """The edited image (RGB, same size as the request's image) or why there is none.

    `reason` is one of `FAILURE_REASONS` when `image` is None, else None. `score_dir` and
    `score_img` are the quality filter's cosines (None when no filter ran).
    """

    image: Image.Image | None
    reason: str | None
    score_dir: float | None = None
    score_img: float | None = None

    def __post_init__(self) -> None:
        if (self.image is None) == (self.reason is None):
            raise ValueError("EditResult needs exactly one of image and reason")


@runtime_checkable
class Editor(Protocol):
    """What the build driver calls. `edit` returns one result per request, in order."""

    name: str

    def can_edit(self, negative: Any) -> bool: ...

    def edit(self, requests: list[EditRequest]) -> list[EditResult]: ...

    def info(self) -> dict: ...
