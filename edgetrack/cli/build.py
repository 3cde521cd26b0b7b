"""`edgetrack build`: build an export for a deployment target (engine here, deploy bundle, or the CPU)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.cli.options import REPLACE_OPTION
from edgetrack.console import err, out


def build(
    export_dir: Path = typer.Argument(..., help="Export folder from `edgetrack export` (model.onnx, io_spec.json)."),
    target: str = typer.Option(..., "--target", "-t", help="Target profile (see `edgetrack targets list`) or a "
                               "profile YAML path."),
    precision: str = typer.Option(None, help="int8, fp16 or fp32; default: the target's default (cpu: int8 when "
                                  "it is at least 10% faster than fp32 on this machine, a decision a re-run keeps)."),
    out_dir: Path = typer.Option(None, "--out", help="Folder to write (default: EXPORT/../build-TARGET)."),
    bundle: bool = typer.Option(False, "--bundle", help="Write a deploy bundle even if an engine could be built here."),
    force: bool = typer.Option(False, "--force", help="Build an engine here although this GPU or TensorRT does not "
                               "match the target (the engine then only runs on this machine)."),
    replace: bool = REPLACE_OPTION,
) -> None:
    """Build for a target: a TensorRT engine when this machine matches it, else a deploy bundle to build on the
    device; `--target cpu` writes an optimised ONNX Runtime model."""
    from edgetrack.deploy.run import run_build

    folder = run_build(export_dir, target, precision, out_dir, force=force, bundle=bundle, replace=replace,
                       log=lambda line: err.print(line, highlight=False))
    out.print(f"[green]built[/green] {folder}")
