"""ahnpl.models: the activation a checkpoint was trained with, and a fingerprint that tells."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import open_clip
import pytest
import torch
import trainer_fixtures as fx
from open_clip.transformer import QuickGELU

from ahnpl.models import create_model, fingerprint, load_checkpoint

REPO = Path(__file__).resolve().parent.parent


def activations(model: torch.nn.Module) -> set[str]:
    return {type(m).__name__ for m in model.modules() if type(m).__name__ in ("GELU", "QuickGELU")}


def test_quickgelu_name_and_fingerprint():
    gelu = create_model("ahnpl-tiny")
    quick = create_model("ahnpl-tiny-quickgelu")
    assert activations(gelu.model) == {"GELU"} and activations(quick.model) == {"QuickGELU"}
    assert quick.model_config["quick_gelu"] is True and gelu.model_config["quick_gelu"] is False
    quick.model.load_state_dict(gelu.model.state_dict())
    # Same weights, different networks: the fingerprint must tell them apart.
    assert fingerprint(quick.model) != fingerprint(gelu.model)
    x = torch.randn(2, 3, 64, 64)
    assert not torch.equal(quick.model.encode_image(x), gelu.model.encode_image(x))


def test_checkpoint_files_give_their_activation(tmp_path, caplog):
    quick = create_model("ahnpl-tiny-quickgelu").model
    state = quick.state_dict()
    ahnpl_file = tmp_path / "ahnpl.pt"
    config = {**open_clip.get_model_config("ahnpl-tiny"), "quick_gelu": True}
    torch.save({"state_dict": state, "model": "ahnpl-tiny", "model_config": config}, ahnpl_file)
    run_file = tmp_path / "open_clip.pt"
    run = "2024_05_01-10_00_00-model_ahnpl-tiny-quickgelu-lr_1e-05-b_256-j_8-p_amp"
    torch.save({"epoch": 1, "name": run, "state_dict": state}, run_file)
    bare = tmp_path / "bare.pt"
    torch.save(state, bare)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ahnpl.models"):
        for path in (ahnpl_file, run_file):
            loaded = create_model("ahnpl-tiny", str(path))
            assert activations(loaded.model) == {"QuickGELU"}, path
            assert fingerprint(loaded.model) == fingerprint(quick)
        assert activations(load_checkpoint(ahnpl_file).model) == {"QuickGELU"}
        assert not caplog.records
        # A bare state dict records nothing: built as the name says, with a warning.
        assert activations(create_model("ahnpl-tiny", str(bare)).model) == {"GELU"}
        assert "records no activation" in caplog.text and "ahnpl-tiny-quickgelu" in caplog.text
        caplog.clear()
        assert activations(create_model("ahnpl-tiny-quickgelu", str(bare)).model) == {"QuickGELU"}
        assert not caplog.records


def hub_cache_with_random_weights(home: Path, model: str, tag: str) -> None:
    """An HF hub cache (HF_HOME layout) holding random weights under the tag's hub id."""
    from safetensors.torch import save_file

    cfg = open_clip.get_pretrained_cfg(model, tag)
    repo_id, filename = os.path.split(cfg["hf_hub"])
    filename = filename or open_clip.pretrained.HF_SAFE_WEIGHTS_NAME
    assert filename.endswith(".safetensors"), filename
    commit = "0" * 40
    repo = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    torch.manual_seed(0)
    weights = open_clip.create_model(model).state_dict()
    save_file({k: v.half().contiguous() for k, v in weights.items()}, snapshot / filename)


@pytest.mark.slow
def test_openai_tag_trains_quickgelu_towers_from_an_offline_hub_cache(tmp_path):
    """`ahnpl-train --model ViT-B-32 --pretrained openai` builds the towers OpenAI trained:
    QuickGELU. The weights come from a local hub cache; nothing is downloaded."""
    home = tmp_path / "hf"
    hub_cache_with_random_weights(home, "ViT-B-32", "openai")
    data = fx.write_dataset(tmp_path / "ds", fx.make_records(4, 32), 2)
    out = tmp_path / "run"
    env = dict(os.environ, HF_HOME=str(home), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    env.pop("HF_HUB_CACHE", None)
    env.pop("HUGGINGFACE_HUB_CACHE", None)
    cmd = [
        sys.executable,
        "-m",
        "ahnpl.trainer.cli",
        "--data",
        str(data),
        "--out",
        str(out),
        "--model",
        "ViT-B-32",
        "--pretrained",
        "openai",
        "--batch-size",
        "2",
        "--steps",
        "1",
        "--workers",
        "0",
        "--log-every",
        "1",
        "optim.warmup_steps=0",
    ]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "QuickGELU mismatch" not in result.stderr
        ckpt = out / "checkpoints" / "latest.pt"
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        assert state["model_config"]["quick_gelu"] is True
        del state
        loaded = load_checkpoint(ckpt)
        assert activations(loaded.model) == {"QuickGELU"}
        blocks = loaded.model.visual.transformer.resblocks
        assert all(isinstance(b.mlp.gelu, QuickGELU) for b in blocks)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)  # about 2 GB of weights and checkpoint
