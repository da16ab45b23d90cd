"""Image hard negatives by editing: the registry, edit planning, and the model-free editors.

An `Editor` (the interface is in `ahnpl.pipeline.editing`) turns (image, caption, negative
caption, seed) into an edited image or a reason why not (DESIGN §5). Editors are picked by name
from `EDITORS`; the diffusion editors register themselves in `ahnpl.pipeline.diffusion`, which
is imported only when one of them is asked for, so the model-free ones need neither torch nor
diffusers. Each editor's recipe options are typed in `ahnpl.pipeline.edit_config`.

Which negatives get an image is decided by `plan_edits`: a per-image budget that prefers the
types a pixel edit can express (attribute, object); relations only through `flip`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from PIL import ImageOps

from ahnpl.registry import Registry
from ahnpl.seeding import derive_seed

from .edit_config import EditConfig, FilterConfig
from .editing import FAILURE_REASONS, Editor, EditRequest, EditResult

__all__ = [
    "EDITORS",
    "FAILURE_REASONS",
    "TYPE_PREFERENCE",
    "EditRequest",
    "EditResult",
    "Editor",
    "FlipEditor",
    "NoneEditor",
    "editor_from_config",
    "get_editor",
    "item_seed",
    "plan_edits",
]

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

EDITORS: Registry[Callable[..., Editor]] = Registry(
    "editor",
    option="--editor",
    lazy={
        "instruct-pix2pix": "ahnpl.pipeline.diffusion",
        "img2img": "ahnpl.pipeline.diffusion",
        "render": "ahnpl.pipeline.shapes",
    },
)
"""Editor name -> factory taking that editor's options (its `edit_config` model's fields)."""


def item_seed(key: str, caption_index: int, slot: int, seed: int) -> int:
    """The seed of one edit: `derive_seed(key, caption_index, slot, seed)`, in [0, 2**63).

    The build puts it in `EditRequest.seed` and in the shard's `edits.seed`; editors use it as
    given. The same (key, caption, slot, recipe seed) gives the same seed in every process and
    run, whatever batch the item lands in.
    """
    return derive_seed(key, int(caption_index), int(slot), int(seed))


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
        types: negative type names allowed (the recipe's `edit.types`, resolved to the
            editor's default when left out); None allows every type the editor can edit.

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


@EDITORS.register("none")
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


@EDITORS.register("flip")
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


def get_editor(name: str, *, filter: FilterConfig | dict | None = None, **options: Any) -> Editor:
    """Build the editor registered as `name` from its options, optionally behind the filter.

    Args:
        name: a registered editor (`EDITORS.names()`).
        filter: `FilterConfig` fields; wraps the editor in the CLIP quality filter.
        options: the editor's own options (`ahnpl.pipeline.edit_config`).
    Raises:
        ValueError: unknown editor (the message lists the registered ones), or an option the
            editor does not take or a bad value (the message names it and the valid ones).
    """
    EDITORS.get(name)  # an unknown name: the registry's message, listing the valid ones
    return editor_from_config(EditConfig(editor=name, options=options, filter=filter))


def editor_from_config(cfg: EditConfig) -> Editor:
    """The editor of a validated `edit:` section, wrapped in its filter when one is set."""
    editor = EDITORS.get(cfg.editor)(**cfg.options.model_dump())
    if cfg.filter is not None:
        from .edit_filter import EditFilter, FilteredEditor

        editor = FilteredEditor(editor, EditFilter(**cfg.filter.model_dump()))
    return editor
