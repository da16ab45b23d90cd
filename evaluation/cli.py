"""`ahnpl-eval`: benchmark table (Markdown, JSON, bar chart) for a model or checkpoint.

`ahnpl-eval --model … --benchmark …` evaluates; `ahnpl-eval compare A.json B.json …` puts the
results of several runs side by side in one Markdown table.
"""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, help=__doc__)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    model: str = typer.Option(
        None,
        help="open_clip model name, model-config JSON, or bundled config name "
        "[default: ahnpl-tiny; with --checkpoint: the checkpoint's own config]",
    ),
    pretrained: str = typer.Option(
        "", help="open_clip pretrained tag or a local checkpoint file ('' = random init)"
    ),
    checkpoint: Path = typer.Option(
        None, help="an ahnpl-train checkpoint (architecture read from it unless --model is set)"
    ),
    benchmark: str = typer.Option("sugarcrepe", help="comma-separated benchmark names"),
    data_root: Path = typer.Option(
        None,
        help="folder holding one folder per benchmark (or one benchmark's folder) "
        "[default: the files bundled with a source checkout]",
        show_default=False,
    ),
    images: list[Path] = typer.Option(
        [], help="image folder(s), searched in order before the benchmark's own; repeatable"
    ),
    out: Path = typer.Option(
        Path("results.json"),
        help="JSON results file; the Markdown table (.md) and bar chart (.png) go next to it",
    ),
    skip_missing: bool = typer.Option(
        False, "--skip-missing", help="warn about a benchmark whose files are missing and go on"
    ),
    device: str = typer.Option("cpu", help="torch device"),
    batch_size: int = typer.Option(64, min=1, help="images / texts per encoder call"),
    workers: int = typer.Option(
        None, min=0, help="image-decoding processes (default: cores/2 from 256 images on)"
    ),
    precision: str = typer.Option("fp32", help="fp32 | bf16 | fp16 | amp"),
    seed: int = typer.Option(0, help="torch seed, fixing random-init weights (no --pretrained)"),
    list_benchmarks: bool = typer.Option(
        False, "--list", help="list benchmarks, what they measure and the files they read"
    ),
) -> None:
    """Evaluate MODEL on the chosen benchmarks; print a table and write OUT."""
    if ctx.invoked_subcommand is not None:
        return
    from ahnpl.cli_errors import USER_ERRORS, check_device, check_pretrained, one_line_errors
    from ahnpl.evaluation.benchmarks import get_benchmark
    from ahnpl.evaluation.report import model_info
    from ahnpl.evaluation.run import evaluate

    if list_benchmarks:
        typer.echo(_listing())
        return
    names = [b.strip() for b in benchmark.split(",") if b.strip()]
    if not names:
        raise typer.BadParameter("give at least one benchmark", param_hint="--benchmark")
    if checkpoint is not None and pretrained:
        raise typer.BadParameter(
            "use --checkpoint or --pretrained, not both", param_hint="--checkpoint"
        )
    with one_line_errors(user_errors=(*USER_ERRORS, KeyError)):
        check_device(device)
        for folder in images:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"--images {folder}: no such folder")
        for name in names:  # unknown names fail before the (slow) model load
            get_benchmark(name)
        if checkpoint is None:
            check_pretrained(model or "ahnpl-tiny", pretrained)
        prepared = _prepare(names, data_root, images, skip_missing)
        loaded = _load_model(model, pretrained, checkpoint, device, precision, seed)
        results = evaluate(loaded, prepared, device=device, batch_size=batch_size, workers=workers)
    results = {"model": model_info(loaded), **results}
    _write(results, out)


def _prepare(names, data_root, images, skip_missing):
    from ahnpl.evaluation.run import DEFAULT_DATA_ROOT, prepare

    if data_root is None:
        if not DEFAULT_DATA_ROOT.is_dir():
            raise FileNotFoundError(
                "--data-root: no bundled benchmark files next to this installation; pass the "
                "folder that holds the benchmark folders (docs/benchmarks.md)"
            )
        data_root = DEFAULT_DATA_ROOT
        # The bundled SugarCrepe items are COCO photos bundled next to it.
        images = [*images, DEFAULT_DATA_ROOT.parent / "coco-mini" / "images"]
    elif not Path(data_root).is_dir():
        raise FileNotFoundError(f"--data-root {data_root}: no such folder")
    try:
        prepared = prepare(names, data_root, images, skip_missing)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err} (or --skip-missing to go on without it)") from err
    for name, reason in prepared.skipped.items():
        typer.secho(f"warning: skipped {name}: {reason}", fg=typer.colors.YELLOW, err=True)
    if not prepared.benchmarks:
        raise FileNotFoundError("every benchmark was skipped: nothing to evaluate")
    return prepared


def _load_model(model, pretrained, checkpoint, device, precision, seed):
    import torch

    from ahnpl.models import create_model, load_checkpoint

    torch.manual_seed(seed)
    if checkpoint is not None:
        return load_checkpoint(checkpoint, model, device=device, precision=precision)
    return create_model(model or "ahnpl-tiny", pretrained, device, precision)


def _write(results: dict, out: Path) -> None:
    from ahnpl.evaluation.chart import write_chart
    from ahnpl.evaluation.report import to_markdown, write_json, write_text

    table = to_markdown(results)
    typer.echo(table)
    write_json(results, out)
    write_text(table + "\n", out.with_suffix(".md"))
    written = [str(out), str(out.with_suffix(".md"))]
    chart = write_chart(results, out.with_suffix(".png"))
    if chart is not None:
        written.append(str(chart))
    typer.echo(f"\nresults: {', '.join(written)}")


def _listing() -> str:
    from ahnpl.evaluation.benchmarks import available_benchmarks, get_benchmark

    lines = []
    for name in available_benchmarks():
        bench = get_benchmark(name)
        folders = " or ".join(f"{f}/" for f in bench.folders)
        files = ", ".join(bench.files) or "(see docs/benchmarks.md)"
        lines.append(f"{name:<20} {bench.description}")
        lines.append(f"{'':<20} files: {folders} {files}")
    return "\n".join(lines)


@app.command()
def compare(
    results: list[Path] = typer.Argument(..., help="results JSON files written by ahnpl-eval"),
    out: Path = typer.Option(None, "--out", help="also write the Markdown table here"),
    splits: bool = typer.Option(True, help="include per-split rows, not only summaries"),
) -> None:
    """Put several runs side by side: one row per figure, one column per results file."""
    from ahnpl.cli_errors import one_line_errors
    from ahnpl.evaluation.report import compare_markdown, read_results, write_text

    with one_line_errors():
        runs = [(path, read_results(path)) for path in results]
    table = compare_markdown(runs, splits=splits)
    typer.echo(table)
    if out is not None:
        write_text(table + "\n", out)
        typer.echo(f"\ntable: {out}")


if __name__ == "__main__":
    app()
