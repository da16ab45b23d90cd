"""Image hard negatives by editing: the editor interface, a registry, and the model-free editors.

An `Editor` turns (image, caption, negative caption, seed) into an edited image or a reason why
not (DESIGN §5). Editors are picked by name from a registry (`get_editor`); the diffusion
editors live in `ahnpl.pipeline.diffusion` and are imported only when asked for, so the
model-free ones need neither torch nor diffusers.

Which negatives get an image is decided by `plan_edits`: a per-image budget that prefers the
types a pixel edit can express (attribute, object); relations only through `flip`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from PIL import Image, ImageOps

# Types a pixel edit expresses best come first (DESIGN §5); the rest follow in slot order.
TYPE_PREFERENCE: tuple[str, ...] = (
    "attribute",
    "object",
    "verb",
    "attribute_swap",
    "object_swap",
    "relation",
    "order_shuffle",
)

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
    `.original`, `.replacement`, `.start`, `.end`); `seed` is the recipe seed.
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


def item_seed(key: str, caption_index: int, slot: int, seed: int) -> int:
    """A stable 63-bit seed for one edit, from blake2b (never Python's salted `hash()`).

    The same (key, caption, slot, recipe seed) gives the same seed in every process and run,
    whatever batch the item lands in.
    """
    payload = f"{key}\x1f{int(caption_index)}\x1f{int(slot)}\x1f{int(seed)}".encode()
    digest = hashlib.blake2b(payload, digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 63) - 1)


def plan_edits(
    negatives: list[list[Any | None]],
    editor: Editor,
    edits_per_image: int,
    types: Sequence[str] | None = None,
) -> list[tuple[int, int]]:
    """Choose which negatives of one image get an image edit.

    Args:
        negatives: `negatives[caption][slot]`, None where the slot is invalid.
        editor: only negatives it `can_edit` are chosen.
        edits_per_image: the budget (0 means none).
        types: negative type names allowed; None allows every type the editor accepts.

    Returns:
        Up to `edits_per_image` (caption_index, slot) pairs, deterministic: ordered by type
        preference (attribute, object, verb, ...), then caption index, then slot, so the budget
        spreads over captions before it takes a second type. Duplicate negative texts are
        skipped (two captions can yield the same negative).

    Raises:
        ValueError: negative budget.
    """
    if edits_per_image < 0:
        raise ValueError(f"edits_per_image={edits_per_image}: must be >= 0")
    allowed = None if types is None else set(types)
    candidates = []
    for c, row in enumerate(negatives):
        for s, neg in enumerate(row):
            if neg is None or (allowed is not None and neg.type not in allowed):
                continue
            if not editor.can_edit(neg):
                continue
            rank = (
                TYPE_PREFERENCE.index(neg.type)
                if neg.type in TYPE_PREFERENCE
                else len(TYPE_PREFERENCE)
            )
            candidates.append((rank, c, s, neg.text))
    candidates.sort(key=lambda t: t[:3])
    chosen, seen = [], set()
    for _, c, s, text in candidates:
        if len(chosen) >= edits_per_image:
            break
        if text in seen:
            continue
        seen.add(text)
        chosen.append((c, s))
    return chosen


class NoneEditor:
    """Makes no image negatives (`edit: {editor: none}`)."""

    name = "none"

    def __init__(self, batch_size: int = 1, device: str | None = None) -> None:
        del batch_size, device  # accepted so every editor takes the common recipe fields

    def can_edit(self, negative: Any) -> bool:
        return False

    def edit(self, requests: list[EditRequest]) -> list[EditResult]:
        return [EditResult(None, "unsupported") for _ in requests]

    def info(self) -> dict:
        return {"editor": self.name}


_LEFT_RIGHT = re.compile(r"\b(left|right)\b", re.IGNORECASE)


def _swap_left_right(text: str) -> str:
    return _LEFT_RIGHT.sub(
        lambda m: {"left": "right", "right": "left"}[m.group(1).lower()], text.lower()
    )


class FlipEditor:
    """Mirrors the image for left/right relation negatives (no model).

    A horizontal mirror turns "a dog left of a cat" into a true picture of "a dog right of a
    cat", so it is exact only when the caption names one side once: negatives whose text holds
    more than one "left"/"right" are refused.
    """

    name = "flip"

    def __init__(self, batch_size: int = 1, device: str | None = None) -> None:
        del batch_size, device

    def can_edit(self, negative: Any) -> bool:
        if getattr(negative, "type", None) != "relation":
            return False
        original, replacement = str(negative.original), str(negative.replacement)
        if not _LEFT_RIGHT.search(original):
            return False
        if _swap_left_right(original) != replacement.lower():
            return False
        return len(_LEFT_RIGHT.findall(str(negative.text))) == 1

    def edit(self, requests: list[EditRequest]) -> list[EditResult]:
        return [
            EditResult(ImageOps.mirror(r.image.convert("RGB")), None)
            if self.can_edit(r.negative)
            else EditResult(None, "unsupported")
            for r in requests
        ]

    def info(self) -> dict:
        return {"editor": self.name}


def _diffusion(kind: str) -> Callable[..., Editor]:
    def build(**config: Any) -> Editor:
        from ahnpl.pipeline.diffusion import DiffusionEditor

        return DiffusionEditor(kind, **config)

    return build


EDITORS: dict[str, Callable[..., Editor]] = {
    "none": NoneEditor,
    "flip": FlipEditor,
    "instruct-pix2pix": _diffusion("instruct-pix2pix"),
    "img2img": _diffusion("img2img"),
    # "render" (the shapes world) is added by `ahnpl.pipeline.shapes` when imported.
}


def get_editor(name: str, **config: Any) -> Editor:
    """Build the editor registered as `name` with its configuration.

    Options named `filter_*` (`filter_model`, `filter_pretrained`, `filter_min_dir`,
    `filter_min_img`, `filter_max_img`, `filter_device`, `filter_batch_size`) wrap the editor in
    the CLIP quality filter (`ahnpl.pipeline.edit_filter`); the rest go to the editor.

    Raises:
        ValueError: unknown editor name (the message lists the registered ones), or an option
            the editor does not take (the message lists the ones it does).
    """
    if name not in EDITORS:
        raise ValueError(f"--editor {name!r}: unknown editor; choose from {sorted(EDITORS)}")
    filter_options = {k[len("filter_") :]: v for k, v in config.items() if k.startswith("filter_")}
    editor_options = {k: v for k, v in config.items() if not k.startswith("filter_")}
    try:
        editor = EDITORS[name](**editor_options)
    except TypeError as e:
        raise ValueError(f"editor {name!r}: bad option ({e})") from e
    if filter_options.get("model"):
        from ahnpl.pipeline.edit_filter import EditFilter, FilteredEditor

        editor = FilteredEditor(editor, EditFilter(**filter_options))
    return editor
