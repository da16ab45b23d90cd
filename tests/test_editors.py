"""Image hard negatives by editing (DESIGN §5): interface, flip, planning, instructions, and
instruct-pix2pix / img2img run from tiny random-weight pipelines saved and loaded by path."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ahnpl.pipeline.diffusion import working_size
from ahnpl.pipeline.editors import (
    Editor,
    EditRequest,
    EditResult,
    FlipEditor,
    get_editor,
    item_seed,
    plan_edits,
)
from ahnpl.pipeline.instructions import instruction
from ahnpl.testing.diffusion import build_pipeline, make_negative, make_pipeline

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = sorted((ROOT / "data" / "coco-mini" / "images").glob("*.jpg"))
CAPTION = "a red car parked next to a dog"


def _photo(i: int) -> Image.Image:
    with Image.open(PHOTOS[i]) as im:
        return im.convert("RGB")


def _request(i: int, slot: int = 0, seed: int = 0, neg=None) -> EditRequest:
    """The request the build makes for image i, slot `slot`, recipe seed `seed`."""
    neg = neg or make_negative(CAPTION, "attribute", "red", "blue")
    seed = item_seed(f"img{i}", 0, slot, seed)
    return EditRequest(f"img{i}", 0, slot, _photo(i), CAPTION, neg, seed)


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


# -- seeds, registry, planning --------------------------------------------------------------


def test_item_seed_is_stable_across_processes_and_distinct_per_item():
    code = "from ahnpl.pipeline.editors import item_seed;print(item_seed('000000011813', 2, 3, 7))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(h)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for h in (1, 2)
    }
    assert runs == {str(item_seed("000000011813", 2, 3, 7))}
    seeds = {item_seed("k", c, s, r) for c in range(3) for s in range(3) for r in range(3)}
    assert len(seeds) == 27
    assert all(0 <= s < 2**63 for s in seeds)


def test_get_editor_names_the_choices_and_bad_options():
    with pytest.raises(ValueError, match="flip"):
        get_editor("pix2pix-typo")
    with pytest.raises(ValueError, match="stepz"):
        get_editor("img2img", model="some/model", stepz=3)
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        get_editor("instruct-pix2pix", model=str(ROOT / "data"))
    for name in ("none", "flip"):
        assert isinstance(get_editor(name, batch_size=4), Editor)


def test_every_editor_name_has_typed_options_and_a_registered_editor():
    from ahnpl.pipeline.edit_config import EDITOR_NAMES
    from ahnpl.pipeline.editors import EDITORS

    assert sorted(EDITOR_NAMES) == EDITORS.names()
    for name in EDITOR_NAMES:
        assert callable(EDITORS.get(name))


def test_edit_section_is_typed_per_editor_with_one_types_list(tmp_path):
    from ahnpl.config import ConfigError
    from ahnpl.pipeline.edit_config import DiffusionOptions, FlipOptions
    from ahnpl.pipeline.recipe import load_recipe

    pix2pix = ["edit.editor=instruct-pix2pix", "edit.options.model=org/model"]
    recipe = load_recipe(None, pix2pix)
    assert isinstance(recipe.edit.options, DiffusionOptions) and recipe.edit.options.steps == 20
    assert recipe.edit.types == ["attribute", "object", "verb"]  # the editor's default
    assert load_recipe(None, ["edit.editor=flip"]).edit.types == ["relation"]
    assert isinstance(load_recipe(None, ["edit.editor=flip"]).edit.options, FlipOptions)
    # Asking an editor for types it cannot edit is an error, not a build with zero edits.
    with pytest.raises(ConfigError, match="relation, which editor instruct-pix2pix cannot edit"):
        load_recipe(None, [*pix2pix, "edit.types=[relation]"])
    with pytest.raises(ConfigError, match="attribute, which editor flip cannot edit"):
        load_recipe(None, ["edit.editor=flip", "edit.types=[relation, attribute]"])
    # Another editor's option, or the old filter_ prefix, names the valid fields.
    valid = r"edit\.options\.flip\.steps: unknown field; valid fields here: batch_size, device$"
    with pytest.raises(ConfigError, match=valid):
        load_recipe(None, ["edit.editor=flip", "edit.options.steps=3"])
    with pytest.raises(ConfigError, match=r"options\.instruct-pix2pix\.filter_model: unknown"):
        load_recipe(None, [*pix2pix, "edit.options.filter_model=ViT-B-32"])
    # The filter is a section of its own.
    recipe = load_recipe(None, ["edit.editor=flip", "edit.filter.model=ahnpl-tiny"])
    assert recipe.edit.filter.model == "ahnpl-tiny" and recipe.edit.filter.min_img == 0.75
    with pytest.raises(ConfigError, match=r"edit\.filter: .*min_img=0\.9 > max_img=0\.5"):
        load_recipe(None, ["edit.filter={model: m, min_img: 0.9, max_img: 0.5}"])
    # The resolved section reloads to itself (what the manifest keeps).
    import yaml

    from ahnpl.config import dump_config

    (tmp_path / "r.yaml").write_text(dump_config(load_recipe(None, pix2pix)))
    assert load_recipe(tmp_path / "r.yaml") == load_recipe(None, pix2pix)
    assert "editor" not in yaml.safe_load(dump_config(recipe))["edit"]["options"]


def test_flip_mirrors_only_left_right_relation_negatives():
    flip = FlipEditor()
    caption = "a dog to the left of a cat"
    left_right = make_negative(caption, "relation", "left", "right")
    on_under = make_negative("a cat on a table", "relation", "on", "under")
    attribute = make_negative("a red car", "attribute", "red", "blue")
    two_sides = make_negative("a man on the left holds a right glove", "relation", "left", "right")
    assert flip.can_edit(left_right)
    assert not any(flip.can_edit(n) for n in (on_under, attribute, two_sides))

    image = _photo(0)
    ok, refused = flip.edit(
        [
            EditRequest("k", 0, 0, image, caption, left_right, 0),
            EditRequest("k", 0, 1, image, "a cat on a table", on_under, 0),
        ]
    )
    assert ok.reason is None and ok.image.size == image.size
    np.testing.assert_array_equal(_pixels(ok.image), _pixels(image)[:, ::-1])
    assert refused.image is None and refused.reason == "unsupported"


def test_plan_edits_prefers_attribute_and_object_and_keeps_relations_for_flip():
    caption = "a man to the left of a red car"
    rel = make_negative(caption, "relation", "left", "right")
    attr = make_negative(caption, "attribute", "red", "blue")
    obj = make_negative(caption, "object", "car", "truck")
    verb = make_negative("a man riding a horse", "verb", "riding", "feeding")
    negatives = [[rel, None, attr, obj, None], [None, None, None, None, verb]]
    diffusion = get_editor("img2img", model="some/model")

    assert plan_edits(negatives, diffusion, 2, None) == [(0, 2), (0, 3)]
    assert plan_edits(negatives, diffusion, 9, None) == [(0, 2), (0, 3), (1, 4)]
    assert plan_edits(negatives, diffusion, 9, ["object", "relation"]) == [(0, 3)]
    assert plan_edits(negatives, diffusion, 0, None) == []
    assert plan_edits(negatives, get_editor("flip"), 9, None) == [(0, 0)]
    assert plan_edits(negatives, get_editor("none"), 9, None) == []
    # The budget spreads over captions before taking a second type.
    bus = make_negative("a red bus", "attribute", "red", "green")
    two = [[None, None, attr, obj, None], [None, None, bus, None, None]]
    assert plan_edits(two, diffusion, 2, None) == [(0, 2), (1, 2)]


def test_instructions_name_the_exact_change():
    cases = {
        ("a red car on a road", "attribute", "red", "blue"): "make the car blue",
        ("a red and white bus", "attribute", "red", "green"): "make the bus green",
        ("two dogs on a bed", "attribute", "two", "three"): "make it three dogs",
        ("a dog on a sofa", "object", "dog", "cat"): "replace the dog with a cat",
        ("a dog near an apple", "object", "apple", "orange"): "replace the apple with an orange",
        # The article goes by sound, not by letter.
        ("a horse in a field", "object", "horse", "unicorn"): "replace the horse with a unicorn",
        ("a clock on a desk", "object", "clock", "hour glass"): (
            "replace the clock with an hour glass"
        ),
        ("a man holding a kite", "object", "man", "woman"): "turn the man into a woman",
        # The span carries its article when the article changes.
        (
            "an airplane on a runway",
            "object",
            "an airplane",
            "a bus",
        ): "replace the airplane with a bus",
        ("a green soccer field", "attribute", "green", "purple"): "make the soccer field purple",
        # A predicative attribute has no noun after it: the instruction shows the negative.
        ("a harbor full of ships", "attribute", "full", "empty"): (
            "make it show a harbor empty of ships"
        ),
        (
            "a man riding a horse.",
            "verb",
            "riding",
            "feeding",
        ): "make it show a man feeding a horse",
    }
    for (caption, kind, old, new), expected in cases.items():
        assert instruction(make_negative(caption, kind, old, new)) == expected


def test_working_size_rounds_to_the_multiple_and_keeps_the_aspect():
    for w, h in [(640, 480), (480, 640), (500, 333), (640, 427), (7, 3000), (512, 512)]:
        ww, hh = working_size(w, h, 512, 8)
        assert ww % 8 == 0 and hh % 8 == 0
        assert max(ww, hh) == 512
        assert abs(ww / hh - w / h) <= 8 / min(ww, hh) * (w / h) + 1e-9 or min(ww, hh) == 8


# -- diffusion editors on tiny pipelines ----------------------------------------------------


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-sd")
    return {k: build_pipeline(k, root / k) for k in ("instruct-pix2pix", "img2img")}


_LOADED: dict[tuple, object] = {}


def _editor(tiny_models, kind: str, **options):
    """An editor on the tiny pipeline, loaded by path once per (kind, options) per session."""
    config = {**dict(dtype="fp32", device="cpu", resolution=64, steps=2, batch_size=4), **options}
    key = (kind, tuple(sorted(config.items())))
    if key not in _LOADED:
        _LOADED[key] = get_editor(kind, model=str(tiny_models[kind]), **config)
    return _LOADED[key]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["instruct-pix2pix", "img2img"])
def test_diffusion_edit_is_per_item_deterministic_in_any_batch(tiny_models, kind):
    editor = _editor(tiny_models, kind)
    # Photos of different aspects in one call: grouped by working size, order kept.
    requests = [_request(i, slot=i % 3) for i in range(4)]
    batched = editor.edit(requests)
    assert [r.reason for r in batched] == [None] * 4
    assert editor.pipe.vae_scale_factor == 8
    assert [r.image.size for r in batched] == [r.image.size for r in requests]
    assert len({working_size(*r.image.size, 64, 8) for r in requests}) > 1

    again = editor.edit(requests)
    for a, b in zip(batched, again):
        assert a.image.tobytes() == b.image.tobytes()

    alone = editor.edit([requests[2]])[0]
    # Other batch-mates, other position; the last item is the same image with another seed.
    _, reordered, reseeded = editor.edit([requests[3], requests[2], _request(2, slot=2, seed=1)])
    # Same generator seed: equal up to the float rounding of batched kernels.
    for other in (alone, reordered):
        assert np.abs(_pixels(other.image) - _pixels(batched[2].image)).max() <= 2
    # ... while another seed for the same image and prompt gives another image.
    assert np.abs(_pixels(reseeded.image) - _pixels(batched[2].image)).mean() > 1.0


def test_unsupported_types_are_refused_without_running_the_model(tiny_models):
    editor = get_editor("instruct-pix2pix", model=str(tiny_models["instruct-pix2pix"]))
    relation = make_negative("a dog to the left of a cat", "relation", "left", "right")
    assert not editor.can_edit(relation)
    (result,) = editor.edit([_request(0, neg=relation)])
    assert result.image is None and result.reason == "unsupported"
    assert editor._pipe is None  # nothing loaded for a refused request


def test_bf16_unet_runs_with_a_fp32_vae(tiny_models):
    editor = _editor(tiny_models, "instruct-pix2pix", dtype="bf16")
    (result,) = editor.edit([_request(1)])
    assert result.reason is None and result.image.size == _photo(1).size
    assert editor.pipe.unet.dtype == torch.bfloat16
    assert editor.pipe.vae.dtype == torch.float32
    assert editor.info()["dtype"] == "bf16" and editor.info()["vae_dtype"] == "fp32"


@pytest.mark.slow
def test_from_pipeline_matches_the_saved_and_reloaded_pipeline(tiny_models):
    from ahnpl.pipeline.diffusion import DiffusionEditor

    loaded = _editor(tiny_models, "img2img")
    in_memory = DiffusionEditor.from_pipeline(
        "img2img", make_pipeline("img2img"), **{**loaded.config.model_dump(), "model": "mem"}
    )
    requests = [_request(4, slot=1)]
    a, b = loaded.edit(requests)[0], in_memory.edit(requests)[0]
    assert a.image.tobytes() == b.image.tobytes()
    assert in_memory.info()["model"] == "mem"


def test_img2img_runs_turbo_style_without_guidance(tiny_models):
    with pytest.raises(ValueError, match="strength"):
        get_editor("img2img", model=str(tiny_models["img2img"]), steps=2, strength=0.2)
    editor = _editor(tiny_models, "img2img", steps=2, strength=0.5, guidance_scale=0.0)
    (result,) = editor.edit([_request(3)])
    assert result.reason is None and result.image.size == _photo(3).size
    # A different prompt conditions the same noise into a different image.
    other = make_negative(CAPTION, "object", "dog", "giraffe")
    (changed,) = editor.edit([_request(3, neg=other)])
    assert np.abs(_pixels(changed.image) - _pixels(result.image)).max() > 0


def test_non_finite_blank_and_nsfw_results_are_failures_not_images(tiny_models):
    editor = _editor(tiny_models, "img2img")
    requests = [_request(0, slot=0), _request(0, slot=1)]  # one size: one batch
    pipe = editor.pipe

    def flag_first(image, device, dtype):
        return image, [True] + [False] * (image.shape[0] - 1)

    pipe.run_safety_checker = flag_first
    try:
        assert [r.reason for r in editor.edit(requests)] == ["nsfw", None]
    finally:
        del pipe.run_safety_checker

    decoder_out, unet_out = pipe.vae.decoder.conv_out, pipe.unet.conv_out
    saved = decoder_out.weight.data.clone(), unet_out.bias.data.clone()
    try:
        decoder_out.weight.data.zero_()  # a constant image, like a blacked-out one
        assert [r.reason for r in editor.edit(requests)] == ["blank", "blank"]
        decoder_out.weight.data.copy_(saved[0])

        unet_out.bias.data.fill_(float("nan"))
        results = editor.edit(requests)
        assert [(r.image, r.reason) for r in results] == [(None, "non_finite")] * 2
    finally:
        decoder_out.weight.data.copy_(saved[0])
        unet_out.bias.data.copy_(saved[1])


@pytest.mark.slow
def test_build_with_the_tiny_instruct_pix2pix_is_reproducible_and_verifies(
    tiny_models, tmp_path, coco_mini
):
    from conftest import make_coco_subset

    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import load_recipe
    from ahnpl.shards import load_manifest, read_shard, shard_urls, verify

    captions = make_coco_subset(coco_mini, tmp_path, 3)
    options = dict(
        model=str(tiny_models["instruct-pix2pix"]),
        dtype="fp32",
        device="cpu",
        steps=2,
        resolution=64,
    )

    def run(out: Path):
        overrides = [
            f"input.captions={captions}",
            f"input.images={tmp_path / 'images'}",
            f"output.out={out}",
            "edit.editor=instruct-pix2pix",
            "edit.edits_per_image=2",
            f"edit.options={options}",
        ]
        build(load_recipe(None, overrides), progress=False)
        return load_manifest(str(out))

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert [s.sha256 for s in a.shards] == [s.sha256 for s in b.shards]
    assert verify(str(tmp_path / "a")) == []
    assert a.versions["editor"]["model"] == options["model"]
    records = [r for url in shard_urls(str(tmp_path / "a"), a) for r in read_shard(url)]
    edits = [(r, e) for r in records for e in r.edits]
    assert 3 <= len(edits) <= 6  # two per image, where an attribute/object negative exists
    for record, edit in edits:
        assert edit.editor == "instruct-pix2pix"
        assert record.neg_valid[edit.caption][edit.slot]
        with Image.open(io.BytesIO(edit.image)) as im:
            assert im.size == (record.width, record.height)

    # The trainer trains on the result, the edits going through the vision tower as pixel
    # negatives.
    import csv

    from typer.testing import CliRunner

    from ahnpl.trainer.cli import app as train_app

    run_dir = tmp_path / "train"
    result = CliRunner().invoke(
        train_app,
        [
            "--data",
            str(tmp_path / "a"),
            "--out",
            str(run_dir),
            "--model",
            "ahnpl-tiny",
            "--steps",
            "2",
            "--batch-size",
            "6",
            "--image-negatives",
            "pixel",
            "--log-every",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    with open(run_dir / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert any(float(r["loss/mhn_image"]) > 0 for r in rows)


# -- quality filter -------------------------------------------------------------------------


def test_filter_scores_edits_and_applies_thresholds():
    from ahnpl.pipeline.edit_filter import EditFilter, FilteredEditor

    caption = "a dog to the left of a cat"
    neg = make_negative(caption, "relation", "left", "right")
    requests = [EditRequest(f"k{i}", 0, 0, _photo(i), caption, neg, 0) for i in range(2)]
    flip = FlipEditor()

    lenient = EditFilter("ahnpl-tiny", min_dir=-1.0, min_img=-1.0)
    scored = FilteredEditor(flip, lenient).edit(requests)
    assert all(r.reason is None and -1 <= r.score_dir <= 1 for r in scored)
    assert all(r.score_img < 1 - 1e-4 for r in scored)  # a mirror changes the embedding

    lenient.min_dir = 1.0
    strict = FilteredEditor(flip, lenient).edit(requests)
    assert [r.reason for r in strict] == ["filter_dir"] * 2
    assert [r.score_dir for r in strict] == pytest.approx([r.score_dir for r in scored])

    wrapped = get_editor("flip", filter={"model": "ahnpl-tiny", "min_dir": 0.1})
    assert wrapped.name == "flip" and wrapped.info()["filter"]["min_dir"] == 0.1

    # An "edit" that changed nothing has image similarity 1 and fails an upper bound.
    identity = EditFilter("ahnpl-tiny", min_dir=-1.0, min_img=-1.0, max_img=0.999)
    unchanged = [EditResult(r.image.copy(), None) for r in requests]
    out = identity.apply(requests, unchanged)
    assert [r.reason for r in out] == ["filter_img"] * 2
    assert [r.score_img for r in out] == pytest.approx([1.0, 1.0], abs=1e-4)
