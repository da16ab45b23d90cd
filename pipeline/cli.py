"""`ahnpl-gen`: build, preview, verify and inspect hard-negative datasets. Wiring only."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Build and check AHNPL hard-negative datasets."
)


# True in the `ahnpl-gen` program (`main`), not when `app` is called from other code: there,
# after a build whose recipe needs no torch, nothing else in the process will import it.
_PROGRAM = False


def main() -> None:
    """The `ahnpl-gen` program (the console script)."""
    global _PROGRAM
    _PROGRAM = True
    app()


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


# `ahnpl-gen build` flags and the recipe fields they set (None: the flag was not given).
_FLAG_FIELDS = {
    "input": "input.input",
    "captions": "input.captions",
    "image_column": "input.image_column",
    "caption_column": "input.caption_column",
    "separator": "input.separator",
    "images": "input.images",
    "source": "input.source",
    "limit": "input.limit",
    "count": "input.count",
    "split": "input.split",
    "out": "output.out",
    "format": "output.format",
    "images_per_shard": "output.images_per_shard",
    "editor": "edit.editor",
    "edits_per_image": "edit.edits_per_image",
    "editor_model": "edit.options.model",
    "filter_model": "edit.filter.model",
    "workers": "workers",
    "distributor": "distributor",
    "seed": "seed",
}


@app.command(context_settings={"allow_extra_args": False})
def build(
    args: list[str] = typer.Argument(None, help="[RECIPE.yaml] then section.field=value overrides"),
    input: str = typer.Option(
        None, "--input", help="input file, folder, glob or URL: CSV/TSV, tars, Parquet, HF dataset"
    ),
    captions: str = typer.Option(None, help="COCO caption JSON"),
    images: str = typer.Option(None, help="folder holding the image files"),
    out: str = typer.Option(
        None, help="output dataset folder, fsspec URL, or hf://datasets/ORG/NAME (publish)"
    ),
    stage: str = typer.Option(
        None, help="local folder an hf:// build is made in (default ~/.cache/ahnpl/stage/...)"
    ),
    format: str = typer.Option(None, "--format", help="parquet | webdataset"),
    source: str = typer.Option(
        None, help="coco | csv | tsv | webdataset | parquet | hf | shapes (default: detected)"
    ),
    image_column: str = typer.Option(None, help="column (tar suffix) of the image path or bytes"),
    caption_column: str = typer.Option(None, help="column (tar suffix) of the caption(s)"),
    separator: str = typer.Option(None, help="CSV/TSV separator (default: sniffed)"),
    count: int = typer.Option(None, help="images to render (--source shapes)"),
    split: str = typer.Option(None, help="train | test (--source shapes)"),
    editor: str = typer.Option(
        None, help="none | flip | instruct-pix2pix | img2img | render (shapes world)"
    ),
    editor_model: str = typer.Option(None, help="hub id or local folder of the editing model"),
    filter_model: str = typer.Option(
        None, help="open_clip model that scores edits and drops poor ones (quality filter)"
    ),
    edits_per_image: int = typer.Option(None, help="image edits per image"),
    types: str = typer.Option(None, help="comma-separated negative types"),
    workers: int = typer.Option(None, help="local worker processes"),
    distributor: str = typer.Option(
        None, help="auto | local | ranks | ray (auto: ranks under torchrun / SLURM, else local)"
    ),
    seed: int = typer.Option(None, help="seed of every random choice (default 0)"),
    images_per_shard: int = typer.Option(None, help="input images per shard (default 1000)"),
    limit: int = typer.Option(None, help="use only the first N input images"),
    rank: int = typer.Option(None, help="this process's rank (default: $RANK / $SLURM_PROCID)"),
    world_size: int = typer.Option(None, help="ranks in all (default: $WORLD_SIZE)"),
    progress: bool = typer.Option(True, help="progress bar"),
    overwrite: bool = typer.Option(
        False, help="replace a folder that holds a build of another recipe or input"
    ),
    retry_rejects: bool = typer.Option(
        False, help="rebuild the shards holding missing_image / read_error rejects"
    ),
) -> None:
    """Input dataset → text negatives → image edits → shards + manifest. Resumable: rerun
    the same command after a crash or Ctrl-C."""
    from .publish import hub_target
    from .recipe import load_recipe

    args = list(args or [])
    recipe_path = args.pop(0) if args and "=" not in args[0] else None
    given = locals()  # taken once: inside the comprehension locals() would be its own
    flags = {key: given[name] for name, key in _FLAG_FIELDS.items()}
    flags["negatives.types"] = types.split(",") if types is not None else None
    try:
        overrides = {k: v for k, v in flags.items() if v is not None}
        recipe = load_recipe(recipe_path, args, overrides)
        target = hub_target(recipe.output.out, stage)
    except ValueError as e:
        _fail(str(e))
    if target is not None:  # build locally, publish once complete
        recipe = recipe.model_copy(
            update={"output": recipe.output.model_copy(update={"out": target.stage})}
        )
    started = time.perf_counter()
    result = _run_build(
        recipe,
        rank=rank,
        world=world_size,
        progress=progress,
        overwrite=overwrite,
        retry_rejects=retry_rejects,
    )
    _report_build(result, time.perf_counter() - started, target)


def _report_build(result, seconds: float, target) -> None:
    """Notes, the summary line, exit 1 when nothing was stored, then the hub upload."""
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(_build_summary(result, seconds))
    _fail_if_empty(result)
    if target is not None and result.manifest is not None:
        _publish(target, result.manifest.totals)


def _fail_if_empty(result) -> None:
    """Exit 1 when the finished dataset stores no image (all rejected, wrong --images)."""
    if result.manifest is not None and result.manifest.totals.images == 0:
        reasons = ", ".join(f"{k} {v}" for k, v in result.manifest.rejects.items()) or "no input"
        _fail(
            f"no image was stored ({reasons}); see {result.out}/rejects.parquet, and check "
            "the input (--captions or --input) and --images",
            code=1,
        )


def _run_build(recipe, **options):
    """Check the editor's models, then build; one-line errors, Ctrl-C exits 130."""
    from ahnpl.cli_errors import OFFLINE_FIX_EDITOR, one_line_errors

    from .build import build as run_build
    from .distributors import keep_torch_out, needs_torch
    from .lock import LockHeld

    if _PROGRAM and not needs_torch(recipe):
        # spaCy's thinc loads torch only to offer it as a backend: 1.6 s and 470 MiB less.
        keep_torch_out()
    model = getattr(recipe.edit.options, "model", None)
    subject = f"--editor-model {model}" if model else "a model"
    user_errors = (ValueError, FileNotFoundError, ImportError, LockHeld)
    try:
        with one_line_errors(OFFLINE_FIX_EDITOR, _CUDA_FIX, user_errors, subject):
            _check_models(recipe.edit)
            return run_build(recipe, **options)
    except KeyboardInterrupt:
        _fail("interrupted: rerun the same command to resume", code=130)


def _build_summary(result, seconds: float) -> str:
    """The one line `build` prints: what the dataset holds, or what this rank did."""
    if result.manifest is None:
        return (
            f"rank done: built {result.built} shard(s), kept {result.skipped}; "
            f"the manifest is written when the last rank finishes ({seconds:.1f}s)"
        )
    t = result.manifest.totals
    valid = ", ".join(f"{k} {v}" for k, v in t.valid_negatives.items())
    return (
        f"{result.out}: {t.images} images in {t.shards} shard(s), "
        f"{t.images_rejected} rejected, {t.captions} captions, negatives: {valid}, "
        f"{t.edits} edits; built {result.built}, kept {result.skipped} shard(s) "
        f"in {seconds:.1f}s (statistics pass {result.stats_seconds:.1f}s)"
    )


def _publish(target, t) -> None:
    """Upload the finished stage to the Hub; one line, naming the stage, when that fails."""
    from .publish import publish

    try:
        url = publish(target, f"ahnpl-gen build: {t.images} images, {t.shards} shard(s)")
    except OSError as e:
        _fail(f"{e}; the dataset is complete in {target.stage}: run again to retry the upload")
    typer.echo(f"published {url}")


_CUDA_FIX = "set edit.options.device=cpu (or auto)"


def _check_models(edit) -> None:
    """Devices, pretrained tags and (offline) cached hub models of the editor and its filter,
    checked before any caption is parsed."""
    from ahnpl.cli_errors import check_device, check_hub_model, check_pretrained

    check_device(edit.options.device, option="edit.options.device", fix=_CUDA_FIX)
    check_hub_model(getattr(edit.options, "model", None), option="--editor-model")
    if edit.filter is not None:
        check_device(edit.filter.device, option="edit.filter.device", fix=_CUDA_FIX)
        check_pretrained(edit.filter.model, edit.filter.pretrained, option="edit.filter.pretrained")


@app.command()
def preview(
    caption: str = typer.Argument(None, help="a caption; omit with --file"),
    file: Path = typer.Option(None, "--file", help="one caption a line; prints JSON lines"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    types: str = typer.Option(None, help="comma-separated negative types"),
    spacy_model: str = typer.Option(None, help="spaCy pipeline name"),
    seed: int = typer.Option(0),
    n_process: int = typer.Option(1, help="spaCy worker processes (with --file)"),
    batch_size: int = typer.Option(256),
) -> None:
    """Print the negatives of one caption (or of each line of --file), by type."""
    from ahnpl.shards.schema import CORE_NEGATIVE_TYPES

    from .negatives import NegativeGenerator

    if (caption is None) == (file is None):
        _fail("give either a CAPTION or --file FILE")
    lines = None
    if file is not None:  # read before spaCy loads, so a wrong path fails at once
        try:
            lines = Path(file).read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"--file {file}: {getattr(e, 'strerror', None) or e}")
        if lines[-1] == "":
            lines.pop()  # the newline that ends the last line starts no caption
    generator = NegativeGenerator(
        types=types.split(",") if types else CORE_NEGATIVE_TYPES,
        spacy_model=spacy_model,
        seed=seed,
        n_process=n_process,
        batch_size=batch_size,
    )

    def as_dict(text, negatives):
        return {
            "caption": text,
            "negatives": {t: (n.text if n else None) for t, n in zip(generator.types, negatives)},
            "scores": {t: (n.score if n else None) for t, n in zip(generator.types, negatives)},
        }

    if lines is not None:
        out = sys.stdout
        for text, negatives in zip(lines, generator.generate(lines)):
            out.write(json.dumps(as_dict(text, negatives), ensure_ascii=False) + "\n")
        return
    negatives = generator.generate_one(caption)
    if as_json:
        typer.echo(json.dumps(as_dict(caption, negatives), ensure_ascii=False, indent=1))
        return
    typer.echo(caption)
    for t, n in zip(generator.types, negatives):
        if n is None:
            typer.echo(f"  {t:<15} -")
        else:
            typer.echo(f"  {t:<15} {n.text}    [{n.original} → {n.replacement}, {n.score:.2f}]")


@app.command()
def stats(
    captions: list[Path] = typer.Argument(..., help="COCO caption JSON or text files"),
    out: Path = typer.Option(..., "--out", help="statistics file to write (.json or .json.gz)"),
    spacy_model: str = typer.Option(None, help="spaCy pipeline name"),
    lexicon: list[Path] = typer.Option(None, "--lexicon", help="user lexicon file (repeatable)"),
    note: str = typer.Option("", help="where the captions come from and their licence"),
    batch_size: int = typer.Option(256),
) -> None:
    """Corpus statistics (the plausibility model of the negative rules) from your captions."""
    from .corpus_stats import compute_stats, read_caption_files, write_stats

    started = time.perf_counter()
    try:
        captions_iter = read_caption_files(captions)
        result, data = compute_stats(
            captions_iter,
            spacy_model=spacy_model,
            batch_size=batch_size,
            lexicon_paths=tuple(map(str, lexicon or ())),
            meta={"source": [p.name for p in captions], "note": note},
        )
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        _fail(str(e))
    write_stats(out, data)
    typer.echo(
        f"{out}: statistics of {result.meta['captions']} captions, sha256 {result.sha256} "
        f"({time.perf_counter() - started:.1f}s)"
    )


@app.command()
def verify(dataset: str = typer.Argument(..., help="dataset folder or fsspec URL")) -> None:
    """Check every shard against the manifest (sha256, size, schema, row counts)."""
    from ahnpl.shards.manifest import load_manifest
    from ahnpl.shards.manifest import verify as run_verify

    try:
        problems = run_verify(dataset)
    except FileNotFoundError as e:
        _fail(str(e))
    if problems:
        for p in problems:
            typer.secho(f"FAIL {p}", fg=typer.colors.RED)
        typer.echo(f"{dataset}: {len(problems)} problem(s)")
        raise typer.Exit(1)
    manifest = load_manifest(dataset)
    typer.echo(
        f"{dataset}: OK, {len(manifest.shards)} shard(s), "
        f"{manifest.totals.images} images match the manifest"
    )


@app.command()
def inspect(
    dataset: str = typer.Argument(..., help="dataset folder or fsspec URL"),
    html: Path = typer.Option(None, "--html", help="write an HTML contact sheet here"),
    limit: int = typer.Option(50, help="images on the contact sheet"),
    as_json: bool = typer.Option(False, "--json", help="print the statistics as JSON"),
) -> None:
    """Coverage per negative type, rejects by reason, edit counts and scores; a contact sheet."""
    from .inspection import contact_sheet, dataset_stats, format_stats

    try:
        stats = dataset_stats(dataset)
    except FileNotFoundError as e:
        _fail(str(e))
    typer.echo(json.dumps(stats, indent=1) if as_json else format_stats(stats))
    if html is not None:
        html.write_text(contact_sheet(dataset, limit=limit), encoding="utf-8")
        typer.echo(f"contact sheet: {html}")


if __name__ == "__main__":
    app()
