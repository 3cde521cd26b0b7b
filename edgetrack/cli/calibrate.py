"""`edgetrack calibrate`: a calibration set made with the tracker's own preprocessing."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from edgetrack.console import err, out


def calibrate(
    model: str = typer.Option(..., "--model", "-m", help="Model folder, exported artifact or preset."),
    recipe: str = typer.Option(None, "--recipe", help="Calibration recipe: a shipped name (quickstart, "
                               "jetson-orin) or a YAML file; the options below override its settings."),
    data: str = typer.Option(None, help="DATASET[:SPLIT] (got10k:train), a training set as compress names it "
                             "(synthetic-train, got10k, lasot), or unlabeled:DIR (your clips: crops along the "
                             "model's own trajectory). Evaluation splits are refused. [synthetic-train]"),
    data_root: Path = typer.Option(None, help="Folder holding the dataset (not needed for synthetic)."),
    samples: int = typer.Option(None, help="Number of (template, search) pairs. [512]"),
    seed: int = typer.Option(None, help="Seed for sequence and frame choice. [0]"),
    out_file: Path = typer.Option(..., "--out", help="Output .npz keyed by input name."),
) -> None:
    """Collect template/search crops along ground-truth trajectories (or, for unlabeled:DIR, the model's own
    confident trajectory) with tracking-like jitter."""
    from edgetrack.artifacts import check_out_file
    from edgetrack.calibration.recipe import load_recipe
    from edgetrack.calibration.run import calibrate_with

    check_out_file(out_file, "the calibration file to write (e.g. calib.npz)")
    chosen = load_recipe(recipe, {"data": data, "data_root": str(data_root) if data_root else None,
                                  "samples": samples, "seed": seed})
    with warnings.catch_warnings(record=True) as caught, Progress(
            TextColumn("[bold]calibrate"), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        warnings.simplefilter("always")
        task = bar.add_task("calibrate", total=chosen.samples)
        calib = calibrate_with(model, chosen, out_file, lambda n: bar.advance(task, n), bar.console.print)
    for w in caught:
        err.print(f"[yellow]warning:[/yellow] {w.message}")
    out.print(f"[green]calibration set[/green] {out_file}: {len(calib)} samples, fingerprint "
              f"{calib.meta['fingerprint'][:12]}")
