"""`ahnpl-gen inspect`: what a dataset holds, as numbers and as a contact sheet a person can read.

Statistics come from the manifest (coverage per negative type, rejects by reason, edits) and
from the shards (edit scores). The HTML page shows, per image, the original, its captions with
each negative by type, and each edited image beside the negative it depicts. Images are inlined
as data URIs so the page is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict

import numpy as np
from PIL import Image

from ahnpl.shards import Manifest, Record, load_manifest, read_shard, shard_urls


def dataset_stats(root: str) -> dict:
    """Coverage per type, rejects by reason, edit counts and edit score summaries.

    Coverage is the share of stored captions with a valid negative of that type (0–1).
    Edit scores are CLIP cosines (directional and image similarity) where a filter ran.
    """
    manifest = load_manifest(root)
    t = manifest.totals
    captions = max(1, t["captions"])
    scores: dict[str, list[float]] = defaultdict(list)
    edits_per_type: dict[str, int] = defaultdict(int)
    for record in _records(root, manifest):
        for e in record.edits:
            edits_per_type[manifest.negative_types[e.slot]] += 1
            for name in ("score_dir", "score_img"):
                value = getattr(e, name)
                if value is not None:
                    scores[name].append(value)
    return {
        "images": t["images"],
        "captions": t["captions"],
        "images_rejected": t["images_rejected"],
        "coverage": {k: v / captions for k, v in t["valid_negatives"].items()},
        "captions_without_negative": t["captions_without_negative"],
        "rejects": manifest.rejects,
        "edits": t["edits"],
        "edits_per_type": dict(edits_per_type),
        "edit_failures": t["edit_failures"],
        "edit_scores": {
            k: {
                "n": len(v),
                "mean": float(np.mean(v)),
                "min": float(np.min(v)),
                "max": float(np.max(v)),
            }
            for k, v in scores.items()
        },
    }


def format_stats(stats: dict) -> str:
    lines = [
        f"images {stats['images']} (rejected {stats['images_rejected']}), "
        f"captions {stats['captions']} ({stats['captions_without_negative']} without negative)",
        "coverage per negative type (share of captions with a valid negative):",
    ]
    lines += [f"  {k:<15} {v:6.1%}" for k, v in stats["coverage"].items()]
    lines.append("rejects by reason:" + ("" if stats["rejects"] else " none"))
    lines += [f"  {k:<26} {v}" for k, v in stats["rejects"].items()]
    lines.append(
        f"edits {stats['edits']}: "
        + (", ".join(f"{k} {v}" for k, v in stats["edits_per_type"].items()) or "none")
    )
    if stats["edit_failures"]:
        lines.append(
            "edit failures: " + ", ".join(f"{k} {v}" for k, v in stats["edit_failures"].items())
        )
    for k, s in stats["edit_scores"].items():
        lines.append(f"  {k}: mean {s['mean']:.3f} [{s['min']:.3f}, {s['max']:.3f}] (n={s['n']})")
    return "\n".join(lines)


def _records(root: str, manifest: Manifest):
    for url in shard_urls(root, manifest):
        yield from read_shard(url)


def _thumbnail(jpeg: bytes, size: int = 224) -> str:
    img = Image.open(io.BytesIO(jpeg)).convert("RGB")
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
.item { border-top: 1px solid #ccc; padding: 1em 0; display: flex; gap: 1.5em; }
.images { display: flex; gap: .8em; flex-wrap: wrap; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: .8em; max-width: 224px; }
table { border-collapse: collapse; font-size: .9em; }
td, th { padding: .15em .6em; text-align: left; vertical-align: top; }
.invalid { color: #aaa; } .type { color: #666; white-space: nowrap; }
"""


def contact_sheet(root: str, limit: int = 50) -> str:
    """An HTML page (one string) for the first `limit` images of the dataset."""
    manifest = load_manifest(root)
    types = manifest.negative_types
    stats = dataset_stats(root)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ahnpl dataset {html.escape(root)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>ahnpl dataset: {html.escape(root)}</h1>",
        f"<pre id='stats'>{html.escape(format_stats(stats))}</pre>",
    ]
    for n, record in enumerate(_records(root, manifest)):
        if n >= limit:
            break
        parts.append(_item_html(record, types))
    parts.append("</body></html>")
    return "\n".join(parts)


def _item_html(record: Record, types: list[str]) -> str:
    figures = [
        f"<figure><img class='original' src='{_thumbnail(record.image)}' "
        f"alt='original {record.key}'><figcaption>original · {html.escape(record.source_id)} "
        f"· {record.width}×{record.height}</figcaption></figure>"
    ]
    for e in record.edits:
        label = (
            f"{types[e.slot]} edit of caption {e.caption + 1} ({html.escape(e.editor)}): "
            f"{html.escape(record.neg_texts[e.caption][e.slot])}"
        )
        if e.score_dir is not None:
            label += f" · dir {e.score_dir:.3f}, img {e.score_img:.3f}"
        figures.append(
            f"<figure><img class='edit' src='{_thumbnail(e.image)}' "
            f"alt='edit'><figcaption>{label}</figcaption></figure>"
        )
    rows = []
    for c, caption in enumerate(record.captions):
        rows.append(f"<tr><th colspan='2'>{c + 1}. {html.escape(caption)}</th></tr>")
        for t, text, ok in zip(types, record.neg_texts[c], record.neg_valid[c]):
            cell = html.escape(text) if ok else "<span class='invalid'>—</span>"
            rows.append(f"<tr><td class='type'>{t}</td><td>{cell}</td></tr>")
    return (
        f"<div class='item' id='item-{record.key}'><div class='images'>{''.join(figures)}"
        f"</div><table>{''.join(rows)}</table></div>"
    )
