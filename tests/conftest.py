"""Shared fixtures: the bundled real COCO subset and small datasets built from it."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COCO_MINI = REPO / "data" / "coco-mini"


@pytest.fixture(scope="session")
def coco_mini() -> Path:
    """The 30 bundled COCO photos and their captions (read-only: copy before changing)."""
    return COCO_MINI


def make_coco_subset(src: Path, dst: Path, n_images: int) -> Path:
    """Copy the first `n_images` of coco-mini into `dst`; return the caption file path."""
    data = json.loads((src / "captions.json").read_text())
    images = data["images"][:n_images]
    ids = {i["id"] for i in images}
    (dst / "images").mkdir(parents=True, exist_ok=True)
    for image in images:
        shutil.copy(src / "images" / image["file_name"], dst / "images" / image["file_name"])
    subset = dict(
        data, images=images, annotations=[a for a in data["annotations"] if a["image_id"] in ids]
    )
    path = dst / "captions.json"
    path.write_text(json.dumps(subset))
    return path


def build_command(captions: Path, images: Path, out: Path, *extra: str) -> list[str]:
    """`ahnpl-gen build` of one shard per image, as a subprocess command (for tests that kill,
    interrupt or race real build processes)."""
    args = ["--captions", str(captions), "--images", str(images), "--out", str(out)]
    return [
        sys.executable,
        "-m",
        "ahnpl.pipeline.cli",
        "build",
        *args,
        *extra,
        "--images-per-shard",
        "1",
        "--no-progress",
    ]


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    """A Parquet dataset built by `ahnpl.pipeline.build` from the 30 bundled photos."""
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import load_recipe

    out = tmp_path_factory.mktemp("demo") / "dataset"
    recipe = load_recipe(
        None,
        [
            f"input.captions={COCO_MINI / 'captions.json'}",
            f"input.images={COCO_MINI / 'images'}",
            f"output.out={out}",
            "output.images_per_shard=8",
            "edit.editor=flip",
        ],
    )
    build(recipe, progress=False)
    return out
