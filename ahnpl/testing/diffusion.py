"""Tiny random-weight Stable Diffusion pipelines built from configs (no download).

Like diffusers' own `get_dummy_components`: a small UNet2DConditionModel, an AutoencoderKL with
the real SD scale factor of 8 (four blocks), a small CLIPTextModel, and a CLIPTokenizer whose
vocab/merges are written from open_clip's bundled BPE file (the same BPE SD uses). Used by
tests/test_editors.py and bench/bench_edit.py; `sd15=True` gives SD 1.5 sizes for the GPU bench.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import torch

from ahnpl.pipeline.negatives import Negative


def make_negative(caption: str, type: str, original: str, replacement: str) -> Negative:
    """Replace the first `original` in `caption` by `replacement`."""
    start = caption.index(original)
    end = start + len(original)
    text = caption[:start] + replacement + caption[end:]
    return Negative(type, text, original, replacement, start, end)


def write_clip_tokenizer(folder: Path) -> Path:
    """Write vocab.json + merges.txt from open_clip's bundled BPE; return the folder.

    The token ids match open_clip's SimpleTokenizer (and OpenAI CLIP / SD 1.x): 49408 tokens,
    <|startoftext|>=49406, <|endoftext|>=49407.
    """
    import open_clip.tokenizer as oct

    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(oct.default_bpe(), "rt", encoding="utf-8") as f:
        merges = f.read().split("\n")[1 : 49152 - 256 - 2 + 1]
    byte_chars = list(oct.bytes_to_unicode().values())
    vocab = byte_chars + [c + "</w>" for c in byte_chars]
    vocab += ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


def _tokenizer():
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_clip_tokenizer(Path(tmp))
        return CLIPTokenizer(
            str(folder / "vocab.json"),
            str(folder / "merges.txt"),
            pad_token="<|endoftext|>",
            model_max_length=77,
        )


def build_pipeline(kind: str, out: Path, sd15: bool = False, seed: int = 0) -> Path:
    """Save a random-weight `kind` pipeline (see `make_pipeline`) to `out`; return `out`."""
    make_pipeline(kind, sd15=sd15, seed=seed).save_pretrained(out)
    return out


# Component configs: (UNet, VAE, CLIP text encoder) keyword arguments; the UNet's
# `in_channels` is set per kind (8 for instruct-pix2pix: noise + image latents).
_TEXT_IDS = dict(
    vocab_size=49408,
    max_position_embeddings=77,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)
_TINY = (
    dict(
        sample_size=8,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=8,
        norm_num_groups=8,
    ),
    dict(
        block_out_channels=(8, 8, 16, 16),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=4,
        sample_size=64,
    ),
    dict(
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        **_TEXT_IDS,
    ),
)
_SD15 = (
    dict(
        sample_size=64,
        out_channels=4,
        block_out_channels=(320, 640, 1280, 1280),
        layers_per_block=2,
        cross_attention_dim=768,
        attention_head_dim=8,
    ),
    dict(
        block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        layers_per_block=2,
        sample_size=512,
    ),
    dict(
        hidden_size=768,
        intermediate_size=3072,
        num_attention_heads=12,
        num_hidden_layers=12,
        hidden_act="quick_gelu",
        **_TEXT_IDS,
    ),
)


def make_pipeline(kind: str, sd15: bool = False, seed: int = 0):
    """A random-weight `kind` ("instruct-pix2pix" or "img2img") diffusers pipeline in memory.

    Tiny by default (about 3M parameters besides the 49408-token embedding); `sd15=True` uses
    the SD 1.5 UNet/VAE/text-encoder configs (~1.07B parameters). No safety checker.
    """
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionImg2ImgPipeline,
        StableDiffusionInstructPix2PixPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    unet_config, vae_config, text_config = _SD15 if sd15 else _TINY
    torch.manual_seed(seed)
    in_channels = 8 if kind == "instruct-pix2pix" else 4
    unet = UNet2DConditionModel(in_channels=in_channels, **unet_config)
    vae = AutoencoderKL(**vae_config)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_config))
    scheduler = EulerAncestralDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    cls = (
        StableDiffusionInstructPix2PixPipeline
        if kind == "instruct-pix2pix"
        else StableDiffusionImg2ImgPipeline
    )
    return cls(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
