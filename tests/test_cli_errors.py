"""Mistakes a user makes get one error line that names the field or option and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COCO_MINI
from typer.testing import CliRunner

from ahnpl.evaluation.cli import app as eval_app
from ahnpl.pipeline.cli import app as gen_app
from ahnpl.trainer.cli import app as train_app

CAPTIONS = str(COCO_MINI / "captions.json")
IMAGES = str(COCO_MINI / "images")


def _run(app, args):
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def test_recipe_typo_lists_the_valid_fields(tmp_path):
    code, out = _run(
        gen_app, ["build", "--captions", CAPTIONS, "--out", str(tmp_path), "output.formatt=parquet"]
    )
    assert code == 2
    assert "output.formatt: unknown field" in out and "format" in out
    assert "errors.pydantic.dev" not in out


def test_bad_value_and_missing_caption_file_name_the_option(tmp_path):
    code, out = _run(
        gen_app, ["build", "--captions", CAPTIONS, "--out", str(tmp_path), "--format", "parqet"]
    )
    assert code == 2 and "output.format" in out and "'parquet' or 'webdataset'" in out
    code, out = _run(
        gen_app, ["build", "--captions", str(tmp_path / "nope.json"), "--out", str(tmp_path)]
    )
    assert code == 2 and "--captions" in out and "no such file" in out


def test_train_checks_data_and_config_before_building_a_model(tmp_path):
    code, out = _run(
        train_app, ["--data", str(tmp_path / "nope"), "--out", str(tmp_path), "--steps", "1"]
    )
    assert code == 2 and "no manifest" in out
    code, out = _run(train_app, ["--data", str(tmp_path), "--steps", "1", "optim.lr_=0.1"])
    assert code == 2 and "optim.lr_: unknown field" in out and "lr" in out


def test_eval_refuses_a_missing_image_folder(tmp_path):
    code, out = _run(
        eval_app, ["--images", str(tmp_path / "nope"), "--out", str(tmp_path / "r.json")]
    )
    assert code == 2 and "--images" in out and "no such folder" in out


# -- one line, naming the fix, on every command (issue 14 part 4) ---------------------------


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    assert "Traceback" not in output
    return lines[0]


def _offline(command: str, args: list[str], tmp_path) -> tuple[int, str]:
    """Run a console script with the hub switched off and an empty Hugging Face cache."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-empty")}
    script = str(Path(sys.executable).parent / command)
    done = subprocess.run(
        [script, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )
    return done.returncode, done.stdout + done.stderr


def _build_args(tmp_path, extra: str) -> list[str]:
    out = str(tmp_path / "ds")
    return ["build", "--captions", CAPTIONS, "--images", IMAGES, "--out", out, *extra.split()]


@pytest.mark.slow
def test_offline_hub_models_are_one_line_on_every_command(tmp_path, demo_dataset):
    editor = "--editor instruct-pix2pix --editor-model timbrooks/instruct-pix2pix"
    code, out = _offline("ahnpl-gen", _build_args(tmp_path, editor), tmp_path)
    line = _one_error_line(out)
    assert code == 2 and "--editor-model timbrooks/instruct-pix2pix" in line
    assert "local folder" in line and "--editor flip" in line
    quality_filter = "--editor flip --filter-model ViT-B-32 edit.filter.pretrained=openai"
    code, out = _offline("ahnpl-gen", _build_args(tmp_path, quality_filter), tmp_path)
    line = _one_error_line(out)
    assert code == 2 and "edit.filter.pretrained openai" in line
    assert "edit.filter.pretrained=PATH" in line
    openai = "--model ViT-B-32 --pretrained openai".split()
    train = ["--data", str(demo_dataset), "--out", str(tmp_path / "run"), "--steps", "1"]
    code, out = _offline("ahnpl-train", [*train, *openai], tmp_path)
    line = _one_error_line(out)
    assert code == 2 and "--pretrained openai" in line and "--pretrained PATH" in line
    code, out = _offline("ahnpl-eval", [*openai, "--out", str(tmp_path / "r.json")], tmp_path)
    line = _one_error_line(out)
    assert code == 2 and "--pretrained openai" in line and "--pretrained PATH" in line


def test_a_hub_error_raised_while_loading_names_the_model_and_the_fix(tmp_path):
    # What diffusers raises when the hub cannot be reached and the cache is empty, as when the
    # network is down without HF_HUB_OFFLINE (so no early check could catch it).
    import diffusers

    from ahnpl.cli_errors import OFFLINE_FIX_EDITOR, explain

    with pytest.raises(OSError) as info:
        diffusers.AutoencoderKL.from_pretrained(
            "timbrooks/instruct-pix2pix", subfolder="vae", local_files_only=True, cache_dir=tmp_path
        )
    message = explain(info.value, OFFLINE_FIX_EDITOR)
    assert message.startswith("model timbrooks/instruct-pix2pix: not in the local cache")
    assert message.endswith("or use --editor flip") and "\n" not in message
    assert explain(RuntimeError("a bug")) is None  # anything else keeps its traceback


def test_cuda_without_a_gpu_is_one_line_on_every_command(tmp_path, demo_dataset, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, out = _run(gen_app, _build_args(tmp_path, "--editor flip edit.options.device=cuda"))
    line = _one_error_line(out)
    assert code == 2 and "edit.options.device cuda" in line and "edit.options.device=cpu" in line
    train = ["--data", str(demo_dataset), "--out", str(tmp_path / "run"), "--steps", "1"]
    code, out = _run(train_app, [*train, "--device", "cuda"])
    assert code == 2 and "use --device cpu" in _one_error_line(out)
    code, out = _run(eval_app, ["--device", "cuda", "--out", str(tmp_path / "r.json")])
    assert code == 2 and "use --device cpu" in _one_error_line(out)


def test_an_unknown_pretrained_tag_is_one_line_on_every_command(tmp_path, demo_dataset):
    flags = "--editor flip --filter-model ViT-B-32 edit.filter.pretrained=openaii"
    code, out = _run(gen_app, _build_args(tmp_path, flags))
    line = _one_error_line(out)
    assert code == 2 and "edit.filter.pretrained openaii: not a pretrained tag" in line
    train = ["--data", str(demo_dataset), "--out", str(tmp_path / "run"), "--steps", "1"]
    code, out = _run(train_app, [*train, *"--model ViT-B-32 --pretrained openaii".split()])
    line = _one_error_line(out)
    assert code == 2 and "--pretrained openaii: not a pretrained tag of ViT-B-32" in line
    assert "openai" in line and "local checkpoint file" in line
    code, out = _run(eval_app, ["--model", "ViT-B-32", "--pretrained", "openaii"])
    assert code == 2 and "not a pretrained tag of ViT-B-32" in _one_error_line(out)


def test_train_on_a_copy_that_lost_a_shard_is_one_line_and_leaves_no_run(tmp_path, demo_dataset):
    """A copied dataset missing one shard (or with one truncated) stops ahnpl-train before
    the run folder or any loader worker exists: one `error:` line naming the shard, and no
    `config.yaml` left behind that would demand --resume on the next try."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo_dataset, copy)
    shards = sorted((copy / "data").glob("shard-*.parquet"))
    shards[1].unlink()
    run = tmp_path / "run"
    args = ["--data", str(copy), "--out", str(run), "--model", "ahnpl-tiny", "--steps", "1"]
    code, out = _run(train_app, [*args, "--workers", "1"])
    line = _one_error_line(out)
    assert code == 2 and shards[1].name in line and "missing" in line
    assert not (run / "config.yaml").exists()
    shutil.copy(demo_dataset / "data" / shards[1].name, shards[1])
    with open(shards[0], "ab") as f:
        f.write(b"\0")
    code, out = _run(train_app, [*args, "--workers", "1"])
    line = _one_error_line(out)
    assert code == 2 and shards[0].name in line and "bytes" in line


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_preview_of_a_file_that_is_not_one_is_one_line(tmp_path, kind):
    path = tmp_path / "captions.txt"
    if kind == "folder":
        path.mkdir()
    code, out = _run(gen_app, ["preview", "--file", str(path)])
    assert code == 2 and out.startswith(f"error: --file {path}: ") and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


def test_preview_of_a_file_prints_one_json_line_per_caption(tmp_path):
    import json

    path = tmp_path / "captions.txt"
    path.write_text("a red car to the left of a dog\nA small white dog on a red couch.\n")
    code, out = _run(gen_app, ["preview", "--file", str(path), "--types", "relation,attribute"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["caption"] for r in rows] == path.read_text().splitlines()
    assert rows[0]["negatives"]["relation"] == "a red car to the right of a dog"
