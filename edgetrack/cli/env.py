"""`edgetrack env`: an environment report to paste into bug reports."""

from __future__ import annotations

import platform
from importlib import metadata

import typer
from rich.table import Table

from edgetrack.console import out

# (label, distribution names to try): several TensorRT and cuda-python wheels exist under different names.
PACKAGES = (
    ("edgetrack", ("edgetrack",)),
    ("numpy", ("numpy",)),
    ("onnx", ("onnx",)),
    ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
    ("onnxslim", ("onnxslim",)),
    ("tensorrt", ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt-libs")),
    ("modelopt", ("nvidia-modelopt",)),
    ("cuda-python", ("cuda-python", "cuda-bindings")),
    ("opencv", ("opencv-python-headless", "opencv-python")),
)


def installed_version(names: tuple[str, ...]) -> str:
    """Version of the first installed distribution among `names` (no import), or 'not installed'."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def torch_report() -> dict[str, str]:
    import torch

    info = {"torch": torch.__version__, "CUDA (torch build)": str(torch.version.cuda or "none (CPU build)")}
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(i)
            info[f"GPU {i}"] = f"{torch.cuda.get_device_name(i)} (compute capability {major}.{minor})"
    else:
        info["GPU"] = "none visible to torch"
    return info


def environment() -> dict[str, str]:
    """All report rows as label -> value."""
    rows = {"python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine()}
    rows.update(torch_report())
    rows.update({label: installed_version(names) for label, names in PACKAGES})
    return rows


def env(json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    rows = environment()
    if json_out:
        out.print_json(data=rows)
        return
    table = Table(title="edgetrack environment", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    for key, value in rows.items():
        table.add_row(key, value)
    out.print(table)
