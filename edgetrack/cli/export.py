"""`edgetrack export`: ONNX with an IO spec and a parity check against the torch model."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.artifacts import read_manifest
from edgetrack.cli.console import out


def export(
    model: str = typer.Argument(..., help="Model folder (e.g. OUT/student) or a preset with bundled weights."),
    out_dir: Path = typer.Option(..., "--out", help="Artifact folder to write (model.onnx, io_spec.json, ...)."),
    fuse_postprocess: bool = typer.Option(False, help="Put the Hann window, argmax and box decode in the graph."),
) -> None:
    """Export to ONNX (opset 17, static shapes); fails if outputs differ from torch by more than 1e-4."""
    from edgetrack.export.run import run_export

    folder = run_export(model, out_dir, fused=fuse_postprocess)
    parity = read_manifest(folder)["metrics"]["parity_fp32"]
    worst = ", ".join(f"{k} {v:.1e}" for k, v in parity.items())
    out.print(f"[green]exported[/green] {folder / 'model.onnx'} (max abs diff vs torch: {worst})")
