"""`ahnpl-gen build` under faults a user meets: flaky storage, one absurd caption, Unicode
forms, inputs that yield nothing, Ctrl-C (DESIGN §7, §10)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
import unicodedata
from pathlib import Path

import fsspec
import pytest
from conftest import build_command, make_coco_subset
from fsspec.spec import AbstractFileSystem
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.shards import load_manifest, load_rejects, read_shard, shard_urls, verify

runner = CliRunner()


def _build(captions: Path, images: str | Path, out: Path, *extra: str):
    args = ["build", "--captions", str(captions), "--images", str(images), "--out", str(out)]
    return runner.invoke(app, [*args, "--images-per-shard", "2", "--no-progress", *extra])


def _shards(out: Path) -> dict[str, str]:
    return {s.name: s.sha256 for s in load_manifest(str(out)).shards}


def _rejects(out: Path) -> list[dict]:
    return [r.model_dump() for r in load_rejects(str(out))]


def _records(out: Path):
    manifest = load_manifest(str(out))
    return [r for url in shard_urls(str(out), manifest) for r in read_shard(url)]


class FlakyFileSystem(AbstractFileSystem):
    """Local files behind a remote-looking protocol whose every 4th open fails transiently."""

    protocol = "flaky"
    opens = 0
    errors = [
        FileNotFoundError(errno.ENOENT, "not yet visible"),
        TimeoutError("read timed out"),
        OSError(errno.EIO, "Input/output error"),
        ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    ]
    always_fail: set[str] = set()

    def _open(self, path, mode="rb", **kwargs):
        FlakyFileSystem.opens += 1
        if Path(path).name in self.always_fail:
            raise OSError(errno.EIO, "Input/output error")
        if FlakyFileSystem.opens % 4 == 0:
            raise self.errors[(FlakyFileSystem.opens // 4) % len(self.errors)]
        return open(path, mode)

    def exists(self, path, **kwargs):
        return os.path.exists(self._strip_protocol(path))


fsspec.register_implementation("flaky", FlakyFileSystem, clobber=True)


@pytest.fixture
def subset(tmp_path, coco_mini) -> tuple[Path, Path]:
    return make_coco_subset(coco_mini, tmp_path, 4), tmp_path / "images"


def test_transient_read_errors_are_retried_before_anything_is_rejected(subset, tmp_path):
    captions, images = subset
    assert _build(captions, images, tmp_path / "ref").exit_code == 0
    FlakyFileSystem.opens, FlakyFileSystem.always_fail = 0, set()
    result = _build(captions, f"flaky://{images}", tmp_path / "flaky")
    assert result.exit_code == 0, result.output
    assert FlakyFileSystem.opens > 4  # the failures did happen
    assert _rejects(tmp_path / "flaky") == []
    assert _shards(tmp_path / "flaky") == _shards(tmp_path / "ref")


def test_a_read_error_that_persists_is_a_reject_and_the_build_goes_on(subset, tmp_path):
    captions, images = subset
    broken = sorted(p.name for p in images.iterdir())[0]
    FlakyFileSystem.opens, FlakyFileSystem.always_fail = 0, {broken}
    result = _build(captions, f"flaky://{images}", tmp_path / "ds")
    FlakyFileSystem.always_fail = set()
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path / "ds")
    assert reject["reason"] == "read_error" and "Input/output error" in reject["detail"]
    assert "after 5 tries" in reject["detail"]
    assert load_manifest(str(tmp_path / "ds")).totals.images == 3


def test_retry_rejects_revisits_the_rejects_of_a_finished_build(subset, tmp_path):
    captions, images = subset
    assert _build(captions, images, tmp_path / "ref").exit_code == 0
    missing = sorted(images.iterdir())[2]
    missing.rename(tmp_path / "aside.jpg")
    out = tmp_path / "ds"
    assert _build(captions, images, out).exit_code == 0
    assert [r["reason"] for r in _rejects(out)] == ["missing_image"]
    (tmp_path / "aside.jpg").rename(missing)  # the file is back
    again = _build(captions, images, out)
    assert "built 0, kept 2" in again.stdout and len(_rejects(out)) == 1
    retried = _build(captions, images, out, "--retry-rejects")
    assert retried.exit_code == 0, retried.output
    assert "built 1, kept 1" in retried.stdout and "retrying its missing_image" in retried.stderr
    assert _rejects(out) == []
    assert _shards(out) == _shards(tmp_path / "ref") and verify(str(out)) == []


def test_a_caption_past_the_parser_limit_is_rejected_with_its_row(subset, tmp_path):
    captions, images = subset
    data = json.loads(captions.read_text())
    target = data["images"][1]["id"]
    ann = next(a for a in data["annotations"] if a["image_id"] == target)
    ann["caption"] = "a dog " * 200_000  # 1.2M characters, past spaCy's max_length
    captions.write_text(json.dumps(data))
    result = _build(captions, images, tmp_path / "ds")
    assert result.exit_code == 0, result.output
    [reject] = _rejects(tmp_path / "ds")
    assert reject["reason"] == "caption_too_long" and reject["offset"] == 1
    assert reject["source_id"] == str(target) and "row 1, caption 0" in reject["detail"]
    manifest = load_manifest(str(tmp_path / "ds"))
    assert manifest.totals.images == 4 and manifest.totals.captions == 19


def test_nfc_and_nfd_forms_are_one_caption_and_one_file_name(subset, tmp_path):
    captions, images = subset
    data = json.loads(captions.read_text())
    text = "A café table next to a red chair with a white cup on it."
    for n, image in enumerate(data["images"][:2]):
        form = "NFC" if n == 0 else "NFD"
        for ann in data["annotations"]:
            if ann["image_id"] == image["id"]:
                ann["caption"] = unicodedata.normalize(form, text)
    # The caption file names the second image in NFC; the disk holds its NFD name.
    second = data["images"][1]
    name = f"café-{second['file_name']}"
    (images / second["file_name"]).rename(images / unicodedata.normalize("NFD", name))
    second["file_name"] = unicodedata.normalize("NFC", name)
    captions.write_text(json.dumps(data, ensure_ascii=False))
    result = _build(captions, images, tmp_path / "ds")
    assert result.exit_code == 0, result.output
    assert _rejects(tmp_path / "ds") == []
    first, other = sorted(_records(tmp_path / "ds"), key=lambda r: r.key)[:2]
    assert first.captions[0] == other.captions[0] == unicodedata.normalize("NFC", text)
    assert first.neg_texts == other.neg_texts


def test_a_missing_file_is_named_with_repr(subset, tmp_path):
    captions, images = subset
    missing = sorted(images.iterdir())[0]
    missing.unlink()
    assert _build(captions, images, tmp_path / "ds").exit_code == 0
    [reject] = _rejects(tmp_path / "ds")
    assert reject["detail"] == f"{str(missing)!r}: no such file"


def test_a_build_that_stores_no_image_exits_non_zero(subset, tmp_path):
    captions, images = subset
    result = _build(captions, tmp_path / "wrong-folder", tmp_path / "ds")
    assert result.exit_code == 1
    assert "no image was stored (missing_image 4)" in result.stderr
    assert "does not exist (check --images)" in _rejects(tmp_path / "ds")[0]["detail"]
    # Nothing stored, so no shard file either: an empty shard breaks readers.
    assert not (tmp_path / "ds" / "data").exists() or not list((tmp_path / "ds" / "data").iterdir())


def test_a_shard_whose_inputs_were_all_rejected_is_not_written(subset, tmp_path):
    captions, images = subset
    for path in sorted(images.iterdir())[:2]:  # shard 0's two images
        path.write_bytes(b"not an image")
    result = _build(captions, images, tmp_path / "ds")
    assert result.exit_code == 0, result.output
    manifest = load_manifest(str(tmp_path / "ds"))
    assert [s.name for s in manifest.shards] == ["data/shard-00001.parquet"]
    assert sorted(p.name for p in (tmp_path / "ds" / "data").iterdir()) == ["shard-00001.parquet"]
    assert manifest.totals.images_rejected == 2 and verify(str(tmp_path / "ds")) == []
    # Resuming keeps both the written shard and the one that has no file.
    assert "built 0, kept 2" in _build(captions, images, tmp_path / "ds").stdout


def test_rejects_parquet_is_byte_reproducible(subset, tmp_path):
    captions, images = subset
    sorted(images.iterdir())[1].write_bytes(b"not an image")
    for name in ("a", "b"):
        assert _build(captions, images, tmp_path / name).exit_code == 0
    a, b = (tmp_path / n / "rejects.parquet" for n in ("a", "b"))
    assert "0x" not in _rejects(tmp_path / "a")[0]["detail"]
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_stops_promptly_and_says_how_to_resume(tmp_path, coco_mini, workers):
    # All 30 photos, one shard each: on a loaded machine a build of fewer shards could finish
    # between the first progress record and the Ctrl-C.
    n = 30
    captions = make_coco_subset(coco_mini, tmp_path, n)
    out = tmp_path / "ds"
    cmd = build_command(captions, tmp_path / "images", out, "--workers", str(workers))
    # Its own session, so the SIGINT goes to the whole group as a terminal's Ctrl-C does.
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and not list(out.glob("_progress/shard-*.json")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert "interrupted: rerun the same command to resume" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert len(list(out.glob("_progress/shard-*.json"))) < n
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert load_manifest(str(out)).totals.images == n and verify(str(out)) == []
