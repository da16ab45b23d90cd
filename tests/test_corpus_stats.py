"""Corpus statistics, the plausibility model of the text negatives (DESIGN §4): counts,
deterministic files with a sha256, `ahnpl-gen stats`, and the build's statistics pass."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
from conftest import make_coco_subset
from typer.testing import CliRunner

from ahnpl.pipeline.build import build
from ahnpl.pipeline.cli import app
from ahnpl.pipeline.corpus_stats import (
    STATS_NAME,
    CorpusStats,
    bundled_stats,
    compute_stats,
    decode,
    load_stats,
    write_stats,
)
from ahnpl.pipeline.recipe import load_recipe
from ahnpl.shards import load_manifest, read_shard, shard_urls

CAPTIONS = [
    "A man riding a horse on a beach.",
    "A white polar bear swimming in the water.",
    "A polar bear resting on a rock.",
    "A polar bear playing in the snow.",
    "A red car parked next to a bench.",
]


def test_counts_each_role_by_lexicon_keys():
    stats, _ = compute_stats(CAPTIONS)
    assert stats.count("rel|ho", ("ride", "beach"), "on") == 1
    assert stats.count("rel|ho", ("park", "bench"), "near") == 1  # "next to" counts as "near"
    assert stats.count("svo|so", ("man", "horse"), "ride") == 1
    assert stats.count("amod|n", ("car",), "red") == 1
    assert stats.count("gov|g", ("v:ride",), "horse") == 1
    assert ("polar", "bear") in stats.compounds  # seen 3 times, "polar" always with "bear"
    assert ("red", "car") not in stats.compounds
    assert stats.meta["captions"] == len(CAPTIONS)
    # Nouns of one caption are counted together; only lexicon nouns as candidates.
    assert stats.count("co|n", ("rock",), "bear") == 1
    assert stats.count("co|n", ("horse",), "man") == 1
    assert stats.count("co|n", ("bear",), "rock") == 0  # "rock" is no lexicon noun


def test_same_captions_give_the_same_bytes_in_any_order(tmp_path):
    a, data_a = compute_stats(CAPTIONS)
    b, data_b = compute_stats(CAPTIONS[::-1])
    assert data_a == data_b and a.sha256 == b.sha256 == hashlib.sha256(data_a).hexdigest()
    c, _ = compute_stats(CAPTIONS[:-1])
    assert c.sha256 != a.sha256
    # Gzipped or not, a file reads back to the same statistics and sha256.
    write_stats(tmp_path / "s.json.gz", data_a)
    write_stats(tmp_path / "s.json", data_a)
    assert (tmp_path / "s.json").read_bytes() == data_a
    assert gzip.decompress((tmp_path / "s.json.gz").read_bytes()) == data_a
    for name in ("s.json", "s.json.gz"):
        loaded = load_stats(tmp_path / name)
        assert loaded.sha256 == a.sha256 and loaded.counts == a.counts


def test_bad_statistics_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="ahnpl-gen stats"):
        load_stats(tmp_path / "none.json")
    with pytest.raises(ValueError, match="bad.json: not JSON"):
        decode(b"{", "bad.json")
    with pytest.raises(ValueError, match="not an ahnpl-corpus-stats file"):
        decode(json.dumps({"format": "other"}).encode(), "x.json")
    with pytest.raises(ValueError, match="version 99"):
        decode(json.dumps({"format": "ahnpl-corpus-stats", "version": 99}).encode(), "x.json")


def test_bundled_statistics_say_how_they_were_made():
    stats = bundled_stats()
    note = stats.meta["note"]
    assert "even id" in note and "CC BY 4.0" in note
    assert stats.meta["captions"] > 10_000 and len(stats.sha256) == 64


def test_stats_command_writes_a_loadable_file(tmp_path):
    src = tmp_path / "captions.txt"
    src.write_text("\n".join(CAPTIONS) + "\n")
    out = tmp_path / "mine.json.gz"
    result = CliRunner().invoke(app, ["stats", str(src), "--out", str(out), "--note", "mine"])
    assert result.exit_code == 0, result.output
    stats = load_stats(out)
    assert stats.sha256 in result.output and stats.meta["captions"] == len(CAPTIONS)
    missing = CliRunner().invoke(app, ["stats", str(tmp_path / "nope.txt"), "--out", str(out)])
    assert missing.exit_code != 0 and "nope.txt" in missing.output


def test_build_fixes_statistics_before_shards_and_records_them(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 4)
    out = tmp_path / "ds"
    recipe = load_recipe(
        None,
        [
            f"input.captions={captions}",
            f"input.images={tmp_path / 'images'}",
            f"output.out={out}",
            "output.images_per_shard=2",
        ],
    )
    result = build(recipe, progress=False)
    assert result.stats_seconds > 0
    file_stats = load_stats(out / STATS_NAME)
    info = load_manifest(str(out)).versions["negatives"]
    assert info["statistics"]["sha256"] == file_stats.sha256
    assert info["statistics"]["captions"] == 20 and info["model"] == "corpus-statistics"
    records = [r for u in shard_urls(str(out), load_manifest(str(out))) for r in read_shard(u)]
    for r in records:
        for valid, scores in zip(r.neg_valid, r.neg_scores):
            assert [s is not None for s in scores] == valid
            assert all(s <= 0 for s in scores if s is not None)
    # A second build into a fresh folder makes the same statistics and shards.
    again = recipe.model_copy(deep=True)
    again.output.out = str(tmp_path / "ds2")
    build(again, progress=False)
    assert (tmp_path / "ds2" / STATS_NAME).read_bytes() == (out / STATS_NAME).read_bytes()
    assert load_manifest(str(tmp_path / "ds2")).shards == load_manifest(str(out)).shards


def test_recipe_can_name_bundled_or_a_file(tmp_path, coco_mini):
    captions = make_coco_subset(coco_mini, tmp_path, 2)
    base = [f"input.captions={captions}", f"input.images={tmp_path / 'images'}"]
    bundled = load_recipe(None, [*base, f"output.out={tmp_path / 'a'}", "negatives.stats=bundled"])
    build(bundled, progress=False)
    info = load_manifest(str(tmp_path / "a")).versions["negatives"]["statistics"]
    assert info["sha256"] == bundled_stats().sha256
    assert not (tmp_path / "a" / STATS_NAME).exists()
    missing = load_recipe(
        None, [*base, f"output.out={tmp_path / 'b'}", f"negatives.stats_file={tmp_path / 'x.json'}"]
    )
    with pytest.raises(FileNotFoundError, match="x.json"):
        build(missing, progress=False)


def test_memo_computes_each_key_once_and_keeps_keys_apart():
    """A rule's derived counts are cached per key: asked again, the same answer without
    recomputing; another key (another lexicon's id, say) gets its own."""
    stats = CorpusStats(counts={}, meta={}, sha256="")
    calls = []

    def compute(v):
        calls.append(v)
        return v

    assert stats.memo(("said_of", 1, "colour", "cat"), lambda: compute("a")) == "a"
    assert stats.memo(("said_of", 1, "colour", "cat"), lambda: compute("b")) == "a"
    assert stats.memo(("said_of", 2, "colour", "cat"), lambda: compute("c")) == "c"
    assert calls == ["a", "c"]
