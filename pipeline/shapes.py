"""The shapes world on the build side: the `shapes` input source and the `render` editor.

The world itself (scenes, renderer, grammar) is `ahnpl.pipeline.shapes_world`. This module
registers `ShapesSource` as input source "shapes" (`ahnpl.pipeline.inputs.SOURCES`),
`in_world_wording` as negative wording "shapes" (`ahnpl.pipeline.held_out.WORDINGS`) and
`RenderEditor` as editor "render" (`ahnpl.pipeline.editors.EDITORS`) when it is imported; the
three registries name it as the lazy home of those names, so nothing imports it by name.
`RenderEditor` renders a negative caption exactly by
re-rendering the scene with the negative's attributes and relation, keeping everything else
(positions recovered from the image by colour), and never draws a held-out composition into a
training image.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ahnpl.seeding import python_rng

from .editing import EditRequest, EditResult
from .editors import EDITORS
from .held_out import WORDINGS
from .inputs import SOURCES, InMemorySource, InputItem, InputSet, SourceNegatives
from .shapes_world import (
    BACKGROUND,
    CANVAS,
    LEXICON,
    RADIUS,
    RGB,
    SHAPES,
    Obj,
    Scene,
    both_wordings,
    drawable,
    encode_png,
    held_out_phrases,
    in_world_wording,
    names_held_out,
    parse_caption,
    place,
    render,
    sample_scene,
    valid_layout,
)

LOCATE_SLACK = 1.5  # pixels: how far `locate` may be off (anti-aliasing, JPEG)
# The world's corpus statistics (`write_stats`). Captions say only "to the left of" and
# "above", so statistics of the build's own captions would find "below" implausible and the
# relation rule would make no negative for a vertical scene (measured: 189 of 194 vertical
# scenes of a 400-scene build get one with these statistics, none without).
STATS = Path(__file__).with_name("shapes-stats.json.gz")
STATS_SCENES = 4000


def read_shapes(cfg: Any, seed: int = 0):
    """`--source shapes`: render `cfg.count` scenes of `cfg.split` as build inputs.

    Args:
        cfg: `ahnpl.pipeline.recipe.InputConfig` (reads `.count`, `.split`).
        seed: the world seed (the recipe seed); the output is a function of (seed, split,
            count) and item i is the same whatever `count`.

    Returns:
        InputSet of `InputItem(offset=i, source_id="shapes-<split>-<i>", path="", captions=[one
        caption], image=PNG bytes)`, fingerprinted by (seed, split, count). It declares the
        world's shape-noun lexicon (`LEXICON`), its wording ("shapes": `in_world_wording`,
        so no negative is told from a caption by its words alone), its statistics (`STATS`)
        and, for the train split,
        the held-out phrases (`held_out_phrases`): no training negative may name a test
        composition.
    """
    items = []
    for i in range(cfg.count):
        scene = sample_scene(seed, cfg.split, i)
        items.append(
            InputItem(
                offset=i,
                source_id=f"shapes-{cfg.split}-{i:07d}",
                path="",
                captions=[scene.caption()],
                image=encode_png(render(scene)),
            )
        )
    fingerprint = hashlib.sha256(f"shapes:{seed}:{cfg.split}:{cfg.count}".encode()).hexdigest()
    held_out = held_out_phrases() if cfg.split == "train" else []
    negatives = SourceNegatives(held_out, [str(LEXICON)], "shapes", str(STATS))
    return InputSet(items, [], "sha256:" + fingerprint, negatives)


def write_stats(path: str | Path = STATS, scenes: int = STATS_SCENES, seed: int = 0) -> str:
    """The world's corpus statistics: `both_wordings` of `scenes` training scenes, through
    `ahnpl-gen stats`'s statistics (`ahnpl.pipeline.corpus_stats`); returns their sha256.

    Rewrite the packaged file after a change to the grammar: `python -m
    ahnpl.pipeline.shapes stats`.
    """
    from .corpus_stats import compute_stats, write_stats

    captions = (t for i in range(scenes) for t in both_wordings(sample_scene(seed, "train", i)))
    meta = {"source": ["shapes world"], "note": f"both_wordings of {scenes} train scenes"}
    result, data = compute_stats(captions, lexicon_paths=(str(LEXICON),), meta=meta)
    write_stats(Path(path), data)
    return result.sha256


@SOURCES.register("shapes")
class ShapesSource(InMemorySource):
    """`--source shapes`: the rendered world (`read_shapes`); a function of the seed."""

    name = "shapes"

    def load(self) -> InputSet:
        return read_shapes(self.cfg, self.seed)


# ---------------------------------------------------------------------------------------------
# The render editor


def locate(image: Image.Image, scene: Scene) -> Scene | None:
    """Positions of `scene`'s objects in `image`, found by colour; None when one is missing.

    A pixel belongs to an object when the object's colour is the nearest of the background
    and the scene's colours (distinct within a scene) and lies close to it, so JPEG noise and
    anti-aliased edges do not matter; an object's centre is the centre of its pixels' bounding
    box (corrected for the triangle), in CANVAS pixels.
    """
    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    h, w = arr.shape[:2]
    palette = np.array([BACKGROUND] + [RGB[o.colour] for o in scene.objects], dtype=np.float32)
    dist = ((arr[:, :, None, :] - palette[None, None]) ** 2).sum(-1)
    nearest = dist.argmin(-1)
    # Anti-aliased edges blend a colour with the background: a mid-gray edge of a white
    # object is nearer to blue than to white or black. Only pixels close to a colour (within
    # ~30% of its distance from the background) count, so edges never move a box.
    close = dist <= 0.1 * ((palette - palette[0]) ** 2).sum(-1)[None, None]
    objs = []
    for i, o in enumerate(scene.objects, start=1):
        ys, xs = np.nonzero(_solid((nearest == i) & close[:, :, i]))
        if len(xs) < 4:
            return None
        cx = (xs.min() + xs.max() + 1) / 2 * CANVAS / w
        cy = (ys.min() + ys.max() + 1) / 2 * CANVAS / h
        if o.shape == "triangle":  # drawn from y - r to y + 0.8 r; the thin apex fades out
            cy = (ys.max() + 1) * CANVAS / h - 0.8 * RADIUS[o.size]
        objs.append(replace(o, x=float(cx), y=float(cy)))
    return Scene(tuple(objs), scene.relation)


def _solid(mask: np.ndarray) -> np.ndarray:
    """`mask` without stray pixels: a JPEG ringing pixel by another object's edge can match a
    colour, and one such pixel would stretch that object's box. Keeps pixels with at least 3
    of their 8 neighbours in the mask (every pixel of a drawn object has more)."""
    padded = np.pad(mask, 1).astype(np.int8)
    h, w = mask.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    return mask & (neighbours >= 3)


def apply_negative(original: Scene, negative: Scene, seed: int) -> Scene | None:
    """The original scene changed to make `negative` true, moving as little as possible.

    Objects keep their positions and take the negative's shape, colour and size (objects are
    matched by caption order). If the negative's relation does not hold, the two related
    objects exchange positions (left↔right, above↔below); failing that, the second object
    and the rest are placed anew with `python_rng("shapes-render", seed)`. Returns None if
    no layout fits.
    """
    if len(original.objects) != len(negative.objects):
        return None
    objs = tuple(
        replace(o, shape=n.shape, colour=n.colour, size=n.size)
        for o, n in zip(original.objects, negative.objects, strict=True)
    )
    scene = Scene(objs, negative.relation)
    # No slack: the positions are measured (to about a pixel), and a negative drawn at them
    # is measured again; only a layout that holds exactly keeps holding after both.
    if valid_layout(scene):
        return scene
    a, b, *rest = objs
    swapped = Scene((_clamp(a, b.x, b.y), _clamp(b, a.x, a.y), *rest), scene.relation)
    if valid_layout(swapped):
        return swapped
    rng = python_rng("shapes-render", seed)
    return place(scene, rng, keep=1) or place(scene, rng, keep=0)


def _clamp(obj: Obj, x: float, y: float) -> Obj:
    # A big object moved to a small one's place may stick out of the canvas: push it back in.
    r = RADIUS[obj.size]
    lo, hi = r + 1, CANVAS - 1 - r
    return replace(obj, x=min(max(x, lo), hi), y=min(max(y, lo), hi))


@EDITORS.register("render")
class RenderEditor:
    """Editor "render": the exact image of a negative caption of the shapes world (no model).

    `can_edit` accepts a negative whose text parses with the world's grammar into drawable
    objects; `edit` recovers the original scene (caption + positions from the image), applies
    the negative (`apply_negative`) and renders it at the request image's size. A request that
    does not fit (caption not of this world, an object not found, no layout) gets reason
    "unsupported". With `held_out` (the default) it never draws a held-out (colour, shape)
    pair into a training image (one whose caption names none): reason "held_out".
    """

    name = "render"

    def __init__(
        self, batch_size: int = 1, device: str | None = None, held_out: bool = True
    ) -> None:
        del batch_size, device  # accepted so every editor takes the common recipe fields
        self.held_out = held_out

    def can_edit(self, negative: Any) -> bool:
        return drawable(parse_caption(str(getattr(negative, "text", ""))))

    def edit(self, requests: list[EditRequest]) -> list[EditResult]:
        return [self._edit_one(req) for req in requests]

    def _edit_one(self, req: EditRequest) -> EditResult:
        original = parse_caption(req.caption)
        negative = parse_caption(str(req.negative.text))
        if original is None or not drawable(negative) or not drawable(original):
            return EditResult(None, "unsupported")
        if self.held_out and names_held_out(negative) and not names_held_out(original):
            return EditResult(None, "held_out")
        located = locate(req.image, original)
        if located is None:
            return EditResult(None, "unsupported")
        scene = apply_negative(located, negative, req.seed)
        if scene is None:
            return EditResult(None, "unsupported")
        return EditResult(render(scene, req.image.size), None)

    def info(self) -> dict:
        return {
            "editor": self.name,
            "canvas": CANVAS,
            "shapes": list(SHAPES),
            "held_out": self.held_out,
        }


WORDINGS.add("shapes", in_world_wording)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The shapes world's build-side files.")
    parser.add_argument("what", choices=["stats"], help="stats: rewrite the world's statistics")
    parser.add_argument("--out", type=Path, default=STATS)
    args = parser.parse_args(argv)
    print(f"{args.out}: sha256 {write_stats(args.out)}")


if __name__ == "__main__":
    main()
