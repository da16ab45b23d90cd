"""Mistakes a user makes get one error line that names the field or option and the fix."""

from __future__ import annotations

from conftest import COCO_MINI
from typer.testing import CliRunner

from ahnpl.evaluation.cli import app as eval_app
from ahnpl.pipeline.cli import app as gen_app
from ahnpl.trainer.cli import app as train_app

CAPTIONS = str(COCO_MINI / "captions.json")


def _run(app, args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_recipe_typo_lists_the_valid_fields(tmp_path):
    code, out = _run(gen_app, ["build", "--captions", CAPTIONS, "--out", str(tmp_path),
                               "output.formatt=parquet"])  # fmt: skip
    assert code == 2
    assert "output.formatt: unknown field" in out and "format" in out
    assert "errors.pydantic.dev" not in out


def test_bad_value_and_missing_caption_file_name_the_option(tmp_path):
    code, out = _run(gen_app, ["build", "--captions", CAPTIONS, "--out", str(tmp_path),
                               "--format", "parqet"])  # fmt: skip
    assert code == 2 and "output.format" in out and "'parquet' or 'webdataset'" in out
    code, out = _run(gen_app, ["build", "--captions", str(tmp_path / "nope.json"),
                               "--out", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--captions" in out and "no such file" in out


def test_train_checks_data_and_config_before_building_a_model(tmp_path):
    code, out = _run(train_app, ["--data", str(tmp_path / "nope"), "--out", str(tmp_path),
                                 "--steps", "1"])  # fmt: skip
    assert code == 2 and "no manifest" in out
    code, out = _run(train_app, ["--data", str(tmp_path), "--steps", "1", "optim.lr_=0.1"])
    assert code == 2 and "optim.lr_: unknown field" in out and "lr" in out


def test_eval_refuses_a_missing_image_folder(tmp_path):
    code, out = _run(eval_app, ["--images", str(tmp_path / "nope"), "--out",
                                str(tmp_path / "r.json")])  # fmt: skip
    assert code == 2 and "--images" in out and "no such folder" in out
