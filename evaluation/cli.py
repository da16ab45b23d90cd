"""`ahnpl-eval`: benchmark table (Markdown on stdout, JSON file) for a model or checkpoint."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
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
    data_root: Path = typer.Option(Path("data/benchmarks"), help="folder of benchmark files"),
    images: list[Path] = typer.Option(
        [Path("data/coco-mini/images")], help="image folder(s), searched in order; repeatable"
    ),
    out: Path = typer.Option(
        Path("results.json"), help="JSON results file; the Markdown table goes next to it (.md)"
    ),
    device: str = typer.Option("cpu", help="torch device"),
    batch_size: int = typer.Option(64, min=1, help="images / texts per encoder call"),
    workers: int = typer.Option(
        None, min=0, help="image-decoding processes (default: cores/2 from 256 images on)"
    ),
    precision: str = typer.Option("fp32", help="fp32 | bf16 | fp16 | amp"),
    seed: int = typer.Option(0, help="torch seed, fixing random-init weights (no --pretrained)"),
    list_benchmarks: bool = typer.Option(False, "--list", help="list benchmarks and exit"),
) -> None:
    """Evaluate MODEL on the chosen benchmarks; print a table and write OUT."""
    from ahnpl.cli_errors import check_device
    from ahnpl.evaluation.benchmarks import available_benchmarks, get_benchmark
    from ahnpl.evaluation.report import model_info, to_markdown, write_json, write_text
    from ahnpl.evaluation.run import evaluate
    from ahnpl.models import create_model, load_checkpoint

    if list_benchmarks:
        typer.echo("\n".join(available_benchmarks()))
        return
    names = [b.strip() for b in benchmark.split(",") if b.strip()]
    if not names:
        raise typer.BadParameter("give at least one benchmark", param_hint="--benchmark")
    if checkpoint is not None and pretrained:
        raise typer.BadParameter(
            "use --checkpoint or --pretrained, not both", param_hint="--checkpoint"
        )
    import torch

    torch.manual_seed(seed)
    try:
        check_device(device)
        for folder in images:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"--images {folder}: no such folder")
        for name in names:  # unknown names fail before the (slow) model load
            get_benchmark(name)
        if checkpoint is not None:
            loaded = load_checkpoint(checkpoint, model, device=device, precision=precision)
        else:
            loaded = create_model(model or "ahnpl-tiny", pretrained, device, precision)
        results = evaluate(loaded, names, data_root, images, device, batch_size, workers)
    except (FileNotFoundError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2) from err
    results = {"model": model_info(loaded), **results}
    table = to_markdown(results)
    typer.echo(table)
    write_json(results, out)
    write_text(table + "\n", out.with_suffix(".md"))
    typer.echo(f"\nresults: {out} and {out.with_suffix('.md')}")
