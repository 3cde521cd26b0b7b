"""`edgetrack models list|info|import`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from edgetrack.cli.options import REPLACE_OPTION
from edgetrack.console import out
from edgetrack.models.presets import list_models
from edgetrack.models.profile import count_parameters, describe

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_cmd(pattern: str = typer.Argument("*", help="Glob pattern, e.g. 'ostrack*'.")) -> None:
    """List registered model presets."""
    table = Table(title="model presets")
    for col in ("name", "params (M)", "GMACs", "depth", "template", "search"):
        table.add_column(col)
    for name in list_models(pattern):
        d = describe(name)
        table.add_row(name, f"{d['parameters'] / 1e6:.2f}", f"{d['gmacs']:.2f}", str(d["depth"]),
                      str(d["template"]), str(d["search"]))
    out.print(table)


@app.command("info")
def info_cmd(name: str = typer.Argument(..., help="A preset name or a model folder."),
             json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Parameters, GMACs, input sizes and depth of a model."""
    d = describe(name)
    if json_out:
        out.print_json(data=d)
        return
    table = Table(title=f"model {name}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    labels = {"parameters": "parameters", "gmacs": "GMACs (no CE)", "gmacs_ce": "GMACs (with CE)"}
    for key, value in d.items():
        table.add_row(labels.get(key, key), f"{value:,}" if isinstance(value, int) else str(value))
    out.print(table)


@app.command("import")
def import_cmd(
    name: str = typer.Argument(..., help="The preset the weights belong to, e.g. vittrack or ostrack256."),
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Weights file: OpenCV's "
                                    "object_tracking_vittrack_2023sep.onnx for vittrack, an OSTrack/CompressTracker "
                                    ".pth.tar, or a safetensors file."),
    out_dir: Path = typer.Option(..., "--out", help="Model folder to write (model.safetensors, config.json, "
                                 "manifest.json); every stage takes it as --model / --teacher."),
    replace: bool = REPLACE_OPTION,
) -> None:
    """Turn third-party weights into an edgetrack model folder (checked, loaded strictly)."""
    from edgetrack.artifacts import check_replaceable, sha256_file
    from edgetrack.models.factory import create_model, save_model

    if not replace:
        check_replaceable(out_dir, "model")
    model = create_model(name, checkpoint=checkpoint)
    save_model(model, out_dir, stage="import", replace=replace,
               source={"file": checkpoint.name, "sha256": sha256_file(checkpoint)})
    out.print(f"{name} weights from {checkpoint} written to {out_dir} ({count_parameters(model):,} parameters)")
