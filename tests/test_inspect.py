"""`ahnpl-gen inspect`: statistics a person can trust and a contact sheet a browser renders."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from conftest import COCO_MINI, make_coco_subset
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.pipeline.inspection import contact_sheet, dataset_stats
from ahnpl.shards import load_manifest, read_shard, shard_urls


@pytest.fixture(scope="module")
def with_rejects(tmp_path_factory):
    """Six bundled photos, one made unreadable and one deleted: a dataset with two rejects."""
    from ahnpl.pipeline.build import build
    from ahnpl.pipeline.recipe import load_recipe

    root = tmp_path_factory.mktemp("rejects")
    captions = make_coco_subset(COCO_MINI, root / "in", 6)
    images = sorted((root / "in" / "images").iterdir())
    images[0].write_bytes(b"not a jpeg")
    images[1].unlink()
    out = root / "dataset"
    overrides = {
        "input.captions": str(captions),
        "input.images": str(root / "in" / "images"),
        "output.out": str(out),
        "edit.editor": "flip",
    }
    build(load_recipe(None, [], overrides), progress=False)
    return out, {images[0].name: "unreadable_image", images[1].name: "missing_image"}


class _Tables(HTMLParser):
    """Text of every table cell, by table id, row by row; and whether a <pre> is present."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.has_pre = False

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.has_pre = True
        if tag == "table":
            self.current = dict(attrs).get("id")
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current:
            self.tables[self.current][-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.current = None

    def handle_data(self, data):
        rows = self.tables.get(self.current) if self.current else None
        if rows and rows[-1]:
            rows[-1][-1] += data


def test_contact_sheet_lists_rejects_and_shows_stats_as_tables(with_rejects):
    root, rejected = with_rejects
    parser = _Tables()
    parser.feed(contact_sheet(str(root), limit=2))
    tables = parser.tables
    assert not parser.has_pre
    stats = dataset_stats(str(root))
    coverage = {row[0]: row[2] for row in tables["stats-coverage"][1:]}
    assert coverage == {t: f"{v:.1%}" for t, v in stats["coverage"].items()}
    assert {r[0]: int(r[1]) for r in tables["stats-rejects"][1:]} == stats["rejects"]
    totals = {r[0]: int(r[1]) for r in tables["stats-totals"][1:]}
    assert totals["images"] == 4 and totals["images rejected"] == 2
    header, *rows = tables["rejects"]
    assert header[:5] == ["offset", "level", "source_id", "path", "reason"]
    listed = {row[3].rsplit("/", 1)[-1]: row[4] for row in rows}
    assert listed == rejected


def test_stats_follow_the_manifest(demo_dataset):
    stats = dataset_stats(str(demo_dataset))
    manifest = load_manifest(str(demo_dataset))
    for t, n in manifest.totals.valid_negatives.items():
        assert stats["coverage"][t] == pytest.approx(n / manifest.totals.captions)
    assert stats["edits"] == sum(stats["edits_per_type"].values()) == manifest.totals.edits


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
    assert 'id="stats-coverage"' in dom and 'id="rejects"' in dom and "<pre" not in dom
    for record in records:
        assert f'id="item-{record.key}"' in dom
        for caption in record.captions:
            assert caption.replace("&", "&amp;") in dom
        for texts in record.neg_texts:
            for text in texts:
                if text:
                    assert text.replace("&", "&amp;") in dom
