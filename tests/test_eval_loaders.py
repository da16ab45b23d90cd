"""Benchmark loaders on the real bundled files (data/benchmarks) and on files in the published
formats built from the bundled COCO photos; the registry."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from ahnpl.evaluation.benchmarks import available_benchmarks, get_benchmark
from ahnpl.evaluation.scoring import ImageResolver

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "data" / "benchmarks"
IMAGES = REPO / "data" / "coco-mini" / "images"


def test_sugarcrepe_iterates_the_ids_present():
    items = get_benchmark("sugarcrepe").load(BENCH)
    for split in ("replace_obj", "swap_att", "add_att"):
        raw = json.loads((BENCH / "sugarcrepe" / f"{split}.json").read_text())
        got = [it for it in items if it.split == split]
        assert [it.key for it in got] == list(raw)
        first = raw[got[0].key]
        assert got[0].positives == (first["caption"],)
        assert got[0].negatives == (first["negative_caption"],)
    ids = sorted(int(it.key) for it in items if it.split == "replace_obj")
    assert ids != list(range(ids[0], ids[0] + len(ids)))  # not contiguous: never range(n)
    assert len(items) == 198


def test_valse_keeps_annotator_validated_items_only():
    items = get_benchmark("valse").load(BENCH)
    raw = json.loads((BENCH / "valse" / "plurals.json").read_text())
    kept = [k for k, v in raw.items() if v["mturk"]["caption"] >= 2]
    assert [it.key for it in items if it.split == "plurals"] == kept
    assert items.notes["filtered_by_annotators"]["plurals"] == len(raw) - len(kept)
    assert {it.split for it in items} == {"foil-it", "plurals", "relations"}


def test_coco_2014_names_resolve_to_2017_files(tmp_path):
    (tmp_path / "000000551780.jpg").write_bytes(b"x")
    resolver = ImageResolver([tmp_path])
    assert resolver.resolve("COCO_val2014_000000551780.jpg") == tmp_path / "000000551780.jpg"
    assert resolver.resolve("val2014/COCO_val2014_000000551780.jpg") is not None
    assert resolver.resolve("COCO_val2014_000000000001.jpg") is None


def test_vsr_pairs_true_and_false_captions_of_one_image():
    items = get_benchmark("vsr").load(BENCH)
    rows = [json.loads(line) for line in (BENCH / "vsr").glob("*.jsonl").__next__().open()]
    true_of = {(r["image"], r["caption"]) for r in rows if r["label"] == 1}
    false_of = {(r["image"], r["caption"]) for r in rows if r["label"] == 0}
    assert items, "the bundled file has images with both labels"
    for it in items:
        image = it.images[0].path
        assert (image, it.positives[0]) in true_of
        assert (image, it.negatives[0]) in false_of
    assert items.notes["captions"] == len(rows)


def test_crepe_reads_hard_negatives_and_crop_box():
    items = get_benchmark("crepe").load(BENCH)
    path = next((BENCH / "crepe").glob("*.csv"))
    rows = list(csv.DictReader(path.open()))
    assert len(items) == len(rows)
    first = items[0]
    assert first.images[0].path == f"{rows[0]['image_id']}.jpg"
    assert first.images[0].box == tuple(float(rows[0][k]) for k in ("x", "y", "width", "height"))
    assert len(first.negatives) == 5 and first.positives == (rows[0]["caption"],)
    assert first.split == "swap_complexity_4"


def test_vl_checklist_category_from_file_name_and_folder(tmp_path):
    items = get_benchmark("vl_checklist").load(BENCH)
    raw = json.loads((BENCH / "vl_checklist" / "attribute_vg_state.json").read_text())
    assert len(items) == len(raw)
    assert (items[3].images[0].path, items[3].positives[0], items[3].negatives[0]) == (
        raw[3][0],
        raw[3][1]["POS"][0],
        raw[3][1]["NEG"][0],
    )
    assert {it.split for it in items} == {"attribute/vg/state"}
    assert {it.group for it in items} == {"attribute"}
    # The repository layout: vl_checklist/Relation/vg/spatial.json
    folder = tmp_path / "vl_checklist" / "Relation" / "vg"
    folder.mkdir(parents=True)
    (folder / "spatial.json").write_text(json.dumps(raw[:2]))
    items = get_benchmark("vl_checklist").load(tmp_path)
    assert {it.split for it in items} == {"relation/vg/spatial"}


def test_aro_vg_files_keep_published_fields(tmp_path):
    (tmp_path / "aro").mkdir()
    rel = [
        {
            "image_id": "1",
            "relation_name": "on",
            "bbox_x": 1,
            "bbox_y": 2,
            "bbox_w": 30,
            "bbox_h": 40,
            "true_caption": "the cup is on the table",
            "false_caption": "the table is on the cup",
            "image_path": "000000011813.jpg",
        },
    ]
    att = [
        dict(
            rel[0],
            attributes=["red", "white"],
            true_caption="the red cup",
            false_caption="the white cup",
        )
    ]
    (tmp_path / "aro" / "visual_genome_relation.json").write_text(json.dumps(rel))
    (tmp_path / "aro" / "visual_genome_attribution.json").write_text(json.dumps(att))
    items = get_benchmark("aro").load(tmp_path)
    by_split = {it.split: it for it in items}
    assert by_split["vg_relation"].images[0].box == (1.0, 2.0, 30.0, 40.0)
    assert by_split["vg_relation"].group == "on"
    assert by_split["vg_attribution"].group == "red_white"
    assert set(items.notes["splits_missing"]) == {"coco_order", "flickr30k_order"}


def _karpathy_from_coco_mini(path: Path) -> list[tuple[str, list[str]]]:
    data = json.loads((REPO / "data" / "coco-mini" / "captions.json").read_text())
    caps: dict[int, list[str]] = {}
    for a in data["annotations"]:
        caps.setdefault(a["image_id"], []).append(a["caption"])
    images = [
        {
            "filepath": "",
            "filename": i["file_name"],
            "split": "test" if n < 8 else "train",
            "sentences": [{"raw": c} for c in caps[i["id"]]],
        }
        for n, i in enumerate(data["images"])
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images}))
    return [(i["filename"], [s["raw"] for s in i["sentences"]]) for i in images[:8]]


def test_retrieval_reads_karpathy_and_blip_formats(tmp_path):
    expected = _karpathy_from_coco_mini(tmp_path / "retrieval" / "dataset_coco.json")
    items = get_benchmark("retrieval_coco").load(tmp_path)
    assert [(it.images[0].path, list(it.positives)) for it in items] == expected
    blip = [
        {"image": f"flickr30k-images/{n}.jpg", "caption": caps}
        for n, (_, caps) in enumerate(expected)
    ]
    (tmp_path / "retrieval" / "flickr30k_test.json").write_text(json.dumps(blip))
    items = get_benchmark("retrieval_flickr30k").load(tmp_path)
    assert len(items) == 8 and items[3].images[0].path == "flickr30k-images/3.jpg"


def test_aro_order_perturbations_are_seeded_and_differ_from_the_caption(tmp_path):
    pytest.importorskip("spacy")
    from ahnpl.evaluation.aro import order_items, pre_caption

    pairs = [("a.jpg", ["A man riding a red horse on the beach.", "dog", "two dogs run"])]
    a = order_items(pairs, "coco_order", seed=3)
    b = order_items(pairs, "coco_order", seed=3)
    assert a == b
    for it in a:
        assert it.positives[0] == pre_caption(it.positives[0])
        assert all(neg != it.positives[0] for neg in it.negatives)
    # "dog" has no other order: all four perturbations dropped, the item too, and counted.
    assert [it.key for it in a] == ["a.jpg#0", "a.jpg#2"]
    assert a.notes["perturbations_dropped"] >= 4
    assert len(a[0].negatives) == 4
    # A caption's perturbations depend on its own key, not on the captions loaded before it.
    (alone,) = order_items([("a.jpg", ["", "", "two dogs run"])], "coco_order", seed=3)
    assert alone == a[1]
    assert order_items(pairs, "coco_order", seed=4)[0].negatives != a[0].negatives


def test_winoground_examples(tmp_path):
    (tmp_path / "winoground").mkdir()
    rows = [
        {
            "id": 0,
            "image_0": "ex_0_img_0",
            "image_1": "ex_0_img_1",
            "caption_0": "an old person kisses a young person",
            "caption_1": "a young person kisses an old person",
            "tag": "Noun",
            "secondary_tag": "",
            "num_main_preds": 1,
            "collapsed_tag": "Object",
        }
    ]
    (tmp_path / "winoground" / "examples.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (item,) = get_benchmark("winoground").load(tmp_path)
    assert [r.path for r in item.images] == ["ex_0_img_0.png", "ex_0_img_1.png"]
    assert item.positives == (rows[0]["caption_0"], rows[0]["caption_1"])
    assert item.group == "Object"


def test_missing_benchmark_files_name_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="sugar-crepe"):
        get_benchmark("sugarcrepe").load(tmp_path)
    with pytest.raises(FileNotFoundError, match="examples.jsonl"):
        get_benchmark("winoground").load(tmp_path)


def test_malformed_entry_names_file_and_item(tmp_path):
    (tmp_path / "sugarcrepe").mkdir()
    (tmp_path / "sugarcrepe" / "add_att.json").write_text(json.dumps({"7": {"filename": "x"}}))
    with pytest.raises(ValueError, match=r"add_att.json: item '7' lacks"):
        get_benchmark("sugarcrepe").load(tmp_path)


def test_a_new_benchmark_registers_with_one_decorator(tmp_path, monkeypatch):
    import importlib

    from ahnpl.evaluation.benchmarks import BENCHMARKS

    (tmp_path / "toy_bench_for_test.py").write_text(
        "from ahnpl.evaluation.benchmarks import ImageRef, Item, register_benchmark\n"
        "@register_benchmark('toy_bench_for_test', task='choice')\n"
        "def load(data_root):\n"
        "    return [Item('0', 'all', (ImageRef('a.jpg'),), ('a cat',), ('a dog',))]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # Listed as lazy, the module is imported on first use, not before.
    monkeypatch.setitem(BENCHMARKS._lazy, "toy_bench_for_test", "toy_bench_for_test")
    monkeypatch.delitem(sys.modules, "toy_bench_for_test", raising=False)
    assert "toy_bench_for_test" in available_benchmarks()
    assert "toy_bench_for_test" not in sys.modules
    bench = get_benchmark("toy_bench_for_test")
    assert bench.task == "choice" and bench.load(tmp_path)[0].negatives == ("a dog",)
    importlib.reload(sys.modules["toy_bench_for_test"])  # registering again is no clash
    monkeypatch.delitem(BENCHMARKS._entries, "toy_bench_for_test")
    # No module is guessed from a name: an unknown one lists the known ones and where a user
    # reads what each is (a developer's hint is no help to someone running ahnpl-eval).
    with pytest.raises(KeyError, match=r"--benchmark no_such_benchmark: unknown benchmark; valid"):
        get_benchmark("no_such_benchmark")
    with pytest.raises(ValueError, match="ahnpl-eval --list"):
        get_benchmark("no_such_benchmark")
