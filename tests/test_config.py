"""The shared config loader (ahnpl/config.py): overrides, relative paths, error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from ahnpl.config import ConfigError, PathStr, Section, dump_config, load_config, parse_override


class Inner(Section):
    name: str = "x"
    folder: PathStr | None = None
    folders: list[PathStr] = Field(default_factory=list)
    model: str = "hub/id"


class Outer(Section):
    inner: Inner = Field(default_factory=Inner)
    out: PathStr = "runs/default"
    seed: int = 0


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cfg").mkdir()
    path = tmp_path / "cfg" / "c.yaml"
    path.write_text(text)
    return path


def test_paths_in_the_file_are_relative_to_the_file_in_every_section(tmp_path):
    path = write(tmp_path, "out: ../o\ninner:\n  folder: data\n  folders: [a, /abs, s3://b/c]\n")
    cfg = load_config(Outer, path)
    assert cfg.out == str(tmp_path / "o")
    assert cfg.inner.folder == str(tmp_path / "cfg" / "data")
    assert cfg.inner.folders == [str(tmp_path / "cfg" / "a"), "/abs", "s3://b/c"]
    assert cfg.inner.model == "hub/id"  # not a path field: left alone


def test_command_line_paths_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    path = write(tmp_path, "inner:\n  folder: data\n")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(Outer, path, {"out": "o"}, ["inner.folders=[x]"])
    assert cfg.out == str(tmp_path / "o")
    assert cfg.inner.folders == [str(tmp_path / "x")]
    assert cfg.inner.folder == str(tmp_path / "cfg" / "data")  # from the file: its folder
    assert load_config(Outer, None).out == str(tmp_path / "runs" / "default")  # defaults too


def test_override_grammar():
    assert parse_override("inner.name=abc") == ("inner.name", "abc")
    assert parse_override("seed=3") == ("seed", 3)
    assert parse_override("inner.folders=[a, b]") == ("inner.folders", ["a", "b"])
    assert parse_override("inner.folder=") == ("inner.folder", None)  # like `folder:` in YAML
    assert parse_override('inner.name=""') == ("inner.name", "")
    assert parse_override("inner.name=a=b") == ("inner.name", "a=b")
    cfg = load_config(Outer, None, args=["inner.folder=", 'inner.name=""', "seed=7"])
    assert (cfg.inner.folder, cfg.inner.name, cfg.seed) == (None, "", 7)
    for bad in ("seed", "=3", "inner..name=1", "inner.name=[unclosed"):
        with pytest.raises(ConfigError, match="override"):
            parse_override(bad)


def test_override_through_a_value_names_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"override seed\.x\.y: seed is a value \(0\)"):
        load_config(Outer, None, {"seed": 0}, ["seed.x.y=1"])
    path = write(tmp_path, "inner:\n  name: n\n")
    with pytest.raises(ConfigError, match=r"inner\.name is a value \('n'\), not a section"):
        load_config(Outer, path, args=["inner.name.deep=1"])


def test_errors_name_the_file_the_field_and_the_valid_fields(tmp_path):
    path = write(tmp_path, "inner:\n  nmae: n\n")
    with pytest.raises(ConfigError) as e:
        load_config(Outer, path, kind="recipe")
    message = str(e.value)
    assert message.startswith(f"recipe {path}: inner.nmae: unknown field")
    assert "valid fields here: name, folder, folders, model" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match=r"^recipe override: seed: .*integer"):
        load_config(Outer, None, args=["seed=abc"], kind="recipe")
    # A typo on the command line is blamed on the command line, not on the file given with it.
    (tmp_path / "ok.yaml").write_text("seed: 1\n")
    with pytest.raises(ConfigError, match=r"^recipe override: inner\.nmae: unknown field"):
        load_config(Outer, tmp_path / "ok.yaml", args=["inner.nmae=x"], kind="recipe")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(Outer, tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(Outer, tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("inner: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(Outer, tmp_path / "bad.yaml")


def test_dump_round_trips(tmp_path):
    cfg = load_config(Outer, None, args=["inner.folders=[/a]", "seed=4"])
    (tmp_path / "saved.yaml").write_text(dump_config(cfg))
    assert load_config(Outer, tmp_path / "saved.yaml") == cfg


def test_recipe_and_training_config_share_the_rules(tmp_path, monkeypatch):
    from ahnpl.pipeline.recipe import load_recipe
    from ahnpl.trainer.config import load_config as load_train_config

    path = write(tmp_path, "input:\n  captions: c.json\noutput:\n  out: ../ds\n")
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(path, ["input.images=imgs"])
    assert recipe.output.out == str(tmp_path / "ds")  # the file's folder, not the cwd
    assert recipe.input.captions == str(tmp_path / "cfg" / "c.json")
    assert recipe.input.images == str(tmp_path / "imgs")
    train = tmp_path / "cfg" / "t.yaml"
    train.write_text("data:\n  path: ../ds\nrun:\n  steps: 1\n  out: r\neval:\n  images: [i]\n")
    cfg = load_train_config(train)
    assert cfg.data.path == str(tmp_path / "ds") and cfg.run.out == str(tmp_path / "cfg" / "r")
    assert cfg.eval.images == [str(tmp_path / "cfg" / "i")]
    with pytest.raises(ConfigError, match=r"seed is a value \(0\), not a section"):
        load_recipe(path, ["seed=0", "seed.x=1"])
    with pytest.raises(ConfigError, match=r"^training config override: run\.seed: .*integer"):
        load_train_config(None, {"data.path": "d", "run.steps": 1}, ["run.seed.x=1"])
