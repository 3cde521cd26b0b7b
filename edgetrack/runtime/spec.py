"""Processing constants of a tracker: crop sizes and factors, normalisation, feature-map size."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from edgetrack.errors import ConfigError


@dataclass(frozen=True)
class ProcessingSpec:
    """What the runtime needs to prepare inputs and decode outputs; no torch, no model."""

    template_size: int
    search_size: int
    template_factor: float
    search_factor: float
    feat_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    min_score: float = 0.0  # windowed peak score below which the tracker keeps its box; 0: always update
    integer_boxes: bool = False  # cv2.TrackerVit's whole-pixel box state and crop origin

    def __post_init__(self) -> None:
        sizes = (self.template_size, self.search_size, self.feat_size)
        if min(sizes) < 1 or not (self.template_factor > 0 and self.search_factor > 0):
            raise ConfigError(f"processing spec needs positive sizes and factors; got {self}")
        if not 0.0 <= self.min_score < 1.0:
            raise ConfigError(f"processing spec needs 0 <= min_score < 1; got {self.min_score}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"processing spec needs 3 means and 3 positive stds; got {self.mean}, {self.std}")

    @classmethod
    def read(cls, source: Any) -> ProcessingSpec:
        """From anything holding these fields by name: a `ModelConfig` (whose `search_feat` is the feature size),
        an export's `IOSpec`, a MixFormerV2 spec. Fields it lacks keep their defaults; this is the one reader, so
        a new field is one line here and its use."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = "search_feat" if f.name == "feat_size" and not hasattr(source, "feat_size") else f.name
            if hasattr(source, name):
                values[f.name] = _CAST[str(f.type)](getattr(source, name))
        return cls(**values)

    #: a ModelConfig and an IOSpec both hold the fields by name; the two readers are one
    from_model_config = read
    from_io_spec = read

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (how an export's io_spec.json and the bundle runtime store them)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c


#: how a field's declared type reads a JSON or config value
_CAST: dict[str, Any] = {"int": int, "float": float, "bool": bool, "tuple[float, float, float]": _triple}
