"""The shapes world: scenes, captions, the render editor, the build source and the benchmark."""

from __future__ import annotations

from io import BytesIO
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from ahnpl.pipeline.editors import EditRequest
from ahnpl.pipeline.held_out import HeldOut
from ahnpl.pipeline.shapes import LOCATE_SLACK, STATS, RenderEditor, locate, read_shapes
from ahnpl.pipeline.shapes_world import (
    CAPTION_RELATIONS,
    COLOURS,
    HELD_OUT,
    LEXICON,
    Obj,
    Scene,
    held_out_phrases,
    in_world_wording,
    names_held_out,
    parse_caption,
    relation_holds,
    render,
    sample_scene,
)


def _neg(text: str, type_: str = "attribute"):
    return SimpleNamespace(type=type_, text=text, original="", replacement="", start=0, end=0)


def _objects_seen(split: str, n: int) -> set[tuple[str, str]]:
    return {(o.colour, o.shape) for i in range(n) for o in sample_scene(0, split, i).objects}


def test_scenes_are_true_of_their_caption_and_deterministic():
    for i in range(40):
        scene = sample_scene(3, "train", i)
        assert scene == sample_scene(3, "train", i)
        parsed = parse_caption(scene.caption())
        assert parsed is not None and parsed.relation == scene.relation
        assert [(o.shape, o.colour, o.size) for o in parsed.objects] == [
            (o.shape, o.colour, o.size) for o in scene.objects
        ]
        a, b = scene.objects[:2]
        assert relation_holds(a, b, scene.relation)
        assert len({o.colour for o in scene.objects}) == len(scene.objects)
    assert sample_scene(3, "train", 0) != sample_scene(4, "train", 0)


def test_test_split_holds_only_unseen_combinations():
    train, test = _objects_seen("train", 300), _objects_seen("test", 100)
    assert not train & HELD_OUT
    assert test & HELD_OUT == HELD_OUT  # every held-out combination is tested
    for i in range(50):
        a, b = sample_scene(0, "test", i).objects[:2]
        assert (a.colour, a.shape) in HELD_OUT or (b.colour, b.shape) in HELD_OUT
    # every colour and every shape still occurs in training
    assert {c for c, _ in train} == set(COLOURS) >= {c for c, _ in HELD_OUT}
    assert {s for _, s in train} == {s for _, s in HELD_OUT}


def test_swap_att_negatives_name_as_many_held_out_pairs_as_their_caption(tmp_path):
    """The held-out swap test is not biased by the split: a model that prefers the pairs it
    saw in training (every negative made of seen pairs, every caption with an unseen one)
    would score below chance for that reason alone, and one that knows the seen pairs as
    units would score above it without binding anything. Both sides of a swap_att_held_out
    pair name two held-out pairs; swap_rel_held_out changes no pair."""
    import json

    from ahnpl.evaluation.shapes import write_benchmark

    folder = write_benchmark(tmp_path, count=60, seed=0)
    items = json.loads((folder / "pairs.json").read_text())["items"]

    def held(text: str) -> int:
        return sum((o.colour, o.shape) in HELD_OUT for o in parse_caption(text).objects[:2])

    swaps = [p for p in items if p["split"] == "swap_att_held_out"]
    assert len(swaps) == 60
    for p in swaps:
        assert held(p["caption"]) == held(p["negative"]) == 2, p
        assert parse_caption(p["caption"]).objects[:2] != parse_caption(p["negative"]).objects[:2]
    for p in (p for p in items if p["split"] == "swap_rel_held_out"):
        assert held(p["caption"]) == held(p["negative"]) == 2


def test_swap_splits_ask_for_binding_on_seen_pairs_in_new_images(tmp_path):
    """swap_att and swap_rel measure binding itself: both sides name only pairs that training
    shows (so what a model learnt of those pairs helps neither side), on scenes that are not
    training scenes, while the training set still holds no held-out pair."""
    import json

    from ahnpl.evaluation.shapes import write_benchmark

    folder = write_benchmark(tmp_path, count=60, seed=0)
    items = json.loads((folder / "pairs.json").read_text())["items"]
    train = {sample_scene(0, "train", i) for i in range(2000)}
    for split in ("swap_att", "swap_rel"):
        pairs = [p for p in items if p["split"] == split]
        assert len(pairs) == 60 and all(p["image"].startswith("seen-") for p in pairs)
        for p in pairs:
            for text in (p["caption"], p["negative"]):
                assert not names_held_out(parse_caption(text)), p
    seen = [sample_scene(0, "test_seen", i) for i in range(60)]
    assert not train & set(seen)
    assert {(o.colour, o.shape) for s in seen for o in s.objects} <= _objects_seen("train", 300)
    with pytest.raises(ValueError, match="test_seen"):
        sample_scene(0, "validation", 0)


def test_render_draws_each_object_where_the_scene_says():
    scene = sample_scene(0, "train", 5)
    image = render(scene)
    assert image.size == (64, 64) and image.mode == "RGB"
    found = locate(image, parse_caption(scene.caption()))
    assert found is not None
    for want, got in zip(scene.objects, found.objects, strict=True):
        assert abs(want.x - got.x) <= 1.0 and abs(want.y - got.y) <= 1.0


def test_parse_caption_accepts_lexicon_synonyms_and_rejects_other_text():
    scene = parse_caption("an enormous grey circle underneath a tiny red diamond")
    assert scene is not None
    assert [(o.size, o.colour) for o in scene.objects] == [("big", "gray"), ("small", "red")]
    assert scene.relation == "below"
    assert parse_caption("a big red circle in front of a small blue square") is None
    assert parse_caption("a dog on a sofa") is None


@pytest.mark.parametrize(
    "negative, type_",
    [
        ("a small red circle to the right of a big blue square", "relation"),
        ("a small blue circle to the left of a big red square", "attribute_swap"),
        ("a huge red circle to the left of a big blue square", "attribute"),
        ("a small red triangle to the left of a big blue square", "object"),
        ("a small red circle under a big blue square", "relation"),
    ],
)
def test_render_editor_makes_the_negative_true_and_keeps_the_rest(negative, type_):
    caption = "a small red circle to the left of a big blue square"
    original = parse_caption(caption)
    src = Scene(
        tuple(
            o.__class__(o.shape, o.colour, o.size, x, 32.0)
            for o, x in zip(original.objects, (18.0, 44.0))
        ),
        "left",
    )
    image = render(src)
    editor = RenderEditor()
    neg = _neg(negative, type_)
    assert editor.can_edit(neg)
    [result] = editor.edit([EditRequest("000000001", 0, 0, image, caption, neg, seed=0)])
    assert result.reason is None and result.image.size == image.size
    want = parse_caption(negative)
    got = locate(result.image, want)
    assert got is not None, "an object of the negative is missing from the edited image"
    assert relation_holds(got.objects[0], got.objects[1], want.relation, LOCATE_SLACK)
    assert np.abs(np.asarray(result.image, float) - np.asarray(image, float)).mean() > 1.0


def test_render_editor_refuses_what_it_cannot_draw():
    editor = RenderEditor()
    assert not editor.can_edit(_neg("a small black circle to the left of a big blue square"))
    assert not editor.can_edit(_neg("a small red circle behind a big blue square", "relation"))
    image = render(sample_scene(0, "train", 0))
    req = EditRequest("k", 0, 0, image, "a cat on a mat", _neg("a dog on a mat"), seed=0)
    assert editor.edit([req])[0].reason == "unsupported"


def test_read_shapes_items_are_rendered_pngs():
    cfg = SimpleNamespace(count=4, split="test")
    inputs = read_shapes(cfg, seed=1)
    assert [it.offset for it in inputs.items] == [0, 1, 2, 3]
    assert all(it.image.startswith(b"\x89PNG") and len(it.captions) == 1 for it in inputs.items)
    assert read_shapes(SimpleNamespace(count=2, split="test"), seed=1).items[1].captions == (
        inputs.items[1].captions
    )
    assert read_shapes(cfg, seed=1).fingerprint != read_shapes(cfg, seed=2).fingerprint


def test_benchmark_pairs_change_exactly_what_their_split_names(tmp_path):
    from ahnpl.evaluation.benchmarks import get_benchmark
    from ahnpl.evaluation.shapes import SPLITS, write_benchmark

    write_benchmark(tmp_path, count=6, seed=0)
    bench = get_benchmark("shapes")
    items = bench.load(tmp_path)
    assert bench.task == "choice" and len(items) == 6 * len(SPLITS)
    for it in items:
        pos, neg = parse_caption(it.positives[0]), parse_caption(it.negatives[0])
        assert (tmp_path / "shapes" / "images" / it.images[0].path).is_file()
        assert pos is not None and neg is not None and pos != neg
        assert pos.relation == neg.relation and pos.relation in CAPTION_RELATIONS
        if it.split.startswith("swap_rel"):  # "A left of B" → "B left of A": a word order
            assert neg.objects == pos.objects[::-1]
            continue
        diff = {
            field
            for p, n in zip(pos.objects, neg.objects, strict=True)
            for field in ("shape", "colour", "size")
            if getattr(p, field) != getattr(n, field)
        }
        expected = {
            "replace_att": {"colour"},
            "swap_att": {"colour"},
            "replace_obj": {"shape"},
            "swap_att_held_out": {"colour"},
        }[it.split]
        assert diff == expected
    (tmp_path / "shapes" / "pairs.json").unlink()
    with pytest.raises(FileNotFoundError, match="python -m ahnpl.evaluation.shapes"):
        bench.load(tmp_path)


@pytest.mark.slow
def test_build_with_render_editor_then_evaluate(tmp_path):
    """`--source shapes` + `--editor render` build shards whose edits are exact negatives."""
    from ahnpl.evaluation.run import evaluate
    from ahnpl.evaluation.shapes import SPLITS, write_benchmark
    from ahnpl.models import create_model
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import Recipe
    from ahnpl.shards.io import read_shard
    from ahnpl.shards.manifest import load_manifest, shard_urls

    recipe = Recipe.model_validate(
        {
            "input": {"source": "shapes", "count": 6, "split": "train"},
            "edit": {"editor": "render", "edits_per_image": 3},
            "output": {"out": str(tmp_path / "ds")},
        }
    )
    manifest = build(recipe, progress=False).manifest
    assert manifest is not None and manifest.totals.edits > 0
    types = manifest.negative_types
    checked = 0
    for url in shard_urls(str(tmp_path / "ds"), manifest):
        for rec in read_shard(url):
            assert parse_caption(rec.captions[0]) is not None
            original = np.asarray(Image.open(BytesIO(rec.image)).convert("RGB"), float)
            for edit in rec.edits:
                neg = parse_caption(rec.neg_texts[edit.caption][edit.slot])
                assert types[edit.slot] in ("relation", "attribute_swap", "attribute", "object")
                edited = Image.open(BytesIO(edit.image)).convert("RGB")
                assert np.abs(np.asarray(edited, float) - original).mean() > 1.0
                checked += 1
                # Colours outside the world's palette (gray, silver, brown...) look like the
                # anti-aliased edges of palette colours, so `locate` measures palette scenes only.
                if all(o.colour in COLOURS for o in neg.objects):
                    got = locate(edited, neg)
                    assert got is not None
                    assert relation_holds(
                        got.objects[0], got.objects[1], neg.relation, LOCATE_SLACK
                    )
    assert checked == manifest.totals.edits
    assert load_manifest(str(tmp_path / "ds")).totals == manifest.totals

    write_benchmark(tmp_path / "bench", count=3, seed=0)
    model = create_model("ahnpl-tiny")
    res = evaluate(model, ["shapes"], data_root=tmp_path / "bench", workers=0)
    shapes = res["benchmarks"]["shapes"]
    assert shapes["n_scored"] == shapes["n_items"] == 18
    assert 0.0 <= shapes["summary"]["average"] <= 1.0
    assert set(shapes["splits"]) == set(SPLITS) and len(SPLITS) == 6


def test_shapes_recipe_validates():
    from pathlib import Path

    from ahnpl.pipeline.recipe import load_recipe

    recipe = load_recipe(Path(__file__).parents[1] / "manifests" / "shapes-train.yaml")
    assert recipe.input.source == "shapes" and recipe.edit.editor == "render"
    assert RenderEditor().name == recipe.edit.editor


def _held_out_named(text: str) -> bool:
    scene = parse_caption(text)
    return scene is not None and names_held_out(scene)


@pytest.mark.slow
@pytest.mark.parametrize("stats", ["input", "bundled"])
def test_no_training_negative_names_a_held_out_composition(tmp_path, stats):
    """Text and image negatives of a train build never name a test composition (issue 17).

    With the bundled (COCO) statistics, about 40 % of a train build's attribute,
    attribute_swap and object negatives would name one ("a small red square" → "a small red
    circle") and the render editor would draw them: training then teaches that exactly the
    test's compositions are false. The input's own statistics rarely propose an unseen pair;
    the rule holds either way.
    """
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import Recipe
    from ahnpl.shards.io import read_shard
    from ahnpl.shards.manifest import shard_urls

    recipe = Recipe.model_validate(
        {
            "input": {"source": "shapes", "count": 120, "split": "train"},
            "edit": {"editor": "render", "edits_per_image": 4},
            "output": {"out": str(tmp_path / "ds")},
            "negatives": {"stats": stats},
        }
    )
    manifest = build(recipe, progress=False).manifest
    if stats == "bundled":
        assert manifest.totals.held_out_negatives > 0  # the build did drop some
    assert set(held_out_phrases()) <= set(manifest.recipe["negatives"]["held_out"])
    assert manifest.recipe["negatives"]["wording"] == "shapes"
    types = manifest.negative_types
    texts, edited = 0, 0
    relations: dict[str, list[bool]] = {}
    for url in shard_urls(str(tmp_path / "ds"), manifest):
        for rec in read_shard(url):
            said = parse_caption(rec.captions[0]).relation
            relations.setdefault(said, []).append(rec.neg_valid[0][types.index("relation")])
            for row, valid in zip(rec.neg_texts, rec.neg_valid):
                for text, ok in zip(row, valid):
                    if ok:
                        texts += 1
                        assert not _held_out_named(text), text
                        # In the world's words: nothing a true caption never says.
                        assert in_world_wording(rec.captions[0], text) == text, text
            for edit in rec.edits:
                text = rec.neg_texts[edit.caption][edit.slot]
                assert rec.neg_valid[edit.caption][edit.slot] and not _held_out_named(text)
                edited += 1
    assert texts > 250 and edited > 200
    # The world's statistics (declared by the source, unless the recipe picks others) find
    # "below" plausible though no caption says it: vertical scenes get relation negatives too.
    declared = manifest.recipe["negatives"]["stats_file"]
    assert declared == (str(STATS) if stats == "input" else None)
    if stats == "input":
        assert set(relations) == set(CAPTION_RELATIONS)
        assert all(sum(valid) > 0.8 * len(valid) for valid in relations.values()), relations
    # The world's own lexicon makes object negatives (shape nouns) valid.
    assert manifest.totals.valid_negatives["object"] > 0.5 * 120
    assert types.index("object") >= 0


def test_negatives_are_reworded_into_the_world_words_or_dropped():
    caption = "a big red square to the left of a big blue circle"
    assert in_world_wording(caption, "a tiny red square to the left of a tiny blue circle") == (
        "a small red square to the left of a small blue circle"
    )
    # A caption says "to the left of" or "above": the other two relations become a word order.
    assert in_world_wording(caption, "a big red square under a big blue circle") == (
        "a big blue circle above a big red square"
    )
    assert in_world_wording(caption, "a big red square to the right of a big blue circle") == (
        "a big blue circle to the left of a big red square"
    )
    assert in_world_wording(caption, "a big violet square to the left of a big blue circle") == (
        "a big purple square to the left of a big blue circle"
    )
    # Off the palette, out of the grammar, or the same scene: no negative of this world.
    assert in_world_wording(caption, "a big gray square to the left of a big blue circle") is None
    assert in_world_wording(caption, "a big red square behind a big blue circle") is None
    assert in_world_wording(caption, "a huge red square to the left of a big blue circle") is None
    assert in_world_wording(caption, "a big blue circle to the right of a big red square") is None
    # A scene has one size, so no caption mixes them: such a negative is told by its words.
    assert in_world_wording(caption, "a small red square to the left of a big blue circle") is None


def test_render_editor_refuses_to_draw_a_held_out_composition():
    caption = "a small red triangle to the left of a big blue circle"
    src = Scene(
        (Obj("triangle", "red", "small", 20, 32), Obj("circle", "blue", "big", 44, 32)), "left"
    )
    assert src.caption() == caption and not names_held_out(src)
    neg = _neg("a small red circle to the left of a big blue circle")
    req = EditRequest("k", 0, 2, render(src), caption, neg, seed=0)
    assert RenderEditor().edit([req])[0].reason == "held_out"
    assert RenderEditor(held_out=False).edit([req])[0].image is not None
    # A test image (it names a held-out pair itself) may be edited: benchmarks are not trained on.
    test_caption = "a small red circle to the left of a big blue square"
    test_src = Scene(
        (Obj("circle", "red", "small", 20, 32), Obj("square", "blue", "big", 44, 32)), "left"
    )
    neg2 = _neg("a small red circle to the right of a big blue square", "relation")
    req2 = EditRequest("k", 0, 0, render(test_src), test_caption, neg2, seed=0)
    assert RenderEditor().edit([req2])[0].image is not None


def test_held_out_phrases_match_whole_words_and_synonyms():
    held = HeldOut(held_out_phrases())
    assert held.named_in("a big Violet  Circle above a small red square") == "violet circle"
    assert held.named_in("two red circles") == "red circles"
    assert held.named_in("a big red triangle to the left of a small blue circle") is None
    assert held.named_in("a small bred circle") is None
    assert not HeldOut([]) and HeldOut([]).named_in("a red circle") is None
    rows, dropped = held.drop([[_neg("a red circle"), None, _neg("a red triangle")]])
    assert dropped == 1 and rows == [[None, None, rows[0][2]]]


def test_user_lexicon_file_adds_object_nouns_and_bad_files_name_themselves(tmp_path):
    from ahnpl.pipeline.lexicon import LexiconError, load_lexicon

    lex = load_lexicon((str(LEXICON),))
    assert lex.nouns[("circle",)].supercategory == "shape"
    assert ("circle",) not in load_lexicon().nouns
    bad = tmp_path / "bad.json"
    bad.write_text('{"objects": {"shape": [[]]}}')
    with pytest.raises(LexiconError, match="bad.json"):
        load_lexicon((str(bad),))


def _imports(path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports too)."""
    import ast

    tree = ast.parse(path.read_text())
    found = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            found |= {f"{'.' * n.level}{n.module or ''}.{a.name}" for a in n.names}
    return found


def test_world_imports_no_build_and_the_benchmark_no_editor():
    """No import cycles: the world imports only the seeding helper; the benchmark never loads
    the build's editor, source or driver; `tools/import_cycles.py` finds none in this area."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).parents[1]
    world = _imports(root / "pipeline" / "shapes_world.py")
    assert [m for m in world if m.startswith(("ahnpl", "."))] == ["ahnpl.seeding.python_rng"]
    for name in ("inputs.py", "editors.py", "recipe.py"):  # shapes registers itself into them
        assert not [m for m in _imports(root / "pipeline" / name) if "shapes" in m], name
    code = (
        "import sys, ahnpl.evaluation.shapes\n"
        "bad = [m for m in ('ahnpl.pipeline.editors', 'ahnpl.pipeline.shapes',"
        " 'ahnpl.pipeline.inputs', 'ahnpl.pipeline.build') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    found = subprocess.run(
        [sys.executable, str(root / "tools" / "import_cycles.py")], capture_output=True, text=True
    ).stdout
    mine = ("shapes", "held_out", "inputs", "recipe", "editors", "evaluation")
    assert not [line for line in found.splitlines() if any(m in line for m in mine)], found


def test_reword_keeps_the_changed_span_consistent():
    from ahnpl.pipeline import shapes  # noqa: F401  (registers the "shapes" wording)
    from ahnpl.pipeline.held_out import reword
    from ahnpl.pipeline.negatives import Negative

    caption = "a small red square to the left of a small blue circle"
    moved = Negative("relation", "a tiny red square under a tiny blue circle", "", "", 0, 0)
    tiny = caption.replace("small blue", "tiny blue")
    same = Negative("attribute", tiny, "small", "tiny", 38, 43)
    rows, dropped = reword("shapes", [caption], [[moved, same, None]])
    assert dropped == 1 and rows[0][1:] == [None, None]
    got = rows[0][0]
    # "under" is "below", said as a word order: the two objects trade places in the text.
    assert got.text == "a small blue circle above a small red square"
    assert got.text == caption[: got.start] + got.replacement + caption[got.end :]
    assert got.original == caption[got.start : got.end] and got.start == len("a small ")
    assert reword(None, [caption], [[moved]]) == ([[moved]], 0)
    with pytest.raises(ValueError, match="unknown"):
        reword("nope", [caption], [[moved]])
