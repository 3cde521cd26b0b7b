"""`edgetrack targets list|show`: the deployment target profiles."""

from __future__ import annotations

from typing import Any

import typer
import yaml
from rich.table import Table

from edgetrack.console import out

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_cmd() -> None:
    """List the shipped target profiles."""
    from edgetrack.deploy.targets import list_targets

    table = Table(title="deployment targets")
    for column in ("name", "family", "compute capability", "TensorRT", "typing", "DLA", "memory GB", "precisions"):
        table.add_column(column)
    for p in list_targets():
        family = f"{len(p.members)} members" if p.members else (p.family or "-")
        memory = "module's" if p.workspace_share else ("-" if p.memory_gb is None else f"{p.memory_gb:g}")
        table.add_row(p.name, family, p.compute_capability or "-", str(p.tensorrt or "-"), p.typing or "-",
                      str(p.dla_cores), memory, ", ".join(p.precisions))
    out.print(table)
    families = [p for p in list_targets() if p.members]
    for p in families:
        out.print(f"{p.name}: one bundle for {', '.join(p.members)} (edgetrack targets show {p.name})")


@app.command("show")
def show(name: str = typer.Argument(..., help="Target name (e.g. jetson-orin-nano) or a profile YAML path.")) -> None:
    """Print one target profile, validated, as YAML."""
    from edgetrack.deploy.targets import get_target

    profile = get_target(name)
    out.print(yaml.safe_dump(profile.to_dict(), sort_keys=False).rstrip(), highlight=False)
    if profile.members:
        out.print("\n" + family_note(profile), highlight=False)
    elif profile.family:
        out.print(f"\nOne of the {profile.family} family; `--target {profile.family}` makes one bundle for every "
                  "member, this target keeps this module's own limits.", highlight=False)


def family_note(profile: Any) -> str:
    """Why a family target is enough: what its members share, and what is read on the device."""
    return (f"{profile.name} is a family target: its members ({', '.join(profile.members)}) share compute "
            f"capability {profile.compute_capability}, JetPack {profile.jetpack} and TensorRT {profile.tensorrt}, and "
            "an engine is built on the module that runs it, so one bundle serves them all. build_engine.py reads "
            f"the module's memory when it runs and gives the builder {profile.workspace_share:g} of it as "
            f"workspace ({profile.workspace_mb}-{profile.workspace_max_mb} MB; {profile.workspace_mb} MB where it "
            "cannot read it), and engine.json records the module and its memory. DLA is off, as not every member "
            f"has one. For a module's own limits (DLA cores, workspace), use its target: {', '.join(profile.members)}.")
