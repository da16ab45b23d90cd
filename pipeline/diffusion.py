"""Diffusion editors: instruct-pix2pix and SD-family img2img (SDEdit), batched and seeded per item.

DESIGN §5. Both load any diffusers checkpoint by hub id or local directory
(`from_pretrained`; nothing is hard-coded) and share one path:

1. each image is resized so its longer side is `resolution`, both sides rounded to a multiple
   of the VAE's scale factor (8 for SD), keeping the aspect;
2. requests with the same working size are batched; every item gets its own
   `torch.Generator` seeded with the request's own seed (`EditRequest.seed`, derived by the
   build from key, caption, slot and recipe seed), so an item's result does not depend on the
   batch it lands in;
3. the VAE (fp32 or bf16, never fp16, which overflows to NaN) encodes the images itself and the
   pipeline runs the UNet (and text encoder) in `dtype`, returning latents;
4. the VAE decodes; a non-finite, blank (near-constant) or safety-flagged image becomes a
   failure with a reason, never an image; the rest are resized back to the original size.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pydantic import ValidationError

from ahnpl.devices import resolve_device

from .edit_config import DiffusionOptions
from .editing import EditRequest, EditResult
from .editors import EDITORS
from .instructions import instruction

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
KINDS = ("instruct-pix2pix", "img2img")


def _check_model(model: str) -> None:
    path = Path(model).expanduser()
    looks_local = path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1
    if looks_local and not (path / "model_index.json").is_file():
        raise FileNotFoundError(
            f"--editor-model {model}: not a diffusers pipeline directory (no model_index.json); "
            "pass a hub id or a folder written by save_pretrained"
        )


def working_size(width: int, height: int, resolution: int, multiple: int) -> tuple[int, int]:
    """(width, height) with the longer side near `resolution`, both multiples of `multiple`.

    The aspect is kept up to the rounding; each side is at least `multiple`.
    """
    scale = resolution / max(width, height)
    w = max(multiple, round(width * scale / multiple) * multiple)
    h = max(multiple, round(height * scale / multiple) * multiple)
    return w, h


class DiffusionEditor:
    """instruct-pix2pix (`kind="instruct-pix2pix"`) or img2img SDEdit (`kind="img2img"`).

    The pipeline loads on first use, so an editor can be built (and its `info` written to the
    manifest) in a process that never edits.

    Raises:
        ValueError: unknown kind or a bad option (the message names it).
        FileNotFoundError: `model` is a local path without a diffusers pipeline.
    """

    def __init__(self, kind: str, **config: Any) -> None:
        self._configure(kind, config)
        _check_model(self.config.model)

    def _configure(self, kind: str, config: dict) -> None:
        if kind not in KINDS:
            raise ValueError(f"diffusion editor kind {kind!r}: choose from {list(KINDS)}")
        try:
            self.config = DiffusionOptions(editor=kind, **config)
        except ValidationError as e:
            raise ValueError(f"editor {kind!r} options: {e}") from e
        self.name = kind
        self._pipe = None

    @classmethod
    def from_pipeline(cls, kind: str, pipe: Any, **config: Any) -> DiffusionEditor:
        """An editor around an already-built diffusers pipeline (e.g. with LoRA weights fused).

        The pipeline is moved to `device` and `dtype`, its VAE to `vae_dtype`. `model` defaults
        to the pipeline's `name_or_path` (recorded in `info`).
        """
        config.setdefault("model", pipe.config.get("_name_or_path") or "<in-memory>")
        editor = cls.__new__(cls)
        editor._configure(kind, dict(config))
        dtype, vae_dtype = _DTYPES[editor.config.dtype], _DTYPES[editor.config.vae_dtype]
        for name, module in pipe.components.items():
            if isinstance(module, torch.nn.Module):  # the VAE never passes through `dtype`
                module.to(editor.device, vae_dtype if name == "vae" else dtype)
        pipe.set_progress_bar_config(disable=True)
        editor._pipe = pipe
        return editor

    # -- public interface -------------------------------------------------------------------

    def can_edit(self, negative: Any) -> bool:
        return getattr(negative, "type", None) in DiffusionOptions.editable_types

    def info(self) -> dict:
        """Model and sampling settings for the manifest (the same whether or not it loaded)."""
        import diffusers

        c = self.config
        out = {
            "editor": self.name,
            "model": c.model,
            "revision": c.revision,
            "variant": c.variant,
            "dtype": c.dtype,
            "vae_dtype": c.vae_dtype,
            "steps": c.steps,
            "guidance_scale": c.guidance_scale,
            "resolution": c.resolution,
            "size_multiple": c.size_multiple,
            "diffusers": diffusers.__version__,
        }
        if self.name == "instruct-pix2pix":
            out["image_guidance_scale"] = c.image_guidance_scale
        else:
            out["strength"] = c.strength
        return out

    def prompt(self, negative: Any) -> str:
        """The text the model is conditioned on: an instruction, or the negative caption."""
        if self.name == "instruct-pix2pix":
            return instruction(negative)
        return str(negative.text)

    def edit(self, requests: list[EditRequest]) -> list[EditResult]:
        """Edit every request; one result per request, in order.

        Requests are grouped by working size and run `batch_size` at a time; the result of
        each depends only on its own image, prompt and seed.
        """
        results: list[EditResult | None] = [None] * len(requests)
        groups: dict[tuple[int, int], list[int]] = {}
        multiple = None
        for i, r in enumerate(requests):
            if not self.can_edit(r.negative):
                results[i] = EditResult(None, "unsupported")
                continue
            if multiple is None:
                multiple = self.config.size_multiple or self.pipe.vae_scale_factor
            size = working_size(*r.image.size, self.config.resolution, multiple)
            groups.setdefault(size, []).append(i)
        bs = self.config.batch_size
        for size, idx in groups.items():
            for k in range(0, len(idx), bs):
                chunk = idx[k : k + bs]
                for i, res in zip(chunk, self._edit_batch([requests[i] for i in chunk], size)):
                    results[i] = res
        return results  # type: ignore[return-value]

    # -- model ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return resolve_device(self.config.device)

    @property
    def pipe(self):
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self):
        import diffusers

        c = self.config
        cls = (
            diffusers.StableDiffusionInstructPix2PixPipeline
            if self.name == "instruct-pix2pix"
            else diffusers.AutoPipelineForImage2Image
        )
        where = dict(revision=c.revision, variant=c.variant, local_files_only=c.local_files_only)
        with warnings.catch_warnings():
            # Newer diffusers renamed `torch_dtype` to `dtype`; the old name works everywhere.
            warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
            # fp16 VAEs overflow to NaN on some images: the VAE loads on its own in fp32 (or
            # bf16), straight from the checkpoint, not round-tripped through `dtype`.
            vae = diffusers.AutoencoderKL.from_pretrained(
                c.model, subfolder="vae", torch_dtype=_DTYPES[c.vae_dtype], **where
            )
            pipe = cls.from_pretrained(c.model, vae=vae, torch_dtype=_DTYPES[c.dtype], **where)
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        if self.name == "instruct-pix2pix" and pipe.unet.config.in_channels != 8:
            raise ValueError(
                f"--editor-model {c.model}: UNet has {pipe.unet.config.in_channels} input "
                "channels; instruct-pix2pix needs 8 (use editor img2img for a plain SD model)"
            )
        return pipe

    # -- one batch --------------------------------------------------------------------------

    @torch.inference_mode()
    def _edit_batch(self, batch: list[EditRequest], size: tuple[int, int]) -> list[EditResult]:
        pipe, c = self.pipe, self.config
        vae = pipe.vae
        device = self.device
        pixels = torch.stack(
            [_to_tensor(r.image.convert("RGB").resize(size, Image.LANCZOS)) for r in batch]
        ).to(device=device, dtype=vae.dtype)
        # The mode, not a sample: deterministic and independent of the batch's generators.
        latents = vae.encode(pixels).latent_dist.mode()
        generators = [torch.Generator(device=device).manual_seed(r.seed) for r in batch]
        prompts = [self.prompt(r.negative) for r in batch]
        common = dict(
            prompt=prompts,
            num_inference_steps=c.steps,
            guidance_scale=c.guidance_scale,
            generator=generators,
            output_type="latent",
        )
        if self.name == "instruct-pix2pix":
            # InstructPix2Pix conditions on unscaled image latents.
            out = pipe(image=latents, image_guidance_scale=c.image_guidance_scale, **common)
        else:
            out = pipe(image=latents * vae.config.scaling_factor, strength=c.strength, **common)
        decoded = vae.decode(out.images.to(vae.dtype) / vae.config.scaling_factor).sample
        decoded = decoded.float()
        finite = torch.isfinite(decoded).flatten(1).all(dim=1).tolist()
        decoded = torch.nan_to_num(decoded)
        nsfw = None
        if hasattr(pipe, "run_safety_checker"):  # returns None flags without a checker
            _, nsfw = pipe.run_safety_checker(decoded.to(vae.dtype), device, pipe.unet.dtype)
        images = (decoded / 2 + 0.5).clamp(0, 1)
        stds = images.flatten(1).std(dim=1).tolist()
        arrays = (images.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).cpu().numpy()
        results = []
        for k, r in enumerate(batch):
            if not finite[k]:
                results.append(EditResult(None, "non_finite"))
            elif nsfw is not None and nsfw[k]:
                results.append(EditResult(None, "nsfw"))
            elif stds[k] < c.blank_std:
                results.append(EditResult(None, "blank"))
            else:
                edited = Image.fromarray(arrays[k], "RGB")
                results.append(EditResult(edited.resize(r.image.size, Image.LANCZOS), None))
        return results


def _to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB -> float32 (3, H, W) in [-1, 1], the SD VAE's input range."""
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)


@EDITORS.register("instruct-pix2pix")
def instruct_pix2pix(**options: Any) -> DiffusionEditor:
    """Editor "instruct-pix2pix": `DiffusionOptions` fields in, a `DiffusionEditor` out."""
    return DiffusionEditor("instruct-pix2pix", **options)


@EDITORS.register("img2img")
def img2img(**options: Any) -> DiffusionEditor:
    """Editor "img2img" (SDEdit): `DiffusionOptions` fields in, a `DiffusionEditor` out."""
    return DiffusionEditor("img2img", **options)
