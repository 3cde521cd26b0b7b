"""Processing constants of a tracker: crop sizes and factors, normalisation, feature-map size."""

from __future__ import annotations

from dataclasses import dataclass
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
    def from_model_config(cls, cfg: Any) -> ProcessingSpec:
        """From a `ModelConfig` (or anything with its field names and `search_feat`)."""
        return cls(int(cfg.template_size), int(cfg.search_size), float(cfg.template_factor),
                   float(cfg.search_factor), int(cfg.search_feat), _triple(cfg.mean), _triple(cfg.std),
                   float(getattr(cfg, "min_score", 0.0)), bool(getattr(cfg, "integer_boxes", False)))

    @classmethod
    def from_io_spec(cls, spec: Any) -> ProcessingSpec:
        """From an exported model's `IOSpec` (or anything with its field names)."""
        return cls(int(spec.template_size), int(spec.search_size), float(spec.template_factor),
                   float(spec.search_factor), int(spec.feat_size), _triple(spec.mean), _triple(spec.std),
                   float(getattr(spec, "min_score", 0.0)), bool(getattr(spec, "integer_boxes", False)))


def _triple(values: Any) -> tuple[float, float, float]:
    a, b, c = (float(v) for v in values)
    return a, b, c
