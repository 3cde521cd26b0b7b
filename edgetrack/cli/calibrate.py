"""`edgetrack calibrate`: a calibration set made with the tracker's own preprocessing."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from edgetrack.cli.console import err, out


def calibrate(
    model: str = typer.Option(..., "--model", "-m", help="Model folder, exported artifact or preset."),
    data: str = typer.Option("synthetic:synthetic-train", help="DATASET[:SPLIT] (got10k:train), or a "
                             "training set as compress names it (synthetic-train, got10k, lasot). Evaluation "
                             "splits are refused."),
    data_root: Path = typer.Option(None, help="Folder holding the dataset (not needed for synthetic)."),
    samples: int = typer.Option(512, help="Number of (template, search) pairs."),
    seed: int = typer.Option(0, help="Seed for sequence and frame choice."),
    out_file: Path = typer.Option(..., "--out", help="Output .npz keyed by input name."),
) -> None:
    """Collect template/search crops along ground-truth trajectories with tracking-like jitter."""
    from edgetrack.calibration.run import run_calibrate

    with warnings.catch_warnings(record=True) as caught, Progress(
            TextColumn("[bold]calibrate"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        warnings.simplefilter("always")
        task = bar.add_task("calibrate", total=samples)
        calib = run_calibrate(model, data, data_root, samples, seed, out_file, lambda n: bar.advance(task, n))
    for w in caught:
        err.print(f"[yellow]warning:[/yellow] {w.message}")
    out.print(f"[green]calibration set[/green] {out_file}: {len(calib)} samples, fingerprint "
              f"{calib.meta['fingerprint'][:12]}")
