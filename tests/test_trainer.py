"""Trainer: loader splitting and shuffling, exact resume, checkpoints, config, CLI."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import open_clip
import pytest
import torch
import trainer_fixtures as fx

from ahnpl.models import create_model
from ahnpl.shards.io import read_shard
from ahnpl.shards.manifest import load_manifest, shard_urls
from ahnpl.trainer.config import DataConfig, load_config
from ahnpl.trainer.data import ShardStream, StreamOptions, assign_shards, build_loader, shuffle

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def one_thread():
    # Two cores shared by several processes: more intra-op threads only add spin-waiting.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """12 real photos (60 captions) in 3 Parquet shards, with hand-made negatives and edits."""
    return fx.write_dataset(tmp_path_factory.mktemp("trainer") / "ds", fx.make_records(12, 64), 4)


@pytest.fixture(scope="session")
def tiny_model():
    return create_model("ahnpl-tiny")


def stream(path, rank=0, world=1, **kw) -> ShardStream:
    manifest = load_manifest(str(path))
    cfg = DataConfig(path=str(path), batch_size=4, workers=0, **kw)
    urls = shard_urls(str(path), manifest)
    k = len(manifest.negative_types)
    return ShardStream(urls, k, lambda img: img, lambda t: t, cfg, 3, rank=rank, world_size=world)


def pairs(samples) -> list[tuple[str, str]]:
    return [(s.key, s.caption) for s in samples]


@pytest.mark.parametrize("n_shards", [1, 2, 3, 4, 7, 12])
@pytest.mark.parametrize("world,workers", [(1, 1), (2, 1), (2, 3), (3, 2)])
def test_every_row_read_by_exactly_one_rank_and_worker(n_shards, world, workers):
    rows_per_shard = 5
    seen = Counter()
    for rank in range(world):
        for wid in range(workers):
            picked, stride, offset = assign_shards(n_shards, rank, world, wid, workers)
            shards = picked if picked is not None else range(n_shards)
            r = 0
            for s in shards:
                for row in range(rows_per_shard):
                    if r % stride == offset:
                        seen[(s, row)] += 1
                    r += 1
    assert seen == Counter({(s, r): 1 for s in range(n_shards) for r in range(rows_per_shard)})


def test_ranks_split_one_epoch_without_overlap(tiny_dataset):
    everything = sorted(
        (r.key, c)
        for u in shard_urls(str(tiny_dataset), load_manifest(str(tiny_dataset)))
        for r in read_shard(u)
        for c in r.captions
    )
    parts = [pairs(stream(tiny_dataset, rank, 2).samples(0)) for rank in range(2)]
    assert parts[0] and parts[1]
    assert sorted(parts[0] + parts[1]) == everything


def test_shuffle_is_seeded_and_changes_per_epoch(tiny_dataset):
    a0 = pairs(stream(tiny_dataset).samples(0))
    assert a0 == pairs(stream(tiny_dataset).samples(0))
    a1 = pairs(stream(tiny_dataset).samples(1))
    assert sorted(a0) == sorted(a1) and a0 != a1


def test_one_caption_per_image_rotates_with_epoch(tiny_dataset):
    e0 = pairs(stream(tiny_dataset, captions_per_image="one").samples(0))
    e1 = pairs(stream(tiny_dataset, captions_per_image="one").samples(1))
    assert len(e0) == 12 == len({k for k, _ in e0})
    assert dict(e0) != dict(e1)


def test_shuffle_buffer_holds_at_most_bufsize():
    import random

    consumed = 0

    def source():
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield i

    out = []
    for x in shuffle(source(), 16, random.Random(0)):
        out.append(x)
        assert consumed - len(out) <= 16
    assert sorted(out) == list(range(1000)) and out != list(range(1000))


def test_batches_carry_masks_tokens_and_capped_edits(tiny_dataset, tiny_model):
    cfg = DataConfig(path=str(tiny_dataset), batch_size=6, workers=0, image_negatives_per_sample=1)
    pixel = StreamOptions(pixel_negatives=True)
    data = build_loader(cfg, tiny_model.preprocess_train, tiny_model.tokenizer, 0, options=pixel)
    records = {
        r.key: r for u in shard_urls(str(tiny_dataset), data.manifest) for r in read_shard(u)
    }
    batch = next(iter(data.loader))
    assert batch["images"].shape == (6, 3, 64, 64)
    assert batch["neg_texts"].shape == (6, 5, 77) and batch["texts"].shape == (6, 77)
    assert batch["edit_images"].shape[0] == batch["edit_index"].numel()
    per_sample = Counter((batch["edit_index"] // 5).tolist())
    assert max(per_sample.values(), default=0) <= 1
    for b, key in enumerate(batch["keys"]):
        record = records[key]
        caption_tokens = batch["texts"][b]
        c = next(
            i
            for i, cap in enumerate(record.captions)
            if torch.equal(tiny_model.tokenizer([cap])[0], caption_tokens)
        )
        assert batch["neg_mask"][b].tolist() == record.neg_valid[c]
        for slot in (batch["edit_index"][batch["edit_index"] // 5 == b] % 5).tolist():
            assert any(e.caption == c and e.slot == slot for e in record.edits)
    assert data.samples_per_epoch == 60


def run_cfg(data: Path, out: Path, steps: int, **extra):
    sets = [
        f"data.path={data}",
        f"run.out={out}",
        f"run.steps={steps}",
        "data.batch_size=4",
        "data.workers=0",
        "optim.lr=1e-3",
        "optim.warmup_steps=2",
        "run.log_every=5",
        "run.save_every=10",
        "data.image_negatives_per_sample=1",
    ]
    sets += [f"{k}={v}" for k, v in extra.items()]
    return load_config(None, sets=sets)


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)


class Killed(Exception):
    pass


@pytest.fixture(scope="session")
def dataset_with_bad_images(tmp_path_factory) -> Path:
    """The tiny dataset with two undecodable images (10 of its 60 samples are skipped)."""
    records = fx.make_records(12, 64)
    for r in records[3:5]:
        r.image = b"not an image"
    return fx.write_dataset(tmp_path_factory.mktemp("bad") / "ds", records, 4)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2, 3])
def test_twenty_steps_equal_ten_resume_ten(dataset_with_bad_images, tmp_path, monkeypatch, workers):
    """Killed after its step-9 checkpoint (save_every 3), resumed, killed after the step-10
    one, resumed to 20: bit for bit the uninterrupted run, whatever the worker count (9 and
    10 are not multiples of 2 and 3) and although undecodable samples lie in the skipped
    ranges."""
    from ahnpl.trainer import checkpoint, train

    def cfg(out, **extra):
        extra = {"data.workers": workers, "run.save_every": 3, **extra}
        return run_cfg(dataset_with_bad_images, out, 20, **extra)

    straight = train.train(cfg(tmp_path / "a"))
    real_save = checkpoint.save_atomic

    def dies_after(step):
        def save_then_die(state, path):
            real_save(state, path)
            if state["step"] == step:
                raise Killed  # the process dies right after this checkpoint

        return save_then_die

    monkeypatch.setattr(checkpoint, "save_atomic", dies_after(9))
    with pytest.raises(Killed):
        train.train(cfg(tmp_path / "b"))
    monkeypatch.setattr(checkpoint, "save_atomic", dies_after(10))
    with pytest.raises(Killed):
        train.train(cfg(tmp_path / "b", **{"run.resume": True, "run.save_every": 5}))
    monkeypatch.setattr(checkpoint, "save_atomic", real_save)
    half = weights(tmp_path / "b" / "checkpoints" / "latest.pt")
    assert half["step"] == 10
    resumed = train.train(cfg(tmp_path / "b", **{"run.resume": True}))

    a, b = weights(straight), weights(resumed)
    assert a["step"] == b["step"] == 20 and a["samples_seen"] == b["samples_seen"] == 80
    assert not torch.equal(
        half["state_dict"]["text_projection"], a["state_dict"]["text_projection"]
    )
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name
    assert torch.equal(a["loss"]["loss.dm_text.tau"], b["loss"]["loss.dm_text.tau"])
    assert a["data"] == b["data"]
    # The checkpoint is what evaluation loads: open_clip and ahnpl.models both read it.
    assert b["model"] == "ahnpl-tiny" and b["model_config"]["embed_dim"] == 64
    model = create_model("ahnpl-tiny", pretrained=str(resumed)).model
    assert torch.equal(model.state_dict()["text_projection"], a["state_dict"]["text_projection"])
    fresh = create_model("ahnpl-tiny").model
    open_clip.load_checkpoint(fresh, str(resumed), weights_only=True)
    csv_lines = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("step,loss/itc,") and "margin/text/relation" in csv_lines[0]
    assert [line.split(",")[0] for line in csv_lines[1:]] == ["5", "10", "15", "20"]


def test_config_yaml_overrides_and_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("data: {path: /d, batch_size: 8}\nrun: {epochs: 2}\nloss: {margin: max}\n")
    cfg = load_config(path, {"data.batch_size": 16, "loss.tau_max": None}, ["loss.lambda_dm=0.5"])
    assert (cfg.data.batch_size, cfg.loss.margin, cfg.loss.lambda_dm) == (16, "max", 0.5)
    assert cfg.loss.tau_max == 10.0 and cfg.run.epochs == 2
    with pytest.raises(ValueError, match="margin"):
        load_config(path, sets=["loss.margin=median"])
    with pytest.raises(ValueError, match="lamda_dm"):
        load_config(path, sets=["loss.lamda_dm=0.5"])  # a typo is an error, not ignored
    with pytest.raises(ValueError, match="exactly one of run.steps"):
        load_config(path, sets=["run.steps=5"])
    with pytest.raises(ValueError, match="--data"):
        load_config(None, sets=["run.steps=5"])


def test_non_finite_loss_skips_the_step(tiny_dataset, tmp_path, monkeypatch):
    from ahnpl.trainer import objective, train

    real = objective.build_objective

    def poisoned(*args):
        loss = real(*args)
        forward = loss.forward
        calls = []

        def maybe_nan(*args):
            out = forward(*args)
            calls.append(1)
            if len(calls) == 2:
                out["total"] = out["total"] * float("nan")
            return out

        loss.forward = maybe_nan
        return loss

    monkeypatch.setattr(train, "build_objective", poisoned)
    path = train.train(run_cfg(tiny_dataset, tmp_path, 3, **{"run.log_every": 1}))
    state = weights(path)
    assert state["step"] == 3 and state["skipped"] == 1
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("skipped_steps")
    assert [r.split(",")[col] for r in rows[1:]] == ["0", "1", "1"]
    assert all(torch.isfinite(t).all() for t in state["state_dict"].values())


@pytest.mark.parametrize("augment", ["crop", "none"])
def test_augment_none_trains_on_the_evaluation_transform(
    tiny_dataset, tmp_path, monkeypatch, augment
):
    """`data.augment=none` feeds the images as evaluation sees them (no random crop)."""
    from ahnpl.trainer import train
    from ahnpl.trainer.data import decode_image

    seen = []
    step = train.Run.step

    def spy(self, batch, lr):
        seen.append((batch["keys"], batch["images"]))
        return step(self, batch, lr)

    monkeypatch.setattr(train.Run, "step", spy)
    train.train(run_cfg(tiny_dataset, tmp_path, 2, **{"data.augment": augment}))
    manifest = load_manifest(str(tiny_dataset))
    images = {
        r.key: r.image for u in shard_urls(str(tiny_dataset), manifest) for r in read_shard(u)
    }
    val = create_model("ahnpl-tiny").preprocess_val
    same = [
        torch.equal(val(decode_image(images[key])), image)
        for keys, batch in seen
        for key, image in zip(keys, batch)
    ]
    assert len(same) == 8
    assert all(same) if augment == "none" else not any(same)


def test_fused_adamw_makes_the_same_update(tiny_dataset, tmp_path):
    from ahnpl.trainer.train import train

    runs = {}
    for fused in (False, True):
        out = tmp_path / str(fused)
        runs[fused] = weights(train(run_cfg(tiny_dataset, out, 3, **{"optim.fused": fused})))
    assert [g["fused"] for g in runs[True]["optimizer"]["param_groups"]] == [True, True]
    plain, fused = runs[False]["state_dict"], runs[True]["state_dict"]
    # Same update up to rounding order (3 steps of lr 1e-3 move a weight by up to 3e-3).
    assert all(torch.allclose(plain[k], fused[k], atol=2e-4) for k in plain)


@pytest.mark.parametrize("mode", ["reference", "clip"])
def test_other_loss_modes_train(tiny_dataset, tmp_path, mode):
    from ahnpl.trainer.train import train

    state = weights(train(run_cfg(tiny_dataset, tmp_path, 2, **{"loss.mode": mode})))
    assert state["step"] == 2
    header = (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert ("loss/mhn_text" in header) == (mode == "reference")


@pytest.mark.slow
def test_torchrun_two_cpu_processes(tiny_dataset, tmp_path):
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torchrun = Path(sys.executable).parent / "torchrun"
    args = f"--nproc_per_node 2 --master_port {port} -m ahnpl.trainer.cli --data {tiny_dataset}"
    args += f" --out {tmp_path} --model ahnpl-tiny --batch-size 4 --steps 2 --device cpu"
    args += " --workers 1 --log-every 1"
    cmd = [str(torchrun), *args.split(), "--pretrained", ""]
    result = fx.run_ranks(cmd, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "checkpoint:" in result.stdout
    state = weights(tmp_path / "checkpoints" / "latest.pt")
    assert state["samples_seen"] == 2 * 4 * 2 and len(state["rng"]) == 2


def test_webdataset_shards_stream_the_same_samples(tmp_path):
    records = fx.make_records(6, 48)
    pq = fx.write_dataset(tmp_path / "pq", records, 3, "parquet")
    tar = fx.write_dataset(tmp_path / "tar", records, 3, "webdataset")
    assert pairs(stream(pq).samples(0)) == pairs(stream(tar).samples(0))


def test_pixel_negatives_reach_the_vision_encoder_with_gradients(tiny_dataset, tiny_model):
    from ahnpl.trainer.config import LossConfig
    from ahnpl.trainer.objective import build_objective, encode

    cfg = DataConfig(path=str(tiny_dataset), batch_size=8, workers=0)
    pixel = StreamOptions(pixel_negatives=True)
    data = build_loader(cfg, tiny_model.preprocess_train, tiny_model.tokenizer, 1, options=pixel)
    batch = next(iter(data.loader))
    assert batch["edit_images"].shape[0] > 0
    batch["edit_images"].requires_grad_(True)
    grads = {}
    for mode in ("pixel", "feature"):
        objective = build_objective(LossConfig(image_negatives=mode), 5, 8)
        out = objective(encode(tiny_model.model, batch, torch.device("cpu"), objective))
        (grads[mode],) = torch.autograd.grad(out["total"], batch["edit_images"], allow_unused=True)
    assert grads["pixel"] is not None and grads["pixel"].abs().sum() > 0
    assert grads["feature"] is None or grads["feature"].abs().sum() == 0


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_steps_on_cpu(tiny_dataset, tmp_path, precision):
    from ahnpl.trainer.train import train

    state = weights(train(run_cfg(tiny_dataset, tmp_path, 2, **{"run.precision": precision})))
    assert state["step"] == 2
    assert all(t.dtype != torch.bfloat16 for t in state["state_dict"].values())  # fp32 master
    assert (state["scaler"] != {}) == (precision == "fp16")


def test_cli_config_positional_overrides_and_errors(tiny_dataset, tmp_path):
    from typer.testing import CliRunner

    from ahnpl.trainer.cli import app

    config = tmp_path / "c.yaml"
    config.write_text("data: {batch_size: 4, workers: 0}\nrun: {epochs: 5, log_every: 1}\n")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            str(config),
            "loss.margin=max",
            "optim.warmup_steps=0",
            "--data",
            str(tiny_dataset),
            "--out",
            str(tmp_path / "run"),
            "--steps",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "checkpoint:" in result.output and "step 2 |" in result.output
    resolved = (tmp_path / "run" / "config.yaml").read_text()
    assert "margin: max" in resolved and "steps: 2" in resolved and "epochs: null" in resolved

    bad = runner.invoke(app, [str(config), "--data", str(tiny_dataset), "--loss", "fancy"])
    assert bad.exit_code == 2 and "loss.mode" in bad.output
    missing = runner.invoke(app, ["--steps", "1"])
    assert missing.exit_code == 2 and "--data" in missing.output


def test_more_ranks_than_image_rows_is_a_clear_error(tmp_path, tiny_model):
    small = fx.write_dataset(tmp_path / "ds", fx.make_records(2, 32), 1)
    cfg = DataConfig(path=str(small), batch_size=2, workers=0)
    with pytest.raises(ValueError, match="2 image rows for 3 ranks"):
        build_loader(
            cfg, tiny_model.preprocess_train, tiny_model.tokenizer, seed=0, rank=0, world_size=3
        )
    # Two rows and two ranks: one row each, no rank waits forever.
    for rank in range(2):
        data = build_loader(
            cfg, tiny_model.preprocess_train, tiny_model.tokenizer, seed=0, rank=rank, world_size=2
        )
        # Two batches of the first epoch (5 captions): one image (the shards move per epoch).
        keys = {k for _, b in zip(range(2), data.loader) for k in b["keys"]}
        assert len(keys) == 1


def test_periodic_benchmark_evaluation(tiny_dataset, tmp_path):
    import json

    from ahnpl.trainer.train import train

    extra = {
        "eval.every": 1,
        "eval.data_root": REPO / "data" / "benchmarks",
        "eval.images": f"[{REPO / 'data' / 'coco-mini' / 'images'}]",
    }
    train(run_cfg(tiny_dataset, tmp_path, 2, **extra))
    lines = [json.loads(x) for x in (tmp_path / "eval.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2]
    assert 0.0 <= lines[-1]["sugarcrepe/overall"] <= 1.0
    splits = {k.split("/")[1] for k in lines[-1] if k.endswith("/accuracy")}
    assert splits == {
        "add_att",
        "add_obj",
        "replace_att",
        "replace_obj",
        "replace_rel",
        "swap_att",
        "swap_obj",
    }


def test_workers_never_outnumber_the_poorest_ranks_rows(tmp_path, tiny_model):
    # Shards of 3, 3 and 1 rows over 2 ranks: a rank may hold only the 1-row shard.
    ds = fx.write_dataset(tmp_path / "ds", fx.make_records(7, 32), 3)
    cfg = DataConfig(path=str(ds), batch_size=2, workers=4, shuffle_buffer=20)
    data = build_loader(
        cfg, tiny_model.preprocess_train, tiny_model.tokenizer, seed=0, rank=1, world_size=2
    )
    assert data.loader.num_workers == 1


@pytest.mark.slow
def test_trainer_imports_neither_spacy_diffusers_nor_pipeline():
    import subprocess
    import sys

    code = (
        "import sys, ahnpl.trainer.cli, ahnpl.trainer.train, ahnpl.trainer.data, "
        "ahnpl.trainer.losses, ahnpl.trainer.metrics\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('spacy', 'diffusers') "
        "or m.startswith('ahnpl.pipeline')]\n"
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def optimizer_steps(state: dict) -> int:
    """Updates AdamW made, from its own per-parameter step counters (0 if it never stepped)."""
    counters = {int(s["step"]) for s in state["optimizer"]["state"].values()}
    assert len(counters) <= 1
    return counters.pop() if counters else 0


def test_fp16_steps_the_scaler_skips_are_counted(tiny_dataset, tmp_path):
    from ahnpl.trainer.train import train

    state = weights(train(run_cfg(tiny_dataset, tmp_path, 2, **{"run.precision": "fp16"})))
    assert state["step"] == 2
    assert state["skipped"] >= 1  # the first scale (65536) overflows fp16 on this model
    assert optimizer_steps(state) + state["skipped"] == 2
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    col = rows[0].split(",").index("skipped_steps")
    assert int(rows[-1].split(",")[col]) == state["skipped"]


def test_negative_identical_to_its_caption_after_truncation_is_invalid(tiny_dataset, tiny_model):
    from ahnpl.trainer.data import RawSample

    words = " ".join(f"word{i}" for i in range(80))  # 80 words: far past 77 tokens
    caption = f"a dog on {words} near a red car"
    kept = caption.replace("a dog on", "a cat on")  # differs inside the context
    lost = caption.replace("red car", "blue car")  # differs only after the cut
    manifest = load_manifest(str(tiny_dataset))
    cfg = DataConfig(path=str(tiny_dataset), batch_size=1, workers=0)
    k = len(manifest.negative_types)
    urls = shard_urls(str(tiny_dataset), manifest)
    s = ShardStream(urls, k, tiny_model.preprocess_train, tiny_model.tokenizer, cfg, 0)
    negatives = [kept, lost] + [""] * (k - 2)
    valid = [True, True] + [False] * (k - 2)
    sample = RawSample("key", b"", caption, negatives, valid)
    batch = s.collate([(sample, torch.zeros(3, 64, 64), [])])
    assert batch["neg_mask"][0].tolist() == [True] + [False] * (k - 1)
    assert batch["same_tokens"] == 1


def test_invalid_slots_hold_the_requested_text(tiny_dataset, tiny_model):
    """The reference objective's loader puts '###' in invalid slots, as its data does."""
    cfg = DataConfig(path=str(tiny_dataset), batch_size=6, workers=0)
    options = StreamOptions(invalid_slot_text="###")
    data = build_loader(cfg, tiny_model.preprocess_train, tiny_model.tokenizer, 0, options=options)
    batch = next(iter(data.loader))
    hashes = tiny_model.tokenizer(["###"])[0]
    invalid = ~batch["neg_mask"]
    assert invalid.any() and batch["neg_mask"].any()
    assert all(torch.equal(row, hashes) for row in batch["neg_texts"][invalid])
    assert not any(torch.equal(row, hashes) for row in batch["neg_texts"][~invalid])


def copy_dataset(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def cli(*args: str):
    from typer.testing import CliRunner

    from ahnpl.trainer.cli import app

    return CliRunner().invoke(app, list(args))


def test_a_shard_from_another_dataset_is_refused(tiny_dataset, tmp_path):
    """A shard copied in from another dataset is caught when it is opened (size, rows), and a
    same-size change by `--verify-data` (sha256); both as one-line errors."""
    ds = copy_dataset(tiny_dataset, tmp_path / "ds")
    other = fx.write_dataset(tmp_path / "other", fx.make_records(12, 48)[4:8], 4)
    manifest = load_manifest(str(ds))
    names = [s.name for s in manifest.shards]
    (ds / names[0]).write_bytes((other / names[0]).read_bytes())
    common = ["--data", str(ds), "--steps", "8", "--batch-size", "4", "--workers", "0"]
    result = cli(*common, "--out", str(tmp_path / "r1"), "optim.warmup_steps=0")
    assert result.exit_code == 2, result.output
    assert "the manifest lists" in result.output and names[0] in result.output

    ds2 = copy_dataset(tiny_dataset, tmp_path / "ds2")
    raw = bytearray((ds2 / names[1]).read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size, other bytes
    (ds2 / names[1]).write_bytes(bytes(raw))
    common[1] = str(ds2)
    result = cli(*common, "--out", str(tmp_path / "r2"), "--verify-data")
    assert result.exit_code == 2 and "sha256" in result.output and names[1] in result.output
    assert not (tmp_path / "r2" / "checkpoints").exists()


def test_run_folders_are_never_mixed(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    common = ["--data", str(tiny_dataset), "--out", str(out), "--batch-size", "4"]
    common += ["--workers", "0", "--log-every", "1", "optim.warmup_steps=0"]
    first = cli(*common, "--steps", "2")
    assert first.exit_code == 0, first.output
    config = (out / "config.yaml").read_text()
    metrics = (out / "metrics.csv").read_text()

    again = cli(*common, "--steps", "2")
    assert (
        again.exit_code == 2
        and "already holds a run" in again.output
        and "--resume" in again.output
    )
    changed = cli(*common, "--steps", "2", "--resume", "--margin", "max", "--lr", "0.5")
    assert changed.exit_code == 2 and "Traceback" not in changed.output
    line = [x for x in changed.output.splitlines() if x.startswith("error:")]
    assert len(line) == 1 and "loss.margin ('mean' → 'max')" in line[0] and "optim.lr" in line[0]
    assert (out / "config.yaml").read_text() == config
    assert (out / "metrics.csv").read_text() == metrics

    # A killed run may have logged steps after its last checkpoint: they are redone, once.
    (out / "metrics.csv").write_text(metrics + metrics.splitlines()[-1].replace("2,", "7,", 1))
    longer = cli(*common, "--steps", "3", "--resume")
    assert longer.exit_code == 0, longer.output
    assert "resumed from step 2" in longer.output
    assert "run.steps was 2, now 3" in longer.output
    assert weights(out / "checkpoints" / "latest.pt")["step"] == 3
    steps = [x.split(",")[0] for x in (out / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == ["1", "2", "3"]


def _scored_record():
    from ahnpl.shards import Edit, Record

    return Record(
        key="000000001",
        image=b"jpeg",
        width=1,
        height=1,
        source_id="1",
        captions=["A cat on a table.", "A cat."],
        neg_texts=[["A cat under a table.", "A dog on a table."], ["", "A dog."]],
        neg_valid=[[True, True], [False, True]],
        neg_scores=[[-1.5, -4.0], [None, None]],
        edits=[
            Edit(0, 1, b"edit", "flip", 0, None, None),
            Edit(0, 0, b"e0", "flip", 0, None, None),
        ],
    )


def test_min_negative_score_drops_implausible_negatives_and_their_edits():
    from ahnpl.trainer.data import expand

    record = _scored_record()
    kept = list(expand(record, 0, "all", True))
    assert [s.valid for s in kept] == [[True, True], [False, True]]
    first, second = expand(record, 0, "all", True, min_score=-3.0)
    assert first.valid == [True, False]  # -4.0 nats is below the threshold
    assert [slot for slot, _ in first.edits] == [0]  # the dropped negative's edit goes too
    assert second.valid == [False, True]  # stored without a score: kept
    with pytest.raises(ValueError):
        DataConfig(min_negative_score=0.5)  # a log-probability is ≤ 0


def test_the_stream_applies_min_negative_score(tmp_path):
    records = fx.make_records(6, 64)
    for r in records:  # slot s of every caption scores -(s + 1) nats; slot 0 unscored
        r.neg_scores = [[None] + [-(s + 1.0) for s in range(1, len(v))] for v in r.neg_valid]
    path = fx.write_dataset(tmp_path / "ds", records, 2)

    def negatives(**kw):
        return Counter(
            s for x in stream(path, **kw).samples(0) for s, ok in enumerate(x.valid) if ok
        )

    every, kept = negatives(), negatives(min_negative_score=-2.5)
    assert kept == {s: n for s, n in every.items() if s in (0, 1)}  # -2 ≥ -2.5 > -3
    assert every.keys() - {0, 1}, "the records have negatives in later slots"
