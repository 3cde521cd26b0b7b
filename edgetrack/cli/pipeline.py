"""`edgetrack pipeline run`: compress -> finetune -> calibrate -> export -> build -> eval -> bench -> report.md."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.cli.options import SET_OPTION
from edgetrack.console import out

app = typer.Typer(no_args_is_help=True)


@app.command("run")
def run_cmd(
    file: Path = typer.Argument(..., help="Pipeline YAML (e.g. pipelines/quickstart.yaml)."),
    out_dir: Path = typer.Option(None, "--out", help="Run folder (overrides `out` in the file)."),
    sets: list[str] = SET_OPTION,
) -> None:
    """Run every stage of a pipeline; stages whose config and inputs are unchanged are reused, so a re-run after
    an interruption continues where it stopped. Ends with OUT/report.md."""
    from edgetrack.config.base import load_config
    from edgetrack.pipeline.config import PipelineConfig
    from edgetrack.pipeline.run import run_pipeline

    cfg = load_config(PipelineConfig, file, [*sets, *([f"out={out_dir}"] if out_dir else [])])
    report = run_pipeline(cfg, announce=lambda line: out.print(f"[bold cyan]>[/bold cyan] {line}", highlight=False))
    if report is not None:  # None in torchrun's helper processes, which only train
        out.print(f"[green]report written to[/green] {report}")
