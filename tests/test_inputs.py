"""Input sources (DESIGN §3): img2dataset's tars and Parquet, HF datasets, CSV/TSV and COCO;
every input row ends in a shard or in the rejects, and the shard plan streams."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from input_fixtures import coco_pairs, write_img2dataset_parquet, write_img2dataset_tars
from PIL import Image
from typer.testing import CliRunner

from ahnpl.pipeline.cli import app
from ahnpl.pipeline.inputs import detect_source, open_source, read_input
from ahnpl.pipeline.recipe import InputConfig
from ahnpl.shards import load_manifest, read_shard, shard_urls


def _build(*args: str) -> None:
    result = CliRunner().invoke(app, ["build", "--no-progress", *args])
    assert result.exit_code == 0, result.output


def _records(out: Path) -> list:
    manifest = load_manifest(str(out))
    return [r for url in shard_urls(str(out), manifest) for r in read_shard(url)]


def _rejects(out: Path) -> list[dict]:
    return pq.read_table(out / "rejects.parquet").to_pylist()


def test_img2dataset_parquet_stores_every_image_and_rejects_failed_downloads(tmp_path, coco_mini):
    pairs = coco_pairs(coco_mini, 12)
    src = write_img2dataset_parquet(tmp_path / "i2d", pairs, failed={3, 10}, per_file=7)
    out = tmp_path / "out"
    # 5-image shards cross both the 4-row row groups and the 7-row files.
    _build("--source", "parquet", "--input", str(src), "--out", str(out), "--images-per-shard", "5")
    records = _records(out)
    assert [r.source_id for r in records] == [f"{i:09d}" for i in range(12) if i not in (3, 10)]
    for r in records:
        pair = pairs[int(r.source_id)]
        assert r.captions == [pair["caption"]]
        assert (r.width, r.height) == Image.open(pair["file"]).size
    rejects = _rejects(out)
    assert sorted(r["offset"] for r in rejects) == [3, 10]
    assert {r["reason"] for r in rejects} == {"no_image_bytes"}
    assert all("ahnpl does not download" in r["detail"] for r in rejects)
    assert rejects[0]["path"] == pairs[3]["url"]
    t = load_manifest(str(out)).totals
    assert t.images_in == 12 and t.images == 10 and t.images_rejected == 2


def test_parquet_with_urls_only_is_rejected_row_by_row_not_downloaded(tmp_path, coco_mini):
    # img2dataset's webdataset output keeps a metadata-only Parquet next to each tar.
    src = write_img2dataset_tars(tmp_path / "i2d", coco_pairs(coco_mini, 4))
    assert detect_source(InputConfig(input=str(src))) == "webdataset"  # the tars, then
    inputs = read_input(InputConfig(source="parquet", input=str(src / "*.parquet")))
    assert [i.reject[0] for i in inputs.items] == ["no_image_bytes"] * 4
    assert all(i.image is None for i in inputs.items)


def test_parquet_image_paths_are_read_as_files_and_urls_rejected(tmp_path, coco_mini):
    import pyarrow as pa

    pairs = coco_pairs(coco_mini, 3)
    rows = [
        {"image": {"bytes": None, "path": pairs[0]["file"].name}, "caption": "a"},  # HF struct
        {"image": {"bytes": None, "path": pairs[1]["url"]}, "caption": "b"},
        {"image": {"bytes": pairs[2]["file"].read_bytes(), "path": None}, "caption": "c"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "x.parquet")
    cfg = InputConfig(input=str(tmp_path / "x.parquet"), images=str(coco_mini / "images"))
    items = read_input(cfg).items
    assert items[0].path == str(pairs[0]["file"]) and items[0].reject is None
    assert items[1].reject[0] == "no_image_bytes"
    assert items[2].image == pairs[2]["file"].read_bytes()


def test_img2dataset_tars_store_every_image_with_its_caption(tmp_path, coco_mini):
    pairs = coco_pairs(coco_mini, 9)
    src = write_img2dataset_tars(tmp_path / "i2d", pairs, per_tar=4, png={5})
    out = tmp_path / "out"
    _build("--input", str(src / "{00000..00002}.tar"), "--out", str(out), "--images-per-shard", "3")
    assert load_manifest(str(out)).recipe["input"]["source"] == "webdataset"  # detected
    records = _records(out)
    assert [r.source_id for r in records] == [f"{i:09d}" for i in range(9)]
    assert [r.captions for r in records] == [[p["caption"]] for p in pairs]
    assert records[5].image[:2] == b"\xff\xd8"  # the PNG sample is stored too, as JPEG
    assert _rejects(out) == []


def test_tar_samples_without_an_image_or_with_unsafe_keys_are_rejected(tmp_path):
    import tarfile

    path = tmp_path / "bad.tar"
    with tarfile.open(path, "w") as tar:
        for name, data in [("a.txt", b"cap a"), ("../evil.jpg", b"x"), ("../evil.txt", b"e")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    inputs = read_input(InputConfig(source="webdataset", input=str(path)))
    assert [i.reject[0] for i in inputs.items] == ["missing_image", "unsafe_member_name"]


def test_hf_saved_dataset_keeps_several_captions_per_image(tmp_path, coco_mini):
    datasets = pytest.importorskip("datasets")
    pairs = coco_pairs(coco_mini, 4)
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "captions": datasets.Sequence(datasets.Value("string")),
            "source_id": datasets.Value("string"),
        }
    )
    ds = datasets.Dataset.from_dict(
        {
            "image": [str(p["file"]) for p in pairs],
            "captions": [p["captions"] for p in pairs],
            "source_id": [p["file"].stem for p in pairs],
        },
        features=features,
    )
    ds.save_to_disk(str(tmp_path / "hf"))
    out = tmp_path / "out"
    _build("--input", str(tmp_path / "hf"), "--out", str(out))
    records = _records(out)
    assert [r.source_id for r in records] == [p["file"].stem for p in pairs]
    assert [r.captions for r in records] == [p["captions"] for p in pairs]


def test_hf_dataset_name_is_read_from_the_local_cache_offline(tmp_path, coco_mini, monkeypatch):
    datasets = pytest.importorskip("datasets")
    from datasets.data_files import DataFilesDict
    from datasets.packaged_modules.parquet.parquet import Parquet

    # What an earlier `load_dataset("org/tiny")` leaves in the cache: the Arrow files of
    # config `default` under `org___tiny/`.
    pairs = coco_pairs(coco_mini, 3)
    src = write_img2dataset_parquet(tmp_path / "i2d", pairs)
    cache = tmp_path / "cache"
    files = DataFilesDict.from_patterns({"train": [str(src / "00000.parquet")]})
    builder = Parquet(cache_dir=str(cache), dataset_name="tiny", data_files=files, hash="0" * 16)
    builder.download_and_prepare()
    (cache / "org___tiny").mkdir()
    next((cache / "tiny").glob("default-*")).rename(cache / "org___tiny" / "default")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)  # ahnpl goes offline itself

    inputs = read_input(InputConfig(input="hf://datasets/org/tiny"))
    assert [i.captions for i in inputs.items] == [[p["caption"]] for p in pairs]
    assert [i.image for i in inputs.items] == [p["file"].read_bytes() for p in pairs]
    assert datasets.config.HF_HUB_OFFLINE is False
    with pytest.raises(ValueError, match="ahnpl does not download"):
        read_input(InputConfig(input="hf://datasets/org/absent"))


def _write_csv(path: Path, coco_mini: Path, sep: str, header=("image", "text")) -> list[dict]:
    pairs = coco_pairs(coco_mini, 3)
    lines = [sep.join(header)]
    for p in pairs:
        for caption in p["captions"][:2]:  # adjacent rows of one image: one image, 2 captions
            lines.append(sep.join([p["file"].name, '"' + caption.replace('"', '""') + '"']))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return pairs


def test_tab_separated_txt_is_detected_and_sniffed_with_custom_columns(tmp_path, coco_mini):
    pairs = _write_csv(tmp_path / "pairs.txt", coco_mini, "\t")
    out = tmp_path / "out"
    flags = {
        "--input": tmp_path / "pairs.txt",
        "--images": coco_mini / "images",
        "--image-column": "image",
        "--caption-column": "text",
        "--out": out,
    }
    _build(*[str(x) for pair in flags.items() for x in pair])
    records = _records(out)
    assert [r.source_id for r in records] == [p["file"].stem for p in pairs]
    assert [r.captions for r in records] == [p["captions"][:2] for p in pairs]


def test_csv_without_source_is_read_as_csv_not_json(tmp_path, coco_mini):
    _write_csv(tmp_path / "pairs.csv", coco_mini, ",", header=("filepath", "title"))
    assert detect_source(InputConfig(input=str(tmp_path / "pairs.csv"))) == "csv"
    cfg = InputConfig(captions=str(tmp_path / "pairs.csv"), images=str(coco_mini / "images"))
    assert [len(i.captions) for i in read_input(cfg).items] == [2, 2, 2]
    with pytest.raises(ValueError, match="--source csv"):
        read_input(InputConfig(source="coco", captions=str(tmp_path / "pairs.csv")))


def test_csv_separator_flag_and_missing_column_message(tmp_path):
    (tmp_path / "p.csv").write_text("filepath;title\na.jpg;one; with a semicolon\n")
    with pytest.raises(ValueError, match="--separator"):
        read_input(InputConfig(input=str(tmp_path / "p.csv"), separator=","))
    items = read_input(InputConfig(input=str(tmp_path / "p.csv"), separator=";")).items
    assert items[0].captions == ["one"]


def test_csv_shards_seek_to_their_rows_and_match_one_pass(tmp_path):
    rows = ["filepath,title"]
    for i in range(23):
        rows.append(f'img{i // 2}.jpg,"caption {i}\nsecond line, quoted"')
    rows.append(",orphan caption")  # no image: still an item, rejected
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    cfg = InputConfig(input=str(tmp_path / "p.csv"))
    whole = read_input(cfg).items
    source = open_source(cfg)
    plan = source.plan(per_shard=5)
    assert [len(s) for s in plan.shards] == [5, 5, 3]  # 12 images + the orphan row
    pieces = [item for spec in reversed(plan.shards) for item in source.read(spec)]
    assert sorted(pieces, key=lambda i: i.offset) == whole
    assert whole[0].captions == ["caption 0\nsecond line, quoted", "caption 1\nsecond line, quoted"]
    assert whole[-1].reject[0] == "missing_image"
    assert open_source(InputConfig(input=str(tmp_path / "p.csv"), limit=7)).plan(5).count == 7


def test_parquet_plan_reads_only_footers(tmp_path, coco_mini, monkeypatch):
    src = write_img2dataset_parquet(tmp_path / "i2d", coco_pairs(coco_mini, 6), per_file=4)

    def no_rows(*args, **kwargs):
        raise AssertionError("the plan read rows")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_rows)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", no_rows)
    plan = open_source(InputConfig(source="parquet", input=str(src))).plan(per_shard=4)
    assert [s.parts for s in plan.shards] == [
        ((str(src / "00000.parquet"), 0, 4),),
        ((str(src / "00001.parquet"), 0, 2),),
    ]


def test_unknown_input_names_the_flag(tmp_path):
    with pytest.raises(FileNotFoundError, match="--input"):
        detect_source(InputConfig(input=str(tmp_path / "nothing.bin")))
    with pytest.raises(ValueError, match="--input"):
        detect_source(InputConfig())
    (tmp_path / "x.json").write_text(json.dumps({"images": [], "annotations": []}))
    assert detect_source(InputConfig(captions=str(tmp_path / "x.json"))) == "coco"
