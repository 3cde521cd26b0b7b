"""Model families as plug-ins: each family registers what is specific to it, and every stage asks here.

A family is named by `ModelConfig.family` (a folder's family is read from its `config.json`, never guessed). Its
entry names, by import path so that asking imports only the family in use, the model class, the checkpoint
formats only it can load, its MAC count, how a student is made and trained (`compress`), how it is exported
(one graph, or the split template-encoder/search-step pair), its tracking loop, and whether its template encoder
also takes an online template (the calibration crops it needs). Students belong to their teacher's family.
A new family is one module registering one `Family` and its presets (see `ostrack.py`, `vittrack.py`,
`mixformerv2.py`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from edgetrack.registry import Registry


@dataclass(frozen=True)
class Family:
    """What one model family adds to the shared parts; hooks are "module:attribute" paths, imported on use."""

    name: str
    model_class: str  # nn.Module taking the ModelConfig
    compression: str  # (teacher, CompressConfig, StagePlan) -> (student, task)
    tracker: str  # (model, device) -> BaseTracker: the family's tracking loop on a torch model
    export: Literal["single", "split"] = "single"  # one graph, or template encoder + search step
    macs: str | None = None  # (ModelConfig) -> MACs, when the shared one-stream count does not apply
    own_formats: tuple[str, ...] = ()  # checkpoint formats (`models.checkpoint.detect`) that only it can load
    online_template: bool = False  # the template encoder also takes an online template (calibration crops)
    candidate_elimination: tuple[tuple[int, ...], float] | None = None  # (block indices, keep ratio) for ce=True

    def hook(self, field: str) -> Any:
        """The object a hook field names, imported now."""
        path = getattr(self, field)
        module, _, attr = path.partition(":")
        found: Any = importlib.import_module(module)
        for part in attr.split("."):
            found = getattr(found, part)
        return found


FAMILIES: Registry[Family] = Registry("model family")


def family(name: str) -> Family:
    """The registered family `name` (RegistryError with a did-you-mean when unknown)."""
    _load()
    return FAMILIES.get(name)


def family_of(cfg: Any) -> Family:
    """The family of a model config (or of anything with a `.cfg` holding one)."""
    return family(getattr(cfg, "cfg", cfg).family)


def format_owner(fmt: str) -> Family | None:
    """The family that alone can load checkpoint format `fmt`, if any."""
    _load()
    return next((FAMILIES.get(n) for n in FAMILIES.names() if fmt in FAMILIES.get(n).own_formats), None)


def load_families() -> None:
    """Import the shipped family modules; each registers its entry and its presets once."""
    from edgetrack.families import mixformerv2, ostrack, vittrack  # noqa: F401


_load = load_families
