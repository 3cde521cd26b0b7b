"""Training checkpoints: written atomically, read back for an exact resume."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from edgetrack.artifacts import publish
from edgetrack.errors import CheckpointError

NAME = "checkpoint.pt"


def save_training_state(folder: Path, state: dict[str, Any]) -> Path:
    """torch.save to a temp file in `folder`, then rename, so a kill never leaves a torn checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{NAME}.", dir=folder)
    os.close(fd)
    torch.save(state, tmp)
    publish(tmp)
    target = folder / NAME
    os.replace(tmp, target)
    return target


def load_training_state(folder: Path) -> dict[str, Any] | None:
    path = folder / NAME
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # damaged file: say so instead of a deep unpickling traceback
        raise CheckpointError(f"cannot resume from {path}: {err}; delete it to start over") from None


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
