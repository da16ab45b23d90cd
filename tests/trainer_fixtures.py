"""Small trainer datasets written with the shards API from the bundled real photos.

Negatives are made by hand with simple word swaps (enough to exercise masks and slots; the
real generator lives in `ahnpl.pipeline`, which the trainer must not depend on). Edits are
real image operations (mirror, colour shift) of the photo, stored for some slots.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from PIL import Image, ImageOps

from ahnpl.shards.io import encode_table, get_writer
from ahnpl.shards.manifest import Manifest, ShardEntry, count_records, sha256_of, write_json_atomic
from ahnpl.shards.schema import CORE_NEGATIVE_TYPES, REJECT_SCHEMA, SCHEMA_VERSION, Edit, Record

REPO = Path(__file__).resolve().parent.parent
COCO_MINI = REPO / "data" / "coco-mini"

# slot → (pattern, replacement); a slot is invalid when its pattern is absent.
SWAPS = {
    "relation": [(r"\bon\b", "under"), (r"\bnext to\b", "far from"), (r"\bin\b", "outside")],
    "attribute_swap": [],
    "attribute": [
        (r"\bred\b", "blue"),
        (r"\bwhite\b", "black"),
        (r"\blarge\b", "small"),
        (r"\bbig\b", "tiny"),
        (r"\btwo\b", "three"),
    ],  # fmt: skip
    "object": [
        (r"\bman\b", "woman"),
        (r"\bdog\b", "cat"),
        (r"\btable\b", "bed"),
        (r"\bpeople\b", "horses"),
        (r"\btrain\b", "bus"),
    ],  # fmt: skip
    "verb": [(r"\bsitting\b", "jumping"), (r"\bstanding\b", "lying"), (r"\briding\b", "pushing")],
}


def negative(caption: str, slot: str) -> str:
    for pattern, repl in SWAPS[slot]:
        if re.search(pattern, caption):
            return re.sub(pattern, repl, caption, count=1)
    return ""


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def make_records(n_images: int = 30, size: int = 96, edits: bool = True) -> list[Record]:
    """Records for the first `n_images` bundled photos, resized so the short side is `size`."""
    data = json.loads((COCO_MINI / "captions.json").read_text())
    caps: dict[int, list[str]] = {}
    for a in data["annotations"]:
        caps.setdefault(a["image_id"], []).append(a["caption"].strip())
    records = []
    for info in data["images"][:n_images]:
        img = Image.open(COCO_MINI / "images" / info["file_name"]).convert("RGB")
        img = ImageOps.contain(img, (size * 2, size * 2))
        captions = caps[info["id"]]
        neg_texts = [[negative(c, s) for s in CORE_NEGATIVE_TYPES] for c in captions]
        neg_valid = [[bool(t) for t in row] for row in neg_texts]
        record_edits = []
        if edits:
            for c, row in enumerate(neg_valid):
                if row[0]:  # relation: the mirrored photo
                    record_edits.append(Edit(c, 0, jpeg(ImageOps.mirror(img)), "flip", 0))
                if row[2]:  # attribute: a colour-shifted photo
                    shifted = Image.merge("RGB", img.split()[::-1])
                    record_edits.append(Edit(c, 2, jpeg(shifted), "test-colour", 0, 0.1, 0.9))
        key = f"coco{info['id']:012d}"
        records.append(Record(key, jpeg(img), img.width, img.height, str(info["id"]), captions,
                              neg_texts, neg_valid, record_edits))  # fmt: skip
    return records


def write_dataset(
    out: Path, records: list[Record], images_per_shard: int = 8, fmt: str = "parquet"
) -> Path:
    """Write `records` as shards + manifest.json + rejects.parquet under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    writer = get_writer(fmt)
    types = list(CORE_NEGATIVE_TYPES)
    entries = []
    for i in range(0, len(records), images_per_shard):
        chunk = records[i : i + images_per_shard]
        name = f"shard-{i // images_per_shard:05d}{writer.suffix}"
        writer.write(chunk, str(out / name))
        digest, size = sha256_of(str(out / name))
        entries.append(ShardEntry(name=name, sha256=digest, bytes=size,
                                  **count_records(chunk, types)))  # fmt: skip
    (out / "rejects.parquet").write_bytes(encode_table([], REJECT_SCHEMA))
    totals = {
        "rows": sum(e.rows for e in entries),
        "captions": sum(e.captions for e in entries),
        "edits": sum(e.edits for e in entries),
    }
    manifest = Manifest(
        schema_version=SCHEMA_VERSION, format=fmt, negative_types=types,
        recipe={"source": "tests/trainer_fixtures.py"}, input_fingerprint="test",
        versions={}, shards=entries, totals=totals, rejects={},
    )  # fmt: skip
    write_json_atomic(str(out / "manifest.json"), manifest.model_dump())
    return out


# --- DDP gradient-equivalence helpers (spawned processes import this module by name) ---------


class TinyEncoder:
    """A two-tower linear 'CLIP' built on demand (torch imported lazily for spawn)."""

    @staticmethod
    def build(din: int = 7, d: int = 5):
        import torch
        from torch import nn

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                g = torch.Generator().manual_seed(0)
                self.img = nn.Parameter(torch.randn(d, din, generator=g, dtype=torch.float64))
                self.txt = nn.Parameter(torch.randn(d, din, generator=g, dtype=torch.float64))
                self.logit_scale = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))

            def forward(self, images, texts):
                norm = torch.nn.functional.normalize
                return (norm(images @ self.img.T, dim=-1), norm(texts @ self.txt.T, dim=-1),
                        self.logit_scale.exp())  # fmt: skip

        return Tiny()


def ddp_inputs(g_batch: int = 6, k: int = 3, din: int = 7):
    import torch

    gen = torch.Generator().manual_seed(1)
    x_img = torch.randn(g_batch, din, generator=gen, dtype=torch.float64)
    x_txt = torch.randn(g_batch, din, generator=gen, dtype=torch.float64)
    x_neg = torch.randn(g_batch, k, din, generator=gen, dtype=torch.float64)
    x_pix = torch.randn(g_batch, k, din, generator=gen, dtype=torch.float64)
    m = torch.rand(g_batch, k, generator=gen) < 0.6
    n = torch.rand(g_batch, k, generator=gen) < 0.3
    m[0] = False  # a row without any valid text negative
    return x_img, x_txt, x_neg, x_pix, m, n


def ddp_step(model, loss_fn, rows: slice, world):
    """Forward + backward of one rank's rows; returns the global (logged) loss terms."""
    import torch

    x_img, x_txt, x_neg, x_pix, m, n = (x[rows] for x in ddp_inputs())
    b, k, din = x_neg.shape
    img_f, txt_f, scale = model(torch.cat([x_img, x_pix.reshape(-1, din)]),
                                torch.cat([x_txt, x_neg.reshape(-1, din)]))  # fmt: skip
    v, t = img_f[:b], txt_f[:b]
    tn, pix = txt_f[b:].reshape(b, k, -1), img_f[b:].reshape(b, k, -1)
    terms = loss_fn(v, t, tn, m, pix, n, scale)
    terms["total"].backward()
    return {key: world.mean(x) for key, x in terms.items()}


MARGINS = ("mean", "max")


def ddp_loss_config(margin: str = "mean"):
    from ahnpl.trainer.config import LossConfig

    # α from the batch under `max`: its mean cosine is a global statistic too.
    return LossConfig(
        image_negatives="both",
        itc_image_negatives=True,
        margin=margin,
        alpha=0.9,
        alpha_from="batch" if margin == "max" else "fixed",
        lambda_mhn=0.5,
        lambda_dm=0.7,
        lambda_pos=0.3,
    )


def ddp_grad_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from ahnpl.trainer.distributed import World
    from ahnpl.trainer.losses import AHNPLLoss

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size)  # fmt: skip
    try:
        world = World(rank, world_size)
        for margin in MARGINS:
            model = DDP(TinyEncoder.build())
            loss_fn = AHNPLLoss(ddp_loss_config(margin), world).double()
            per = 6 // world_size
            terms = ddp_step(model, loss_fn, slice(rank * per, (rank + 1) * per), world)
            grads = {name: p.grad for name, p in model.module.named_parameters()}
            state = {"grads": grads, "terms": terms, "tau": loss_fn.margins()}
            state["alpha"] = loss_fn.pos.alpha
            torch.save(state, f"{out_dir}/{margin}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()
