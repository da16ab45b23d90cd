"""A built dataset loads with the tools users have (DESIGN §6): the README's "Load a shared
dataset" code runs as written on Parquet and tar builds, with and without image edits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import REPO, make_coco_subset
from PIL import Image

from ahnpl.pipeline.build import build
from ahnpl.pipeline.recipe import load_recipe
from ahnpl.shards import load_manifest

datasets = pytest.importorskip("datasets")


def _readme_blocks() -> dict[str, str]:
    """The python blocks of the README's "Load a shared dataset" section, by first comment."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Load a shared dataset", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return {block.splitlines()[0].lstrip("# ").split()[0]: block for block in blocks}


def _run_block(name: str, folder: Path) -> dict:
    code = _readme_blocks()[name]
    assert 'DIR = "ds"\n' in code
    namespace: dict = {}
    exec(code.replace('DIR = "ds"\n', f"DIR = {str(folder)!r}\n"), namespace)
    return namespace


@pytest.fixture(scope="module")
def built(tmp_path_factory, coco_mini) -> dict[tuple[str, bool], Path]:
    """Parquet and tar builds of 4 photos, without edits and with tiny instruct-pix2pix edits
    (one photo's caption has no negative to edit, so samples with and without edits mix)."""
    from ahnpl.testing.diffusion import build_pipeline

    root = tmp_path_factory.mktemp("loading")
    captions = make_coco_subset(coco_mini, root, 4)
    data = json.loads(captions.read_text())
    first = data["images"][0]["id"]
    for ann in data["annotations"]:
        if ann["image_id"] == first:
            ann["caption"] = "Here."
    captions.write_text(json.dumps(data))
    pix2pix = build_pipeline("instruct-pix2pix", root / "pix2pix")
    options = {
        "model": str(pix2pix),
        "dtype": "fp32",
        "device": "cpu",
        "steps": 2,
        "resolution": 64,
    }
    out = {}
    for fmt in ("parquet", "webdataset"):
        for edits in (False, True):
            folder = root / f"{fmt}-{'edits' if edits else 'plain'}"
            overrides = [
                f"input.captions={captions}",
                f"input.images={root / 'images'}",
                f"output.out={folder}",
                f"output.format={fmt}",
                "output.images_per_shard=2",
            ]
            if edits:
                overrides += ["edit.editor=instruct-pix2pix", f"edit.options={options}"]
            build(load_recipe(None, overrides), progress=False)
            out[fmt, edits] = folder
    return out


def _edit_counts(folder: Path) -> list[int]:
    manifest = load_manifest(str(folder))
    return sorted(e.edits for e in manifest.shards)


@pytest.mark.slow
@pytest.mark.parametrize("edits", [False, True], ids=["plain", "edits"])
def test_readme_parquet_code_loads_one_row_per_image_with_decoded_images(built, edits):
    folder = built["parquet", edits]
    ns = _run_block("Parquet", folder)
    assert ns["table"].num_rows == 4 == len(ns["ds"])
    assert isinstance(ns["image"], Image.Image) and ns["image"].size[0] > 64
    assert ns["ds"].features["image"] == datasets.Image()
    edit_images = [e["image"] for row in ns["ds"] for e in row["edits"]]
    assert len(edit_images) == load_manifest(str(folder)).totals.edits
    if edits:
        assert 0 < len(edit_images) < 4  # one edit per photo that has an editable negative
        assert all(isinstance(im, Image.Image) for im in edit_images)
    assert all(isinstance(n, list) and isinstance(n[0], str) for n in ns["negatives"])


@pytest.mark.slow
@pytest.mark.parametrize("edits", [False, True], ids=["plain", "edits"])
def test_readme_webdataset_code_loads_tars_whose_samples_have_edits_or_not(built, edits):
    folder = built["webdataset", edits]
    manifest = load_manifest(str(folder))
    ns = _run_block("WebDataset", folder)
    assert len(ns["ds"]) == 4 == len(ns["samples"])
    assert isinstance(ns["image"], Image.Image)
    assert ns["meta"]["negative_types"] == manifest.negative_types
    real = [e for row in ns["ds"] for e in row["json"]["edits"] if e["caption"] >= 0]
    assert len(real) == manifest.totals.edits
    if edits:
        assert "edit0.jpg" in ns["ds"].features and 0 < len(real) < 4
        assert all(isinstance(row["edit0.jpg"], Image.Image) for row in ns["ds"])
    # The card makes the folder itself loadable too.
    by_card = datasets.load_dataset(str(folder), split="train")
    assert len(by_card) == 4 and isinstance(by_card[0]["jpg"], Image.Image)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "webdataset"])
@pytest.mark.parametrize("edits", [False, True], ids=["plain", "edits"])
def test_readme_ahnpl_code_reads_both_formats_to_the_same_records(built, fmt, edits):
    ns = _run_block("Either", built[fmt, edits])
    other = _run_block("Either", built["webdataset" if fmt == "parquet" else "parquet", edits])
    assert len(ns["records"]) == 4
    assert ns["records"] == other["records"]
    assert len(ns["edits"]) == ns["manifest"].totals.edits
    assert (len(ns["edits"]) > 0) == edits


@pytest.mark.slow
def test_card_and_shards_name_the_slots(built):
    folder = built["parquet", True]
    manifest = load_manifest(str(folder))
    card = (folder / "README.md").read_text(encoding="utf-8")
    header = card.split("---\n")[1]
    import yaml

    meta = yaml.safe_load(header)
    assert meta["configs"][0]["data_files"][0]["path"] == "data/shard-*.parquet"
    features = datasets.Features._from_yaml_list(meta["dataset_info"]["features"])
    assert features["image"] == datasets.Image()
    edit = features["edits"]
    edit = edit[0] if isinstance(edit, list) else edit.feature  # datasets < 4 / >= 4
    assert edit["image"] == datasets.Image()
    for name in manifest.negative_types:
        assert f"`{name}`" in card
    assert "## Licence" in card and "## Recipe" in card
    assert f"| images stored | {manifest.totals.images} |" in card
    shard = folder / manifest.shards[0].name
    stored = json.loads(pq.read_schema(shard).metadata[b"ahnpl"])
    assert stored["negative_types"] == manifest.negative_types


def test_a_shard_whose_images_were_all_rejected_does_not_break_the_loaders(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 4)
    for image in json.loads(captions.read_text())["images"][2:]:
        (tmp_path / "images" / image["file_name"]).unlink()  # shard 1: every image missing
    out = tmp_path / "out"
    overrides = [
        f"input.captions={captions}",
        f"input.images={tmp_path / 'images'}",
        f"output.out={out}",
        "output.images_per_shard=2",
    ]
    build(load_recipe(None, overrides), progress=False)
    assert [s.rows for s in load_manifest(str(out)).shards] == [2]  # no file for shard 1
    ns = _run_block("Parquet", out)
    assert ns["table"].num_rows == 2 == len(ns["ds"])
