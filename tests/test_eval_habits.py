"""ahnpl-eval behaves as users of CLIP_benchmark expect: either folder level for --data-root,
--skip-missing, a --list that says what each benchmark reads, `compare` for several runs, the
authors' SugarCrepe overall, empty files reported, defaults that do not depend on the cwd."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ahnpl.evaluation.benchmarks import get_benchmark
from ahnpl.evaluation.chart import chart_rows, write_chart
from ahnpl.evaluation.cli import app
from ahnpl.evaluation.report import to_markdown
from ahnpl.evaluation.run import evaluate, prepare
from ahnpl.evaluation.sugarcrepe import summarize
from ahnpl.models import create_model

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "data" / "benchmarks"
IMAGES = REPO / "data" / "coco-mini" / "images"


def _run(args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.fixture
def one_split(tmp_path) -> Path:
    """`tmp/bench/sugarcrepe/swap_obj.json` (6 items, photos in coco-mini)."""
    (tmp_path / "bench" / "sugarcrepe").mkdir(parents=True)
    shutil.copy(BENCH / "sugarcrepe" / "swap_obj.json", tmp_path / "bench" / "sugarcrepe")
    return tmp_path / "bench"


def test_data_root_is_the_parent_or_the_benchmark_folder(one_split):
    via_parent = prepare(["sugarcrepe"], one_split, [IMAGES])
    via_folder = prepare(["sugarcrepe"], one_split / "sugarcrepe", [IMAGES])
    items_parent = via_parent.benchmarks["sugarcrepe"][1]
    items_folder = via_folder.benchmarks["sugarcrepe"][1]
    assert len(items_parent) == 6 and list(items_parent) == list(items_folder)
    assert via_folder.benchmarks["sugarcrepe"][3] == []  # every image found


def test_a_folder_at_the_wrong_level_gets_told_which_one(tmp_path):
    inner = tmp_path / "vl_checklist" / "Attribute"
    inner.mkdir(parents=True)
    (inner / "color.json").write_text("[]")
    with pytest.raises(FileNotFoundError, match=f"pass --data-root {tmp_path}"):
        prepare(["vl_checklist"], inner)
    # The split files directly in a folder of another name: where they belong, not "download".
    renamed = tmp_path / "sugar-crepe"
    renamed.mkdir()
    shutil.copy(BENCH / "sugarcrepe" / "swap_obj.json", renamed)
    with pytest.raises(FileNotFoundError, match="belong in a folder named sugarcrepe/"):
        prepare(["sugarcrepe"], renamed)


def test_skip_missing_warns_and_goes_on(one_split, tmp_path):
    out = tmp_path / "r.json"
    args = [
        "--benchmark",
        "sugarcrepe,valse",
        "--data-root",
        str(one_split),
        "--images",
        str(IMAGES),
        "--out",
        str(out),
        "--workers",
        "0",
    ]
    code, output = _run(args)
    assert code == 2 and not out.exists()
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "valse" in errors[0] and "--skip-missing" in errors[0]
    code, output = _run([*args, "--skip-missing"])
    assert code == 0, output
    assert "warning: skipped valse" in output
    results = json.loads(out.read_text())
    assert list(results["benchmarks"]) == ["sugarcrepe"] and "valse" in results["skipped"]
    assert "skipped valse" in out.with_suffix(".md").read_text()
    with Image.open(out.with_suffix(".png")) as chart:  # the bar chart next to the JSON
        assert chart.format == "PNG"


def test_list_describes_each_benchmark_and_its_files():
    code, output = _run(["--list"])
    assert code == 0
    for name in ("sugarcrepe", "shapes", "vl_checklist", "winoground", "retrieval_coco"):
        bench = get_benchmark(name)
        assert bench.description and bench.description in output
        assert all(pattern in output for pattern in bench.files)
    assert "pairs.json" in output and "swap_att.json" in output


def _results(model: str, values: dict[str, float]) -> dict:
    splits = {
        k: {"accuracy": v, "n_items": 10, "n_scored": 10, "n_missing_images": 0}
        for k, v in values.items()
    }
    return {
        "model": {"name": model, "pretrained": "", "parameters": 1, "fingerprint": "ab" * 32},
        "benchmarks": {
            "sugarcrepe": {"task": "choice", "summary": summarize(splits), "splits": splits}
        },
    }


def test_compare_puts_runs_side_by_side(tmp_path):
    a, b = tmp_path / "base.json", tmp_path / "tuned.json"
    a.write_text(json.dumps(_results("base", {"swap_obj": 0.5, "add_att": 0.6})))
    b.write_text(json.dumps(_results("tuned", {"swap_obj": 0.7})))
    code, output = _run(["compare", str(a), str(b), "--out", str(tmp_path / "cmp.md")])
    assert code == 0, output
    rows = {
        line.split("|")[3].strip() + "/" + line.split("|")[2].strip(): line
        for line in output.splitlines()
        if line.startswith("| sugarcrepe")
    }
    assert rows["accuracy/swap_obj"].endswith("| 50.0 | **70.0** |")
    assert rows["accuracy/add_att"].endswith("| **60.0** | — |")  # tuned lacks this split
    assert "| metric | (1) base | (2) tuned |" in output
    assert f"(1) {a}: base" in output and f"(2) {b}: tuned" in output
    assert (tmp_path / "cmp.md").read_text().strip() == output.split("\ntable:")[0].strip()
    code, output = _run(["compare", str(tmp_path / "nope.json")])
    assert code == 2 and output.strip() == f"error: {tmp_path / 'nope.json'}: no such results file"


def test_sugarcrepe_overall_is_item_weighted_as_the_authors_report():
    # Items per split of the published files (RAIVNLab/sugar-crepe data/*.json).
    counts = {
        "replace_obj": 1652,
        "replace_att": 788,
        "replace_rel": 1406,
        "swap_obj": 245,
        "swap_att": 666,
        "add_obj": 2062,
        "add_att": 692,
    }
    # Correct items per split: any counts give Σcorrect / Σitems as the authors' overall.
    correct = {
        "replace_obj": 1502,
        "replace_att": 631,
        "replace_rel": 973,
        "swap_obj": 150,
        "swap_att": 427,
        "add_obj": 1591,
        "add_att": 472,
    }
    splits = {k: {"accuracy": correct[k] / n, "n_scored": n} for k, n in counts.items()}
    summary = summarize(splits)
    assert summary["overall"] == pytest.approx(sum(correct.values()) / sum(counts.values()))
    assert summary["split_mean"] == pytest.approx(sum(m["accuracy"] for m in splits.values()) / 7)
    assert summary["swap"] == pytest.approx((150 / 245 + 427 / 666) / 2)
    # The big splits score high here, as replace_obj and add_obj do in published results.
    assert summary["overall"] - summary["split_mean"] > 0.02
    table = to_markdown(_results("m", {k: m["accuracy"] for k, m in splits.items()}))
    assert "`overall`: item-weighted" in table and "`split_mean`: unweighted" in table


@pytest.mark.parametrize("content", ["", "[]"])
def test_an_empty_file_is_reported_not_dropped(tmp_path, content):
    root = tmp_path / "vl_checklist"
    root.mkdir()
    shutil.copy(BENCH / "vl_checklist" / "attribute_vg_state.json", root)
    (root / "relation_vg_action.json").write_text(content)
    results = evaluate(create_model("ahnpl-tiny"), ["vl_checklist"], tmp_path, workers=0)
    bench = results["benchmarks"]["vl_checklist"]
    assert bench["splits"]["relation/vg/action"]["n_items"] == 0
    assert bench["empty_files"] == {"relation/vg/action": str(root / "relation_vg_action.json")}
    assert bench["splits"]["attribute/vg/state"]["n_items"] == 40
    assert "relation/vg/action`: its file is empty" in to_markdown(results)
    assert ("vl_checklist · relation/vg/action", None, False) in chart_rows(results)


def test_defaults_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = _run(
        [
            "--benchmark",
            "sugarcrepe",
            "--data-root",
            str(tmp_path),
            "--out",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 2
    assert "sugarcrepe: no split file" in output and "--images" not in output
    code, output = _run(["--benchmark", "sugarcrepe", "--out", "r.json", "--workers", "0"])
    assert code == 0, output  # the bundled benchmark and its photos, found from the package
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["benchmarks"]["sugarcrepe"]["n_missing_images"] == 0


def test_bar_chart_next_to_the_json(one_split, tmp_path):
    results = evaluate(create_model("ahnpl-tiny"), ["sugarcrepe"], one_split, [IMAGES], workers=0)
    path = write_chart(results, tmp_path / "r.png")
    rows = chart_rows(results)
    assert [label for label, _, _ in rows][:2] == ["sugarcrepe · swap", "sugarcrepe · split_mean"]
    with Image.open(path) as image:
        assert image.format == "PNG" and image.height > 28 * len(rows)
