"""The input-processing fields every tracker description shares, declared once."""

from __future__ import annotations

from pydantic import Field, field_validator

from edgetrack.config.base import FrozenConfig

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CropSettings(FrozenConfig):
    """How a tracker crops, normalises and holds its box. `ModelConfig`, the runtime's `ProcessingSpec` and an
    export's `IOSpec` inherit these fields, so a new processing field is one line here plus its use."""

    template_size: int = Field(128, gt=0)
    search_size: int = Field(256, gt=0)
    template_factor: float = Field(2.0, gt=0)
    search_factor: float = Field(4.0, gt=0)
    # windowed peak score below which the runtime keeps the previous box (cv2.TrackerVit: 0.2); 0 never holds
    min_score: float = Field(0.0, ge=0, lt=1)
    # whole-pixel boxes and cv2.TrackerVit's crop origin (`crop_geometry(integer=True)`) instead of OSTrack's
    integer_boxes: bool = False
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @field_validator("std")
    @classmethod
    def _positive_std(cls, std: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(std) <= 0:
            raise ValueError(f"normalisation stds must be positive, not {std}")
        return std
