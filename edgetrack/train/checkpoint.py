"""Training checkpoints: written atomically, read back for an exact resume."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from edgetrack.artifacts import remove_stale_siblings, temp_sibling
from edgetrack.errors import ArtifactError, CheckpointError
from edgetrack.models.safe_pickle import refusal_reason

NAME = "checkpoint.pt"
#: training settings that do not change what is trained (how often to log or save, loader processes, device),
#: left out of a run's key so that a resume may change them
UNKEYED = ("train.workers", "train.checkpoint_every", "train.log_every", "train.tensorboard", "train.device")


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"train": {"optim": {"lr": 1}}} -> {"train.optim.lr": 1}; lists and tuples become lists."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = list(value) if isinstance(value, (list, tuple)) else value
    return flat


def run_key(config: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The settings a checkpoint belongs to: the stage config flattened, minus `UNKEYED`, plus `extra`."""
    flat = {k: v for k, v in flatten(config).items() if k not in UNKEYED}
    return {**flat, **extra}


def differing_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """'key: old -> new' for every key whose value differs (missing keys shown as 'unset')."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k, 'unset')} -> {new.get(k, 'unset')}" for k in keys if old.get(k) != new.get(k)]


def save_training_state(folder: Path, state: dict[str, Any]) -> Path:
    """torch.save to a temp file in `folder`, then rename, so a kill never leaves a torn checkpoint; a failed
    write (a full disk, a file-size limit) leaves no temp file and is reported as one ArtifactError."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / NAME
    tmp = temp_sibling(target)
    try:
        torch.save(state, tmp)
        os.replace(tmp, target)
    except RuntimeError as err:  # torch reports a failed write as its own error, not an OSError
        tmp.unlink(missing_ok=True)
        raise ArtifactError(f"could not write the checkpoint {target} ({str(err).splitlines()[0][:160]}): is the "
                            "disk full or a file-size limit set? Free space and re-run to resume") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def remove_partial_checkpoints(folder: Path) -> int:
    """Delete the temporary checkpoint files killed writers left behind (as large as the checkpoint itself)."""
    return remove_stale_siblings(Path(folder) / NAME)


def load_training_state(folder: Path) -> dict[str, Any] | None:
    """The checkpoint in `folder` (None when there is none); partial files of killed runs are removed first."""
    remove_partial_checkpoints(folder)
    path = folder / NAME
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # damaged file: say so instead of a deep unpickling traceback
        reason = refusal_reason(err, advice="")  # never torch's advice to unpickle it unrestricted
        raise CheckpointError(f"cannot resume from {path}: {reason}; delete it to start over") from None


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
