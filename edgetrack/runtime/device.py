"""One reading of a `--device` string for every command: checked against this machine before any work."""

from __future__ import annotations

from typing import Any

from edgetrack.errors import ConfigError

DEVICE_HELP = "cpu, cuda, cuda:N"


def torch_device(name: str, option: str = "--device") -> Any:
    """`name` as a torch.device, refused with one line when it is malformed or names a GPU this machine lacks."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"{option} {name}: not a device; use {DEVICE_HELP}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this torch is a CPU build" if torch.version.cuda is None else "no CUDA GPU is visible"
            raise ConfigError(f"{option} {name}: {why} (torch {torch.__version__}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"{option} {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                              f"numbered from 0")
    elif device.type not in ("cpu", "mps"):
        raise ConfigError(f"{option} {name}: edgetrack runs on {DEVICE_HELP}, not {device.type}")
    return device
