"""`create_model(name_or_path, checkpoint=None, **overrides)`: the one way to build a tracker model."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from edgetrack.artifacts import atomic_folder, file_hashes, make_manifest, write_json
from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import CheckpointError, ModelError
from edgetrack.families import family, family_of, format_owner
from edgetrack.models.checkpoint import (
    block_count,
    cast_like,
    load_into,
    read_folder_config,
    read_state_dict,
    save_folder_files,
)
from edgetrack.models.presets import PRESETS
from edgetrack.models.tracker import TrackerModel

PRETRAINED_PACKAGE = "edgetrack.models.pretrained"


def is_model_folder(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file()


def model_config(name_or_path: str | Path, **overrides: Any) -> ModelConfig:
    """The config of a preset or model folder with `overrides` applied; `ce=True` enables the family's candidate
    elimination (OSTrack's)."""
    ce = overrides.pop("ce", None)
    if is_model_folder(name_or_path):
        base = read_folder_config(name_or_path)
    elif isinstance(name_or_path, Path) or "/" in str(name_or_path) or Path(str(name_or_path)).exists():
        raise ModelError(f"{name_or_path} is not a model folder (no config.json) and not a preset name")
    else:
        base = PRESETS.get(str(name_or_path)).to_dict()
    data = {**base, **overrides}
    if ce:
        name = str(data.get("family", "ostrack"))
        settings = family(name).candidate_elimination
        if settings is None:
            raise ModelError(f"family {name} has no candidate elimination: ce=True is for the OSTrack family")
        locations, keep = settings
        depth = int(data.get("depth", 12))
        data.update(ce_loc=[i for i in locations if i < depth], ce_keep_ratio=keep)
    elif ce is False:
        data["ce_loc"] = []
    return build_config(ModelConfig, data)


def create_model(name_or_path: str | Path, checkpoint: str | Path | None = None, pretrained: bool = False,
                 **overrides: Any) -> TrackerModel:
    """Build a preset (`ostrack256`, `tiny`, ...) or reload a model folder, then load weights.

    `checkpoint` may be an OSTrack, CompressTracker, MAE or edgetrack checkpoint; for a CompressTracker
    student the depth is taken from the checkpoint unless `depth` is given. `pretrained=True` loads the
    weights bundled with the package (only some presets have them).
    """
    state, fmt = (None, None)
    if checkpoint is not None:
        state, fmt = read_state_dict(checkpoint)
        if fmt == "compresstracker" and "depth" not in overrides:
            overrides["depth"] = block_count(state)
    cfg = model_config(name_or_path, **overrides)
    owner = format_owner(fmt) if fmt else None
    if owner is not None and owner.name != cfg.family:
        presets = ", ".join(n for n in PRESETS.names() if PRESETS.get(n).family == owner.name)
        raise CheckpointError(f"{checkpoint} is a {owner.name} checkpoint; load it with a {owner.name} preset "
                              f"({presets}), not '{cfg.name}' (family {cfg.family})")
    model = build_model(cfg)
    if is_model_folder(name_or_path) and checkpoint is None:
        state, fmt = read_state_dict(name_or_path)
        checkpoint = name_or_path
    elif pretrained:
        state, fmt = read_state_dict(bundled_weights(str(name_or_path)))
        checkpoint = f"bundled weights of '{name_or_path}'"
    if state is not None:
        load_into(model, cast_like(state, model), fmt or "state_dict", str(checkpoint))
    return model.eval()


def build_model(cfg: ModelConfig) -> TrackerModel:
    """A freshly initialised model of the config's family (`edgetrack.families`)."""
    return family_of(cfg).hook("model_class")(cfg)


def bundled_weights(name: str) -> Path:
    """Path of the weights shipped in the package for preset `name`."""
    folder = Path(str(resources.files(PRETRAINED_PACKAGE))) / name
    if not (folder / "model.safetensors").is_file():
        raise CheckpointError(f"no bundled weights for '{name}'; pass checkpoint=PATH (or --teacher-weights)")
    return folder


def save_model(model: TrackerModel, folder: str | Path, stage: str = "model", config: dict[str, Any] | None = None,
               half: bool = False, replace: bool = False, **manifest: Any) -> Path:
    """Write `model` as an artifact folder (model.safetensors + config.json + manifest.json), atomically.

    `config` is the producing stage's settings (the model's own config by default); `half` stores fp16
    weights (loading casts them back to the model's dtype). An existing `folder` that is not a model folder
    is refused unless `replace` (`artifacts.atomic_folder`).
    """
    cfg = getattr(model, "cfg", None)
    if not isinstance(cfg, ModelConfig) or not isinstance(model, family_of(cfg).hook("model_class")):
        raise ModelError(f"save_model expects a tracker model (TrackerModel or its family's), got "
                         f"{type(model).__name__}")
    with atomic_folder(folder, kind="model", replace=replace) as tmp:
        save_folder_files(model, tmp, half=half)
        files = file_hashes(tmp, ["model.safetensors", "config.json"])
        write_json(tmp / "manifest.json", make_manifest(stage, config=config or model.cfg.to_dict(), files=files,
                                                        **manifest))
    return Path(folder)


