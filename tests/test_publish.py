"""`--out hf://datasets/ORG/NAME`: build in a local stage, then one upload through
huggingface_hub. No hub is reachable here, so `HfApi` is replaced by a local stand-in that
selects files with huggingface_hub's own pattern filter, as `upload_folder` does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_coco_subset
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.pipeline.publish import hub_target
from ahnpl.shards import verify

huggingface_hub = pytest.importorskip("huggingface_hub")


class LocalHub:
    """An `HfApi` whose repositories are folders under `root`."""

    def __init__(self, root: Path, fail: Exception | None = None):
        self.root = root
        self.fail = fail
        self.commits: list[dict] = []

    def __call__(self, *args, **kwargs):  # stands in for the HfApi class
        return self

    def create_repo(self, repo_id, repo_type=None, exist_ok=False, **kwargs):
        if self.fail is not None:
            raise self.fail
        assert repo_type == "dataset"
        (self.root / repo_id).mkdir(parents=True, exist_ok=exist_ok)

    def upload_folder(self, folder_path, repo_id, repo_type, ignore_patterns, **kwargs):
        from huggingface_hub.utils import filter_repo_objects

        local = Path(folder_path)
        files = [p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()]
        kept = list(filter_repo_objects(files, ignore_patterns=ignore_patterns))
        for name in kept:
            (self.root / repo_id / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(local / name, self.root / repo_id / name)
        self.commits.append({"repo_id": repo_id, "files": sorted(kept), **kwargs})


def _build(tmp_path, coco_mini, out: str, *extra: str):
    captions = make_coco_subset(coco_mini, tmp_path, 3)
    argv = ["build", "--no-progress", "--captions", str(captions)]
    argv += ["--images", str(tmp_path / "images"), "--out", out, *extra]
    return CliRunner().invoke(app, argv)


def test_hf_out_builds_locally_then_uploads_a_loadable_dataset(tmp_path, coco_mini, monkeypatch):
    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(huggingface_hub, "HfApi", hub)
    stage = tmp_path / "stage"
    result = _build(tmp_path, coco_mini, "hf://datasets/org/name", "--stage", str(stage))
    assert result.exit_code == 0, result.output
    assert "published hf://datasets/org/name" in result.output
    [commit] = hub.commits
    assert commit["repo_id"] == "org/name" and "3 images" in commit["commit_message"]
    assert {"README.md", "manifest.json", "rejects.parquet"} <= set(commit["files"])
    assert all(not f.startswith("_progress/") for f in commit["files"])
    assert (stage / "_progress").is_dir()  # the markers stay with the local build
    published = tmp_path / "hub" / "org" / "name"
    assert verify(str(published)) == []
    datasets = pytest.importorskip("datasets")
    assert len(datasets.load_dataset(str(published), split="train")) == 3


def test_unreachable_hub_is_one_line_and_a_rerun_only_uploads(tmp_path, coco_mini, monkeypatch):
    down = LocalHub(tmp_path / "hub", fail=ConnectionError("Name or service not known"))
    monkeypatch.setattr(huggingface_hub, "HfApi", down)
    stage = tmp_path / "stage"
    result = _build(tmp_path, coco_mini, "hf://datasets/org/name", "--stage", str(stage))
    assert result.exit_code != 0
    assert "run again to retry the upload" in result.output
    assert len(result.output.strip().splitlines()) == 2  # the build summary, then the error
    up = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(huggingface_hub, "HfApi", up)
    result = _build(tmp_path, coco_mini, "hf://datasets/org/name", "--stage", str(stage))
    assert result.exit_code == 0, result.output
    assert "built 0, kept 1 shard(s)" in result.output and len(up.commits) == 1


def test_hub_urls_name_a_dataset_repository():
    target = hub_target("hf://datasets/org/name@v1", stage="/tmp/s")
    assert (target.repo_id, target.revision, target.stage) == ("org/name", "v1", "/tmp/s")
    assert hub_target("out/ds") is None
    with pytest.raises(ValueError, match="hf://datasets/ORG/NAME"):
        hub_target("hf://datasets/name-only")
