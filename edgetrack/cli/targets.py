"""`edgetrack targets list|show`: the deployment target profiles."""

from __future__ import annotations

import typer
import yaml
from rich.table import Table

from edgetrack.cli.console import out

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """List the shipped target profiles."""
    from edgetrack.build.targets import list_targets

    table = Table(title="deployment targets")
    for column in ("name", "compute capability", "TensorRT", "typing", "DLA", "memory GB", "precisions"):
        table.add_column(column)
    for p in list_targets():
        table.add_row(p.name, p.compute_capability or "-", str(p.tensorrt or "-"), p.typing or "-", str(p.dla_cores),
                      "-" if p.memory_gb is None else f"{p.memory_gb:g}", ", ".join(p.precisions))
    out.print(table)


@app.command("show")
def show(name: str = typer.Argument(..., help="Target name (e.g. jetson-orin-nano) or a profile YAML path.")) -> None:
    """Print one target profile, validated, as YAML."""
    from edgetrack.build.targets import get_target

    profile = get_target(name)
    out.print(yaml.safe_dump(profile.to_dict(), sort_keys=False).rstrip(), highlight=False)
