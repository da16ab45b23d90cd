"""The shapes benchmark: SugarCrepe-style caption pairs on the shapes world's test scenes.

The world is `ahnpl.pipeline.shapes_world` (this module imports neither the build nor its
editor). Two kinds of test scene, both new images (their own seed streams):

- held-out scenes (`sample_scene(seed, "test", i)`): the two related objects are (colour,
  shape) combinations that never occur in training, from one held-out block, so replacing a
  colour or a shape asks for composition, not memory;
- seen scenes (`sample_scene(seed, "test_seen", i)`): combinations seen in training whose
  colour swap is made of seen combinations too, so the swap splits measure binding itself
  (as ARO's and SugarCrepe's swap items do), not the systematic generalisation to unseen
  combinations that the `_held_out` splits add.

Protocol (SugarCrepe's): image-to-text, the true caption must score strictly above its one
negative; accuracy per split and their mean ("average"). Splits, one pair per scene:

- `replace_att` (held-out scene): the first held-out object's colour replaced by a colour
  absent from the scene;
- `swap_att` (seen scene): the colours of the two related objects exchanged;
- `replace_obj` (held-out scene): the first held-out object's shape replaced;
- `swap_rel` (seen scene): the relation replaced by its opposite (left↔right, above↔below);
- `swap_att_held_out`, `swap_rel_held_out`: the same two swaps on the held-out scene (both
  sides of `swap_att_held_out` name two held-out pairs).

Files: `<data_root>/shapes/pairs.json` (`{"seed", "count", "items": [{"key", "split",
"image", "caption", "negative"}]}`) and the PNGs under `<data_root>/shapes/images/`, made by
`write_benchmark` or `python -m ahnpl.evaluation.shapes DATA_ROOT [--count N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace
from pathlib import Path

from ahnpl.evaluation.benchmarks import ImageRef, Item, ItemList, register_benchmark
from ahnpl.pipeline.shapes_world import (
    COLOURS,
    HELD_OUT,
    OPPOSITE,
    SHAPES,
    Scene,
    encode_png,
    render,
    sample_scene,
)
from ahnpl.seeding import python_rng

SPLITS = (
    "replace_att",
    "swap_att",
    "replace_obj",
    "swap_rel",
    "swap_att_held_out",
    "swap_rel_held_out",
)
PAIRS_FILE = "pairs.json"


def _swapped(scene: Scene) -> str:
    a, b, *rest = scene.objects
    return Scene(
        (replace(a, colour=b.colour), replace(b, colour=a.colour), *rest), scene.relation
    ).caption()


def _opposite(scene: Scene) -> str:
    return Scene(scene.objects, OPPOSITE[scene.relation]).caption()


def negatives_of(scene: Scene, rng: random.Random) -> dict[str, str]:
    """The negative captions of a held-out test scene (see the module docstring)."""
    a, b, *rest = scene.objects
    novel = 0 if (a.colour, a.shape) in HELD_OUT else 1

    def with_object(i: int, **change) -> str:
        objs = list(scene.objects)
        objs[i] = replace(objs[i], **change)
        return Scene(tuple(objs), scene.relation).caption()

    present = {o.colour for o in scene.objects}
    colour = rng.choice([c for c in COLOURS if c not in present])
    shape = rng.choice([s for s in SHAPES if s != scene.objects[novel].shape])
    return {
        "replace_att": with_object(novel, colour=colour),
        "replace_obj": with_object(novel, shape=shape),
        "swap_att_held_out": _swapped(scene),
        "swap_rel_held_out": _opposite(scene),
    }


def seen_negatives_of(scene: Scene) -> dict[str, str]:
    """The negative captions of a seen test scene: the two swaps."""
    return {"swap_att": _swapped(scene), "swap_rel": _opposite(scene)}


def write_benchmark(data_root: str | Path, count: int = 200, seed: int = 0) -> Path:
    """Render `count` scenes of each kind and their pairs under `data_root/shapes`.

    Returns that folder. The scenes are `sample_scene(seed, "test", i)` and
    `sample_scene(seed, "test_seen", i)` for i < count: a training set built with the same
    world seed never shares a (colour, shape) combination with the former, nor an image with
    either.

    Raises:
        ValueError: `count < 1`.
    """
    if count < 1:
        raise ValueError(f"count={count}: render at least one test scene")
    folder = Path(data_root) / "shapes"
    (folder / "images").mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(count):
        held, seen = sample_scene(seed, "test", i), sample_scene(seed, "test_seen", i)
        kinds = (
            (held, f"test-{i:06d}.png", negatives_of(held, python_rng("shapes-eval", seed, i))),
            (seen, f"seen-{i:06d}.png", seen_negatives_of(seen)),
        )
        for scene, name, negatives in kinds:
            (folder / "images" / name).write_bytes(encode_png(render(scene)))
            for split, negative in negatives.items():
                items.append(
                    {
                        "key": f"{i}-{split}",
                        "split": split,
                        "image": name,
                        "caption": scene.caption(),
                        "negative": negative,
                    }
                )
    doc = {"seed": seed, "count": count, "items": items}
    (folder / PAIRS_FILE).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return folder


def summarize(splits: dict[str, dict]) -> dict[str, float]:
    """The mean accuracy over the splits present ("average")."""
    acc = [m["accuracy"] for m in splits.values() if m.get("accuracy") is not None]
    return {"average": sum(acc) / len(acc)} if acc else {}


@register_benchmark(
    "shapes",
    task="choice",
    summarize=summarize,
    description="shapes world test scenes: binding, relations, held-out pairs (docs/shapes.md)",
    files=(PAIRS_FILE, "images/*.png"),
)
def load(data_root: Path) -> ItemList:
    """Items of `data_root/shapes/pairs.json`; images are `shapes/images/<name>`.

    Raises:
        FileNotFoundError: the pairs file is missing (names the command that writes it).
        ValueError: an entry lacks a field.
    """
    path = Path(data_root) / "shapes" / PAIRS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"shapes: {path} does not exist; render the benchmark with "
            f"`python -m ahnpl.evaluation.shapes {data_root}`"
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    items = ItemList(notes={"seed": doc.get("seed"), "scenes": doc.get("count")})
    for n, entry in enumerate(doc.get("items", [])):
        try:
            items.append(
                Item(
                    key=str(entry["key"]),
                    split=entry["split"],
                    images=(ImageRef(entry["image"]),),
                    positives=(entry["caption"],),
                    negatives=(entry["negative"],),
                )
            )
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"{path}: item {n} lacks {err}; expected key, split, image, caption, negative"
            ) from err
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Render the shapes benchmark (test scenes).")
    parser.add_argument("data_root", help="benchmark folder; writes DATA_ROOT/shapes")
    parser.add_argument(
        "--count", type=int, default=200, help="test scenes of each kind (6 pairs per index)"
    )
    parser.add_argument("--seed", type=int, default=0, help="world seed (as the train build)")
    args = parser.parse_args(argv)
    folder = write_benchmark(args.data_root, args.count, args.seed)
    print(f"wrote {args.count * len(SPLITS)} pairs on {2 * args.count} images to {folder}")


if __name__ == "__main__":
    main()
