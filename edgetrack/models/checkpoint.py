"""Checkpoint formats, key remapping and strict loading.

Formats (detected from the file and its keys):

- ``folder``: our own artifact folder (``model.safetensors`` + ``config.json`` + ``manifest.json``).
- ``safetensors``: a single file holding our state dict.
- ``ostrack``: an OSTrack release (``.pth.tar``, state dict under ``net``). Its unused ``backbone.cls_token``
  and 14x14 ``backbone.pos_embed`` are dropped; everything else must match exactly.
- ``compresstracker``: an official CompressTracker student; ``backbone.distill_blocks.{j}`` become
  ``backbone.blocks.{j}``, the rest as OSTrack.
- ``vittrack-onnx``: OpenCV's VitTrack ONNX file, its weights read by graph position
  (`edgetrack.models.vittrack_onnx`); only that exact file (by sha256) is accepted.
- ``mixformerv2``: a MixFormerV2 release (state dict under ``net``, prediction tokens ``backbone.reg_tokens``);
  keys are used as they are (`edgetrack.models.mixformerv2` has the same names).
- ``mae``: MAE ImageNet pretraining (state dict under ``model``): backbone only, ``backbone.`` prefix added,
  the 14x14 position embedding resized bicubically to the template and search grids; the head keeps its
  fresh initialisation.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from edgetrack.artifacts import publish, verify_file
from edgetrack.errors import ArtifactError, CheckpointError
from edgetrack.models.safe_pickle import Refused, load_pickle, refusal_reason

StateDict = dict[str, Tensor]
WEIGHTS, CONFIG = "model.safetensors", "config.json"
UNUSED_OSTRACK_KEYS = ("backbone.cls_token", "backbone.pos_embed")
_DISTILL = re.compile(r"^backbone\.distill_blocks\.")
MIXFORMERV2_KEY = "backbone.reg_tokens"  # MixFormerV2's prediction tokens: no other format has them


def read_state_dict(path: str | Path) -> tuple[StateDict, str]:
    """Read a checkpoint file or folder; return (state dict with our key names, detected format)."""
    path = Path(path)
    if path.is_dir():
        weights = path / WEIGHTS
        if not weights.is_file():
            raise CheckpointError(f"{path} is a folder but has no {WEIGHTS}; expected an edgetrack model folder")
        return load_safetensors(verify_file(weights)), "folder"
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        return load_safetensors(path), "safetensors"
    if path.suffix == ".onnx":
        from edgetrack.models.vittrack_onnx import read_vittrack_onnx

        return read_vittrack_onnx(path), "vittrack-onnx"
    if path.stat().st_size == 0:
        raise CheckpointError(f"cannot read checkpoint {path}: the file is empty (0 bytes)")
    try:
        raw = load_pickle(path)
    except Exception as err:  # torch raises several unrelated types for damaged files
        reason = refusal_reason(err) or f"{type(err).__name__}: truncated or not a PyTorch checkpoint"
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from None
    return remap(raw, str(path))


def load_safetensors(path: Path) -> StateDict:
    """A safetensors file's tensors; an empty, truncated or foreign file is one CheckpointError naming it."""
    try:
        return load_file(str(path))
    except Exception as err:  # SafetensorError, OSError, ValueError: all mean the file is not usable
        reason = str(err).strip() or type(err).__name__
        raise CheckpointError(f"{path} is not a readable safetensors file ({reason}); it is empty, truncated or "
                              "not a model: re-run the stage that wrote it") from None


def detect_format(raw: Any) -> str:
    """Name the checkpoint format from its top-level layout and key names."""
    if not isinstance(raw, dict):
        return "unknown"
    if "net" in raw and isinstance(raw["net"], dict):
        keys = raw["net"].keys()
        if MIXFORMERV2_KEY in keys:
            return "mixformerv2"
        return "compresstracker" if any(_DISTILL.match(k) for k in keys) else "ostrack"
    if "model" in raw and isinstance(raw["model"], dict) and "patch_embed.proj.weight" in raw["model"]:
        return "mae"
    if any(isinstance(k, str) and k.startswith("backbone.") for k in raw):
        return "compresstracker" if any(_DISTILL.match(k) for k in raw) else "state_dict"
    return "unknown"


def remap(raw: Any, where: str = "checkpoint") -> tuple[StateDict, str]:
    """Convert a loaded checkpoint to our key names; return (state dict, format)."""
    fmt = detect_format(raw)
    if fmt == "unknown":
        for key in ("net", "model"):
            if isinstance(raw, dict) and key in raw:
                raise CheckpointError(f"{where}: its '{key}' entry is a {_type_name(raw[key])}, not a state dict "
                                      f"(a whole pickled model?); save {key}.state_dict() instead")
        top = f"top-level keys: {list(raw)[:8]}" if isinstance(raw, dict) else f"it holds a {_type_name(raw)}"
        raise CheckpointError(f"{where}: unrecognised checkpoint layout ({top}); expected an "
                              "OSTrack/CompressTracker release (key 'net'), MAE pretraining (key 'model') or a "
                              "state dict with 'backbone.*' keys")
    if fmt == "mae":
        return {f"backbone.{k}": v for k, v in raw["model"].items() if _is_tensor(v)}, fmt
    state = raw["net"] if "net" in raw else raw
    out = {}
    for key, value in state.items():
        if key in UNUSED_OSTRACK_KEYS or not _is_tensor(value):
            continue
        out[_DISTILL.sub("backbone.blocks.", key)] = value
    return out, fmt


def _type_name(value: Any) -> str:
    """A value's type for messages; an object the restricted unpickler refused is named by its pickled class."""
    return f"pickled {value.qualname} object" if isinstance(value, Refused) else type(value).__name__


def _is_tensor(value: Any) -> bool:
    return isinstance(value, Tensor)


def block_count(state: StateDict) -> int:
    """Number of transformer blocks in a state dict with our key names."""
    ids = {int(m.group(1)) for k in state if (m := re.match(r"^backbone\.blocks\.(\d+)\.", k))}
    return max(ids) + 1 if ids else 0


def resize_pos_embed(pos: Tensor, grid: int) -> Tensor:
    """Resize a (1, N[+1], C) ViT position embedding to (1, grid*grid, C), dropping a class token."""
    n = pos.shape[1]
    side = int(round(n**0.5))
    if side * side != n:
        pos, side = pos[:, 1:], int(round((n - 1) ** 0.5))
    if side == grid:
        return pos.clone()
    c = pos.shape[-1]
    image = pos.reshape(1, side, side, c).permute(0, 3, 1, 2).float()
    image = F.interpolate(image, size=(grid, grid), mode="bicubic", align_corners=False)
    return image.permute(0, 2, 3, 1).reshape(1, grid * grid, c).to(pos.dtype)


def load_into(model: nn.Module, state: StateDict, fmt: str, where: str = "checkpoint") -> None:
    """Load strictly; MAE weights fill the backbone only. Mismatches raise CheckpointError."""
    if fmt == "mae":
        state = _mae_to_backbone(model, state)
        expected = {k for k in model.state_dict() if k.startswith("backbone.")}
    else:
        expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - set(model.state_dict()))
    shapes = _shape_mismatches(model.state_dict(), state)
    if missing or unexpected or shapes:
        raise CheckpointError(_mismatch_message(where, fmt, missing, unexpected, shapes))
    model.load_state_dict(state, strict=(fmt != "mae"))


def _mae_to_backbone(model: nn.Module, state: StateDict) -> StateDict:
    state = dict(state)
    pos = state.pop("backbone.pos_embed", None)
    state.pop("backbone.cls_token", None)
    for key in [k for k in state if k.startswith(("backbone.fc_norm", "backbone.head", "backbone.decoder"))]:
        state.pop(key)
    if pos is None:
        raise CheckpointError("MAE checkpoint has no 'pos_embed'; cannot initialise position embeddings")
    cfg = model.cfg  # type: ignore[attr-defined]
    state["backbone.pos_embed_z"] = resize_pos_embed(pos, cfg.template_feat)
    state["backbone.pos_embed_x"] = resize_pos_embed(pos, cfg.search_feat)
    return state


def _shape_mismatches(expected: StateDict, state: StateDict) -> list[str]:
    return [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(v.shape)}"
            for k, v in expected.items() if k in state and state[k].shape != v.shape]


def _mismatch_message(where: str, fmt: str, missing: list[str], unexpected: list[str], shapes: list[str]) -> str:
    def few(items: list[str]) -> str:
        return ", ".join(items[:6]) + (f" (+{len(items) - 6} more)" if len(items) > 6 else "")

    parts = [f"{where} ({fmt} format) does not match the model"]
    if missing:
        parts.append(f"missing keys: {few(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {few(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches: {few(shapes)}")
    return "; ".join(parts)


def save_folder_files(model: nn.Module, folder: Path, half: bool = False) -> None:
    """Write model.safetensors and config.json into an existing folder (`half`: floats stored as fp16)."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    try:
        save_file(state, str(folder / WEIGHTS))
    except Exception as err:  # safetensors reports a failed write as its own error type, not an OSError
        raise ArtifactError(f"could not write {folder / WEIGHTS} ({str(err)[:160]}): is the disk full or a "
                            "file-size limit set? Free space and re-run") from None
    publish(folder / WEIGHTS)  # safetensors writes owner-only files; artifacts are shared and copied to devices
    cfg = model.cfg  # type: ignore[attr-defined]
    (folder / CONFIG).write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")


def read_folder_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / CONFIG
    if not path.is_file():
        raise CheckpointError(f"{folder} has no {CONFIG}; expected an edgetrack model folder "
                              f"({WEIGHTS} + {CONFIG} + manifest.json)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path} is not valid JSON: {err}") from None


def cast_like(state: StateDict, model: nn.Module) -> StateDict:
    """Cast floating tensors to the model's dtypes (bundled weights are stored in fp16)."""
    ref = model.state_dict()
    return {k: v.to(ref[k].dtype) if k in ref and v.is_floating_point() else v for k, v in state.items()}


