"""ahnpl-eval end to end on the bundled SugarCrepe items, checkpoints, missing images."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ahnpl.evaluation.benchmarks import get_benchmark
from ahnpl.evaluation.cli import app
from ahnpl.evaluation.report import scalar_figures
from ahnpl.evaluation.run import evaluate
from ahnpl.models import create_model, fingerprint, load_checkpoint

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "data" / "benchmarks"
IMAGES = REPO / "data" / "coco-mini" / "images"
TINY_CONFIG = REPO / "trainer" / "configs" / "ahnpl-tiny.json"


@pytest.fixture
def small_bench(tmp_path) -> Path:
    """Two of the bundled SugarCrepe splits (20 items), to keep tests fast."""
    (tmp_path / "bench" / "sugarcrepe").mkdir(parents=True)
    for split in ("add_att", "swap_obj"):
        shutil.copy(BENCH / "sugarcrepe" / f"{split}.json", tmp_path / "bench" / "sugarcrepe")
    return tmp_path / "bench"


def _tiny(seed: int = 0):
    torch.manual_seed(seed)
    return create_model("ahnpl-tiny")


@torch.inference_mode()
def _direct_sugarcrepe_accuracy(seed: int) -> dict[str, float]:
    """Per-split accuracy computed item by item with open_clip alone."""
    import open_clip

    open_clip.add_model_config(TINY_CONFIG)
    torch.manual_seed(seed)
    model, _, preprocess = open_clip.create_model_and_transforms("ahnpl-tiny")
    model.eval()
    tokenizer = open_clip.get_tokenizer("ahnpl-tiny")
    out = {}
    for path in sorted((BENCH / "sugarcrepe").glob("*.json")):
        entries = list(json.loads(path.read_text()).values())
        images = torch.stack(
            [preprocess(Image.open(IMAGES / e["filename"]).convert("RGB")) for e in entries]
        )
        v = model.encode_image(images, normalize=True)
        pos = model.encode_text(tokenizer([e["caption"] for e in entries]), normalize=True)
        neg = model.encode_text(tokenizer([e["negative_caption"] for e in entries]), normalize=True)
        correct = ((v * pos).sum(-1) > (v * neg).sum(-1)).tolist()
        out[path.stem] = sum(correct) / len(correct)
    return out


@pytest.mark.slow
def test_cli_matches_a_direct_open_clip_computation(tmp_path):
    out = tmp_path / "results.json"
    flags = "--model ahnpl-tiny --benchmark sugarcrepe --seed 7 --workers 0 --batch-size 16"
    paths = ["--data-root", str(BENCH), "--images", str(IMAGES), "--out", str(out)]
    result = CliRunner().invoke(app, [*flags.split(), *paths])
    assert result.exit_code == 0, result.output
    assert "| sugarcrepe | swap_obj | accuracy |" in result.output
    assert "| sugarcrepe | swap_obj | accuracy |" in out.with_suffix(".md").read_text()
    data = json.loads(out.read_text())
    splits = data["benchmarks"]["sugarcrepe"]["splits"]
    direct = _direct_sugarcrepe_accuracy(seed=7)
    assert {k: v["accuracy"] for k, v in splits.items()} == pytest.approx(direct, abs=1e-9)
    for name, m in splits.items():
        n = len(json.loads((BENCH / "sugarcrepe" / f"{name}.json").read_text()))
        assert m["n_items"] == m["n_scored"] == n and m["n_missing_images"] == 0
    summary = data["benchmarks"]["sugarcrepe"]["summary"]
    assert summary["swap"] == pytest.approx((direct["swap_obj"] + direct["swap_att"]) / 2)
    assert summary["split_mean"] == pytest.approx(sum(direct.values()) / 7)
    n_items = {name: m["n_scored"] for name, m in splits.items()}
    weighted = sum(direct[k] * n for k, n in n_items.items()) / sum(n_items.values())
    assert summary["overall"] == pytest.approx(weighted)
    assert data["model"]["fingerprint"] == fingerprint(_tiny(7).model)


def test_checkpoint_round_trip_keeps_every_logit(tmp_path, small_bench):
    loaded = _tiny(3)
    state = {f"module.{k}": v for k, v in loaded.model.state_dict().items()}
    ckpt = tmp_path / "step_2.pt"
    torch.save(
        {
            "state_dict": state,
            "model": "ahnpl-tiny",
            "model_config": json.loads(TINY_CONFIG.read_text()),
            "step": 2,
            "optimizer": {"state": {}, "param_groups": []},
        },
        ckpt,
    )
    bare = tmp_path / "bare.pt"
    torch.save({f"model.{k}": v for k, v in loaded.model.state_dict().items()}, bare)
    from safetensors.torch import save_file

    st = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in loaded.model.state_dict().items()}, str(st))

    image = loaded.preprocess_val(Image.open(IMAGES / "000000011813.jpg").convert("RGB"))[None]
    text = loaded.tokenizer(["a camera on a tripod", "a laptop"])
    loaded.model.eval()
    with torch.inference_mode():
        img, txt, scale = loaded.model(image, text)
        reference = scale * img @ txt.T
    for again in (
        load_checkpoint(ckpt),
        create_model("ahnpl-tiny", str(bare)),
        create_model("ahnpl-tiny", str(st)),
    ):
        again.model.eval()
        with torch.inference_mode():
            img, txt, scale = again.model(image, text)
        assert torch.equal(scale * img @ txt.T, reference)  # bit for bit
        assert fingerprint(again.model) == fingerprint(loaded.model)

    result = CliRunner().invoke(
        app,
        [
            "--checkpoint",
            str(ckpt),
            "--benchmark",
            "sugarcrepe",
            "--data-root",
            str(small_bench),
            "--images",
            str(IMAGES),
            "--out",
            str(tmp_path / "r.json"),
            "--workers",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["model"]["fingerprint"] == fingerprint(loaded.model)
    assert data["model"]["pretrained"] == str(ckpt)


def test_wrong_architecture_checkpoint_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "other.pt"
    torch.save({"state_dict": {"visual.proj": torch.zeros(3, 3)}}, ckpt)
    with pytest.raises(ValueError, match="do not fit the model architecture"):
        create_model("ahnpl-tiny", str(ckpt))
    with pytest.raises(ValueError, match="model_config"):
        load_checkpoint(ckpt)


def test_missing_and_unreadable_images_are_counted_not_skipped(tmp_path, small_bench):
    images = tmp_path / "images"
    images.mkdir()
    present = sorted(IMAGES.iterdir())[:10]
    for p in present:
        shutil.copy(p, images / p.name)
    (images / present[0].name).write_bytes(b"not a jpeg")
    loaded = _tiny()
    loaded.model.train()
    result = evaluate(loaded, ["sugarcrepe"], small_bench, images, workers=0, batch_size=8)
    assert loaded.model.training  # the trainer's mode is restored
    bench = result["benchmarks"]["sugarcrepe"]
    items = get_benchmark("sugarcrepe").load(small_bench)
    names = {p.name for p in present}
    n_missing = sum(it.images[0].path not in names for it in items)
    n_unreadable = sum(it.images[0].path == present[0].name for it in items)
    splits = bench["splits"].values()
    assert sum(m["n_missing_images"] for m in splits) == bench["n_missing_images"] == n_missing > 0
    assert sum(m["n_unreadable_images"] for m in splits) == n_unreadable > 0
    assert bench["n_scored"] == len(items) - n_missing - n_unreadable
    assert bench["n_items"] == len(items)
    assert bench["missing_images"]["count"] == len({it.images[0].path for it in items} - names)
    assert bench["unreadable_images"]["count"] == 1
    flat = scalar_figures(result)  # what the trainer logs
    assert flat["sugarcrepe/add_att/accuracy"] == bench["splits"]["add_att"]["accuracy"]
    assert flat["sugarcrepe/overall"] == bench["summary"]["overall"]


def test_aro_crops_and_macro_excludes_symmetric_relations(tmp_path):
    (tmp_path / "aro").mkdir()
    base = {
        "image_id": "1",
        "bbox_x": 10,
        "bbox_y": 20,
        "bbox_w": 200,
        "bbox_h": 150,
        "image_path": "000000011813.jpg",
    }
    rel = [
        dict(
            base,
            relation_name="on",
            true_caption="the camera is on the tripod",
            false_caption="the tripod is on the camera",
        ),
        dict(
            base,
            relation_name="on",
            true_caption="the laptop is on the table",
            false_caption="the table is on the laptop",
        ),
        dict(
            base,
            relation_name="next to",
            true_caption="the cup is next to the laptop",
            false_caption="the laptop is next to the cup",
        ),
    ]
    (tmp_path / "aro" / "visual_genome_relation.json").write_text(json.dumps(rel))
    result = evaluate(_tiny(), ["aro"], tmp_path, IMAGES, workers=0)
    aro = result["benchmarks"]["aro"]
    groups = aro["splits"]["vg_relation"]["groups"]
    assert set(groups) == {"on", "next to"}
    assert aro["summary"]["vg_relation_macro"] == groups["on"]["accuracy"]
    # One crop of one photo, encoded once for all three items.
    assert result["n_unique_images"] == 1


def test_order_and_retrieval_on_karpathy_format_captions(tmp_path):
    pytest.importorskip("spacy")
    data = json.loads((REPO / "data" / "coco-mini" / "captions.json").read_text())
    images = data["images"][:4]
    caps = {i["id"]: [] for i in images}
    for a in data["annotations"]:
        if a["image_id"] in caps:
            caps[a["image_id"]].append(a["caption"])
    karpathy = {
        "images": [
            {
                "filepath": "val2014",
                "filename": f"COCO_val2014_{i['file_name']}",
                "split": "test",
                "sentences": [{"raw": c} for c in caps[i["id"]]],
            }
            for i in images
        ]
    }
    (tmp_path / "retrieval").mkdir()
    (tmp_path / "retrieval" / "dataset_coco.json").write_text(json.dumps(karpathy))
    result = evaluate(_tiny(), ["aro", "retrieval_coco"], tmp_path, IMAGES, workers=0)
    order = result["benchmarks"]["aro"]["splits"]["coco_order"]
    n_captions = sum(len(c) for c in caps.values())
    assert order["n_items"] == n_captions and order["n_scored"] == n_captions
    assert order["n_identical_after_truncation"] == 0  # equal foils were redrawn
    retrieval = result["benchmarks"]["retrieval_coco"]["splits"]["coco"]
    assert retrieval["n_scored"] == 4 and retrieval["n_texts"] == n_captions
    assert retrieval["i2t_R@10"] == retrieval["t2i_R@10"] == 1.0  # 4 images: all within 10
    assert result["n_unique_images"] == 4  # shared by the two benchmarks, encoded once


def test_winoground_through_evaluate(tmp_path):
    folder = tmp_path / "winoground" / "images"
    folder.mkdir(parents=True)
    photos = sorted(IMAGES.iterdir())[:3]
    for k, photo in enumerate(photos):
        Image.open(photo).convert("RGB").resize((96, 64)).save(folder / f"img_{k}.png")
    rows = [
        {
            "id": 0,
            "image_0": "img_0",
            "image_1": "img_1",
            "caption_0": "a camera on a tripod",
            "caption_1": "a cat in a toilet",
            "collapsed_tag": "Object",
        },
        {
            "id": 1,
            "image_0": "img_1",
            "image_1": "img_2",
            "caption_0": "a cat in a toilet",
            "caption_1": "a donut with coffee",
            "collapsed_tag": "Relation",
        },
        {"id": 2, "image_0": "img_1", "image_1": "img_9", "caption_0": "x", "caption_1": "y"},
    ]
    (tmp_path / "winoground" / "examples.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    result = evaluate(_tiny(), ["winoground"], tmp_path, (), workers=0)
    m = result["benchmarks"]["winoground"]["splits"]["all"]
    assert m["n_items"] == 3 and m["n_scored"] == 2 and m["n_missing_images"] == 1
    assert set(m["groups"]) == {"Object", "Relation"}
    for score in ("text", "image", "group"):
        assert m[score] in (0.0, 0.5, 1.0)
    assert m["group"] <= min(m["text"], m["image"])


def test_cli_rejects_an_unknown_benchmark_with_the_known_ones(tmp_path):
    result = CliRunner().invoke(
        app, ["--benchmark", "sugarcrepe,nope", "--out", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 2
    assert "nope: unknown benchmark" in result.output and "sugarcrepe" in result.output
    assert not (tmp_path / "r.json").exists()
