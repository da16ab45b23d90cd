"""`ahnpl-gen inspect`: what a dataset holds, as numbers and as a contact sheet a person can read.

Statistics come from the manifest (coverage per negative type, rejects by reason, edits) and
from the shards (edit scores). The HTML page shows the statistics as tables, the rejected inputs
(from `rejects.parquet`: what, where and why), then, per image, the original, its captions with
each negative by type, and each edited image beside the negative it depicts. Images are inlined
as data URIs so the page is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict

import fsspec
import numpy as np
from PIL import Image

from ahnpl.shards import Manifest, Record, load_manifest, load_rejects, read_shard, shard_urls
from ahnpl.shards.manifest import REJECTS_NAME, join

# Rejected inputs listed on the contact sheet; the rest are counted, and all are in the file.
MAX_LISTED_REJECTS = 200
REJECT_COLUMNS = ("offset", "level", "source_id", "path", "reason", "detail")


def dataset_stats(root: str) -> dict:
    """Coverage per type, rejects by reason, edit counts and edit score summaries.

    Coverage is the share of stored captions with a valid negative of that type (0–1).
    Edit scores are CLIP cosines (directional and image similarity) where a filter ran.
    """
    manifest = load_manifest(root)
    t = manifest.totals
    captions = max(1, t.captions)
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
        "images": t.images,
        "captions": t.captions,
        "images_rejected": t.images_rejected,
        "coverage": {k: v / captions for k, v in t.valid_negatives.items()},
        "captions_without_negative": t.captions_without_negative,
        "rejects": manifest.rejects,
        "edits": t.edits,
        "edits_per_type": dict(edits_per_type),
        "edit_failures": t.edit_failures,
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


def read_rejects(root: str, limit: int = MAX_LISTED_REJECTS) -> tuple[list[dict], int]:
    """The first `limit` rows of `rejects.parquet` (as dicts of `REJECT_COLUMNS`) and the
    number of rows in all; ([], 0) when the dataset has no rejects file."""
    fs, path = fsspec.core.url_to_fs(join(root, REJECTS_NAME))
    if not fs.exists(path):
        return [], 0
    rejects = load_rejects(root)  # typed rows of the contract (`ahnpl.shards.Reject`)
    return [r.model_dump(include=set(REJECT_COLUMNS)) for r in rejects[:limit]], len(rejects)


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
.stats { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
.stats table, table.rejects { border: 1px solid #ccc; margin-bottom: 1em; }
.stats caption, table.rejects caption { font-weight: bold; text-align: left; padding: .3em 0; }
.stats thead th, table.rejects thead th { border-bottom: 1px solid #ccc; background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


def _table(id_: str, caption: str, headers: list[str], rows: list[list]) -> str:
    """An HTML table with `id_` as its id and class; numbers right-aligned, text escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = ["<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows]
    if not rows:
        body.append(f"<tr><td colspan='{len(headers)}' class='invalid'>none</td></tr>")
    return (
        f"<table class='{id_}' id='{id_}'><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _cell(value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"<td class='num'>{value}</td>"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def stats_html(stats: dict) -> str:
    """The statistics of `dataset_stats` as HTML tables (one per kind of figure)."""
    totals = [
        ["images", stats["images"]],
        ["images rejected", stats["images_rejected"]],
        ["captions", stats["captions"]],
        ["captions without a negative", stats["captions_without_negative"]],
        ["edits", stats["edits"]],
    ]
    n = stats["captions"]
    coverage = [[t, round(v * n), f"{v:.1%}"] for t, v in stats["coverage"].items()]
    scores = [
        [k, s["n"], f"{s['mean']:.3f}", f"{s['min']:.3f}", f"{s['max']:.3f}"]
        for k, s in stats["edit_scores"].items()
    ]
    tables = [
        ("stats-totals", "dataset", ["", "count"], totals),
        ("stats-coverage", "coverage per negative type", ["type", "captions", "share"], coverage),
        ("stats-rejects", "rejects by reason", ["reason", "inputs"], stats["rejects"].items()),
        ("stats-edits", "edits per type", ["type", "edits"], stats["edits_per_type"].items()),
        ("stats-failures", "edit failures", ["reason", "edits"], stats["edit_failures"].items()),
        ("stats-scores", "edit scores (CLIP cosine)", ["score", "n", "mean", "min", "max"], scores),
    ]
    html_tables = [_table(i, c, h, [list(r) for r in rows]) for i, c, h, rows in tables]
    return "<div class='stats' id='stats'>" + "".join(html_tables) + "</div>"


def rejects_html(rows: list[dict], total: int) -> str:
    """The rejected inputs as a table; a note when more are in `rejects.parquet`."""
    headers = list(rows[0]) if rows else list(REJECT_COLUMNS)
    table = _table(
        "rejects", f"rejected inputs ({total})", headers, [list(r.values()) for r in rows]
    )
    more = total - len(rows)
    return table + (f"<p>… and {more} more in {REJECTS_NAME}</p>" if more > 0 else "")


def contact_sheet(root: str, limit: int = 50) -> str:
    """An HTML page (one string) for the first `limit` images of the dataset."""
    manifest = load_manifest(root)
    types = manifest.negative_types
    stats = dataset_stats(root)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>ahnpl dataset {html.escape(root)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>ahnpl dataset: {html.escape(root)}</h1>",
        stats_html(stats),
        rejects_html(*read_rejects(root)),
        "<h2>images</h2>",
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
