"""`ahnpl-gen inspect`: statistics a person can trust and a contact sheet a browser renders."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.pipeline.inspection import contact_sheet, dataset_stats
from ahnpl.shards import load_manifest, read_shard, shard_urls


def test_stats_follow_the_manifest(demo_dataset):
    stats = dataset_stats(str(demo_dataset))
    manifest = load_manifest(str(demo_dataset))
    for t, n in manifest.totals["valid_negatives"].items():
        assert stats["coverage"][t] == pytest.approx(n / manifest.totals["captions"])
    assert stats["edits"] == sum(stats["edits_per_type"].values()) == manifest.totals["edits"]


def test_cli_prints_stats_and_writes_html(demo_dataset, tmp_path):
    page = tmp_path / "sheet.html"
    result = CliRunner().invoke(
        app, ["inspect", str(demo_dataset), "--html", str(page), "--limit", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "coverage per negative type" in result.output
    assert page.exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian's chromium is not installed")
def test_contact_sheet_renders_in_headless_chromium(demo_dataset, tmp_path):
    limit = 6
    records = [
        r
        for url in shard_urls(str(demo_dataset), load_manifest(str(demo_dataset)))
        for r in read_shard(url)
    ][:limit]
    page = contact_sheet(str(demo_dataset), limit=limit)
    # Count, in the browser, the images that actually decoded.
    probe = (
        "<script>window.addEventListener('load', () => document.body.setAttribute("
        "'data-decoded', [...document.images].filter(i => i.naturalWidth > 0).length));"
        "</script>"
    )
    path = tmp_path / "sheet.html"
    path.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    decoded = re.search(r'data-decoded="(\d+)"', dom)
    assert decoded, "the page did not finish loading"
    assert int(decoded.group(1)) == len(records) + sum(len(r.edits) for r in records)
    for record in records:
        assert f'id="item-{record.key}"' in dom
        for caption in record.captions:
            assert caption.replace("&", "&amp;") in dom
        for texts in record.neg_texts:
            for text in texts:
                if text:
                    assert text.replace("&", "&amp;") in dom
