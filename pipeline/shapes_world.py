"""The shapes world: scenes, their renderer and their grammar (no build, no editor).

No pretrained CLIP loads on a CPU-only machine, so the effect of the AHNPL losses cannot be
shown on the public benchmarks there. In this world every caption is true of its image and
every negative caption can be rendered exactly, so a small CLIP trained from scratch shows,
in minutes, whether a loss teaches attribute binding and relations (docs/shapes.md).

A scene holds 2 objects (the grammar also reads a third) on a black 64×64 canvas; each
object has a shape (the noun), a colour, a size (small | big, the same for every object of a
scene) and a position. The caption names every object, in order, and the
relation of the first to the second, "to the left of" or "above" (the right-hand or lower
object comes second, so a relation is a word order):

    "a small red circle to the left of a small blue square"
    "a big green triangle above a big yellow diamond"

Objects of one scene have distinct colours (so an attribute swap always changes the image).
The test split holds (colour, shape) combinations that never occur in training
(`HELD_OUT`): both related objects of a test scene are such pairs; no training scene has
any, and no training negative may name one (`held_out_phrases`, `names_held_out`). The
"test_seen" split holds new scenes of pairs seen in training.

This module depends on PIL and numpy only: the build side (`ahnpl.pipeline.shapes`: the
`shapes` input source and the `render` editor) and the benchmark (`ahnpl.evaluation.shapes`)
both import it, never each other. Everything is a deterministic function of (seed, split,
index).
"""

from __future__ import annotations

import io
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw

from ahnpl.seeding import python_rng

CANVAS = 64  # pixels; the size `ahnpl-tiny` and the bundled shapes config train at
SUPERSAMPLE = 4  # drawn at 4× and downsampled, for anti-aliased edges
BACKGROUND = (0, 0, 0)

SHAPES = ("circle", "square", "triangle", "diamond")
# The world's palette (what scenes are made of) ...
# Eight colours, so the captions of one batch almost never share their words: plain CLIP can
# then tell them apart by their bag of words alone, and only hard negatives ask for binding.
COLOURS = ("red", "green", "blue", "yellow", "purple", "white", "orange", "pink")
# ... and what the renderer can draw: every colour the negatives' lexicon may propose except
# black, the background (a black object would be invisible, so such negatives are refused).
RGB = {
    "red": (220, 30, 30),
    "green": (30, 180, 50),
    "blue": (40, 80, 235),
    "yellow": (240, 220, 30),
    "purple": (150, 50, 210),
    "white": (245, 245, 245),
    "orange": (250, 140, 0),
    "pink": (250, 130, 200),
    "brown": (130, 75, 30),
    "gray": (128, 128, 128),
    "silver": (190, 190, 200),
    "gold": (212, 175, 55),
    "beige": (225, 200, 160),
}
COLOUR_SYNONYMS = {"grey": "gray", "violet": "purple", "golden": "gold", "tan": "beige"}
SIZES = ("small", "big")
RADIUS = {"small": 6, "big": 11}  # half the bounding-box side, pixels at CANVAS
# The size poles of the negatives' lexicon (attribute replacement draws any pole synonym).
SIZE_WORDS = {
    **dict.fromkeys(("big", "large", "huge", "giant", "enormous", "massive", "oversized"), "big"),
    **dict.fromkeys(("small", "little", "tiny", "miniature"), "small"),
}
RELATIONS = ("left", "right", "above", "below")
RELATION_TEXT = {
    "left": "to the left of",
    "right": "to the right of",
    "above": "above",
    "below": "below",
}
OPPOSITE = {"left": "right", "right": "left", "above": "below", "below": "above"}
# The relations a caption says. "a red circle to the right of a blue square" is said "a blue
# square to the left of a red circle": with one word per axis a relation is a word order (as
# in ARO's VG-Relation and SugarCrepe's swap_obj), and a text encoder does not first have to
# learn that "A right of B" means "B left of A" (measured: a NegCLIP probe learns relations
# with canonical captions and does not with all four words; docs/shapes.md).
CAPTION_RELATIONS = ("left", "above")
# Phrases the negatives' lexicon may put in a relation slot, mapped onto the world's four.
# "on"/"under" read as above/below on a flat picture; front/behind/inside/near have no
# meaning here and make a caption unparseable (so the editor refuses them).
RELATION_PHRASES = {
    "to the left of": "left",
    "on the left of": "left",
    "left of": "left",
    "to the right of": "right",
    "on the right of": "right",
    "right of": "right",
    "above": "above",
    "over": "above",
    "on top of": "above",
    "atop": "above",
    "on": "above",
    "below": "below",
    "under": "below",
    "underneath": "below",
    "beneath": "below",
}
# (colour, shape) pairs seen only in the test split: two blocks of 2 colours x 2 shapes. Each
# colour and each shape still occurs in training (with the other shapes and colours), and a
# test scene's two related objects come from one block with different colours and shapes,
# so their colour swap (the benchmark's `swap_att` negative) is made of held-out pairs too:
# no side of a test pair can be told by a pair seen in training (`sample_scene`).
HELD_OUT_BLOCKS = (
    (("red", "purple"), ("circle", "square")),
    (("blue", "orange"), ("triangle", "diamond")),
)
HELD_OUT = frozenset((c, s) for cs, ss in HELD_OUT_BLOCKS for c in cs for s in ss)
# The world's shape nouns as a user lexicon file, so the `object` negative type is valid here.
LEXICON = Path(__file__).with_name("shapes-lexicon.json")

# Two objects per scene (the grammar reads a third): few enough distinct captions that a
# training set holds most of them several times, so a negative's text is mostly also some
# scene's true caption, and no text encoder can learn that a string is a negative by itself.
OBJECTS = 2
MIN_GAP = 20  # pixels between centres along the relation's axis
MAX_OFF_AXIS = 5  # pixels across it, so "left of" is never also "above"
SEPARATION = 3  # pixels between object boxes


@dataclass(frozen=True)
class Obj:
    """One object: `x`, `y` are the centre in pixels of a CANVAS-sized image."""

    shape: str
    colour: str
    size: str
    x: float = 0.0
    y: float = 0.0

    def phrase(self) -> str:
        article = "an" if self.size[0] in "aeiou" else "a"
        return f"{article} {self.size} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """`relation` holds between objects 0 and 1. Sampled scenes are canonical (objects in
    caption order); a parsed negative may say "right of" or "below" until it is reworded."""

    objects: tuple[Obj, ...]
    relation: str

    def canonical(self) -> Scene:
        """The same scene with its relation in `CAPTION_RELATIONS` (the two objects reordered)."""
        if self.relation in CAPTION_RELATIONS:
            return self
        a, b, *rest = self.objects
        return Scene((b, a, *rest), OPPOSITE[self.relation])

    def caption(self) -> str:
        """The caption in the world's words; the relation is one of `CAPTION_RELATIONS`."""
        scene = self.canonical()
        a, b, *rest = scene.objects
        text = f"{a.phrase()} {RELATION_TEXT[scene.relation]} {b.phrase()}"
        for extra in rest:
            text += f", and {extra.phrase()}"
        return text


def held_out_phrases() -> list[str]:
    """Every way a caption of this world can name a `HELD_OUT` pair: "<colour word> <shape>".

    Colour synonyms the grammar reads as the same colour count ("violet circle" is a purple
    circle); in the world's captions the colour always comes right before the shape noun.
    """
    words = {c: [c] + sorted(w for w, s in COLOUR_SYNONYMS.items() if s == c) for c in RGB}
    return sorted(f"{w} {shape}" for colour, shape in HELD_OUT for w in words[colour])


def both_wordings(scene: Scene) -> list[str]:
    """The scene's caption and the same scene said with the inverse relation ("a blue square
    to the right of a red circle"): the corpus the world's statistics are made of, so the
    negative rules find every relation's inverse plausible (a caption never says it; the
    wording then turns it into a word order)."""
    a, b, *rest = scene.objects
    inverse = f"{b.phrase()} {RELATION_TEXT[OPPOSITE[scene.relation]]} {a.phrase()}"
    return [scene.caption(), inverse + "".join(f", and {o.phrase()}" for o in rest)]


def names_held_out(scene: Scene) -> bool:
    """Whether an object of `scene` is a held-out (colour, shape) pair."""
    return any((o.colour, o.shape) in HELD_OUT for o in scene.objects)


# ---------------------------------------------------------------------------------------------
# Geometry and rendering


def relation_holds(a: Obj, b: Obj, relation: str, slack: float = 0.0) -> bool:
    """Whether `a <relation> b` holds unambiguously (image y grows downwards).

    `slack` (pixels) loosens both limits, for positions measured from an image (`locate` is
    exact to about a pixel).
    """
    dx, dy = b.x - a.x, b.y - a.y
    if relation in ("left", "right"):
        along = dx if relation == "left" else -dx
        return along >= MIN_GAP - slack and abs(dy) <= MAX_OFF_AXIS + slack
    along = dy if relation == "above" else -dy
    return along >= MIN_GAP - slack and abs(dx) <= MAX_OFF_AXIS + slack


def _fits(obj: Obj) -> bool:
    r = RADIUS[obj.size]
    return r + 1 <= obj.x <= CANVAS - 1 - r and r + 1 <= obj.y <= CANVAS - 1 - r


def _apart(a: Obj, b: Obj) -> bool:
    gap = RADIUS[a.size] + RADIUS[b.size] + SEPARATION
    return abs(a.x - b.x) >= gap or abs(a.y - b.y) >= gap


def valid_layout(scene: Scene, slack: float = 0.0) -> bool:
    objs = scene.objects
    return (
        all(_fits(o) for o in objs)
        and all(_apart(a, b) for i, a in enumerate(objs) for b in objs[i + 1 :])
        and relation_holds(objs[0], objs[1], scene.relation, slack)
    )


def place(scene: Scene, rng: random.Random, keep: int = 0, tries: int = 500) -> Scene | None:
    """Positions for the objects from index `keep` on, satisfying the layout rules.

    Objects before `keep` stay where they are. Returns None when no layout was found in
    `tries` attempts (possible only for crowded scenes of big objects).
    """
    objs = list(scene.objects)
    for _ in range(tries):
        for i in range(keep, len(objs)):
            r = RADIUS[objs[i].size]
            if i == 1:  # the second object is placed along the relation's axis from the first
                a, sign = objs[0], (1 if scene.relation in ("left", "above") else -1)
                along = sign * rng.uniform(MIN_GAP, CANVAS)
                off = rng.uniform(-MAX_OFF_AXIS, MAX_OFF_AXIS)
                dx, dy = (along, off) if scene.relation in ("left", "right") else (off, along)
                objs[i] = replace(objs[i], x=a.x + dx, y=a.y + dy)
            else:
                objs[i] = replace(
                    objs[i],
                    x=rng.uniform(r + 1, CANVAS - 1 - r),
                    y=rng.uniform(r + 1, CANVAS - 1 - r),
                )
        candidate = Scene(tuple(objs), scene.relation)
        if valid_layout(candidate):
            return candidate
    return None


def render(scene: Scene, size: tuple[int, int] = (CANVAS, CANVAS)) -> Image.Image:
    """The scene as an RGB image of `size` (width, height) pixels.

    Raises:
        ValueError: an object's colour cannot be drawn (not in `RGB`).
    """
    s = SUPERSAMPLE * CANVAS
    canvas = Image.new("RGB", (s, s), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    k = SUPERSAMPLE
    for o in scene.objects:
        if o.colour not in RGB:
            raise ValueError(f"colour {o.colour!r} cannot be drawn; drawable: {sorted(RGB)}")
        fill, r, x, y = RGB[o.colour], RADIUS[o.size] * k, o.x * k, o.y * k
        if o.shape == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        elif o.shape == "square":
            q = r * 0.85  # same visual weight as the circle
            draw.rectangle((x - q, y - q, x + q, y + q), fill=fill)
        elif o.shape == "triangle":
            draw.polygon([(x, y - r), (x + r, y + r * 0.8), (x - r, y + r * 0.8)], fill=fill)
        elif o.shape == "diamond":
            draw.polygon([(x, y - r), (x + r, y), (x, y + r), (x - r, y)], fill=fill)
        else:
            raise ValueError(f"shape {o.shape!r} is not one of {SHAPES}")
    return canvas.resize(size, Image.Resampling.BOX)


def encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Sampling scenes


SPLITS = ("train", "test", "test_seen")


def _combos(split: str) -> list[tuple[str, str]]:
    everything = [(c, s) for c in COLOURS for s in SHAPES]
    return everything if split == "test" else [p for p in everything if p not in HELD_OUT]


def _swap_is_seen(picks: list[tuple[str, str]]) -> bool:
    (c1, s1), (c2, s2) = picks[:2]
    return (c2, s1) not in HELD_OUT and (c1, s2) not in HELD_OUT


def _pick_objects(split: str, rng: random.Random) -> list[tuple[str, str]]:
    """(colour, shape) of each object, distinct colours (see `sample_scene`)."""
    while True:
        picks: list[tuple[str, str]] = []
        if split == "test":
            colours, shapes = HELD_OUT_BLOCKS[rng.randrange(len(HELD_OUT_BLOCKS))]
            c1, c2 = rng.sample(colours, 2)
            s1, s2 = rng.sample(shapes, 2)
            picks += [(c1, s1), (c2, s2)]
        while len(picks) < OBJECTS:
            c, s = rng.choice(_combos(split))
            if c not in {p[0] for p in picks}:
                picks.append((c, s))
        if split != "test_seen" or _swap_is_seen(picks):
            return picks


def sample_scene(seed: int, split: str, index: int) -> Scene:
    """Scene `index` of `split` (`SPLITS`), a function of (seed, split, index).

    - "train": only combinations outside `HELD_OUT`.
    - "test": the two related objects are held-out pairs of one block (`HELD_OUT_BLOCKS`)
      with different colours and shapes, so the colour-swapped caption names two held-out
      pairs as the true caption does: what a model learnt about the pairs it saw in training
      helps neither side (a test of binding on compositions never seen).
    - "test_seen": new scenes (their own seed stream, so new positions) of pairs seen in
      training whose colour swap is made of seen pairs too: neither side of the swap names a
      held-out pair (a test of binding on known compositions, as ARO and SugarCrepe's swap
      items are).

    Raises:
        ValueError: unknown split.
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: expected one of {SPLITS}")
    rng = python_rng("shapes", seed, split, index)
    while True:
        picks = _pick_objects(split, rng)
        # One size per scene: the attribute_swap rule then trades colours (two equal size words
        # never trade places), the binding the benchmark's swap_att tests.
        size = rng.choice(SIZES)
        objs = [Obj(s, c, size) for c, s in picks]
        scene = Scene(tuple(objs), rng.choice(RELATIONS))
        # The first object anywhere; `place` puts the second along the relation's axis.
        r = RADIUS[objs[0].size]
        first = replace(
            objs[0], x=rng.uniform(r + 1, CANVAS - 1 - r), y=rng.uniform(r + 1, CANVAS - 1 - r)
        )
        placed = place(Scene((first, *objs[1:]), scene.relation), rng, keep=1, tries=50)
        if placed is not None:
            # Laid out with all four relations (either object may be the one placed first),
            # named in caption order.
            return placed.canonical()


# ---------------------------------------------------------------------------------------------
# The world's grammar: caption → objects and relation (no positions)

_SHAPE_RE = "|".join(SHAPES)
_COLOUR_RE = "|".join(sorted([*RGB, *COLOUR_SYNONYMS, "black"], key=len, reverse=True))
_SIZE_RE = "|".join(sorted(SIZE_WORDS, key=len, reverse=True))
_OBJ = rf"(?:an?|the)\s+(?:({_SIZE_RE})\s+)?(?:({_COLOUR_RE})\s+)?({_SHAPE_RE})"
_REL = "|".join(sorted(map(re.escape, RELATION_PHRASES), key=len, reverse=True))
_CAPTION = re.compile(
    rf"^\s*{_OBJ}\s+({_REL})\s+{_OBJ}(?:\s*,?\s*and\s+{_OBJ})?\s*\.?\s*$", re.IGNORECASE
)


def parse_caption(text: str) -> Scene | None:
    """The scene a caption of this world describes (positions 0), or None if it is not one.

    Accepts the synonyms the negatives' lexicon may introduce ("huge" = big, "under" =
    below, "grey" = gray). Objects without a size or colour word are not of this world
    (None). "black" parses, as a colour `render` cannot draw.
    """
    m = _CAPTION.match(text)
    if m is None:
        return None
    g = m.groups()
    relation = RELATION_PHRASES[g[3].lower()]
    objs = []
    for size, colour, shape in (g[0:3], g[4:7], g[7:10]):
        if shape is None:
            continue
        if size is None or colour is None:
            return None
        colour = colour.lower()
        objs.append(
            Obj(shape.lower(), COLOUR_SYNONYMS.get(colour, colour), SIZE_WORDS[size.lower()])
        )
    return Scene(tuple(objs), relation)


def drawable(scene: Scene | None) -> bool:
    return scene is not None and all(o.colour in RGB for o in scene.objects)


def in_world_wording(caption: str, negative: str) -> str | None:
    """`negative` in the world's own words, or None when it is no negative of this world.

    A negative whose words never occur in a true caption ("huge", "pink", "under") can be
    told from a caption by its words alone, so it teaches a text encoder nothing about the
    image (the SugarCrepe lesson). This maps the lexicon's synonyms onto the world's words
    (huge → big, under → below, violet → purple) and drops a negative that does not parse,
    names a colour outside the palette, mixes sizes (every scene has one size, so no caption
    does), or means the same scene as the caption.
    """
    scene, original = parse_caption(negative), parse_caption(caption)
    if scene is None or original is None:
        return None
    if any(o.colour not in COLOURS for o in scene.objects):
        return None
    if len({o.size for o in scene.objects}) > 1:
        return None
    text = scene.caption()
    return None if text == original.caption() else text
