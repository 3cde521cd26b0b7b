"""Processing constants of a tracker: crop sizes and factors, normalisation, feature-map size."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from edgetrack.config.base import build_config
from edgetrack.config.processing import CropSettings


class ProcessingSpec(CropSettings):
    """What the runtime needs to prepare inputs and decode outputs; no torch, no model."""

    feat_size: int = Field(gt=0)

    @classmethod
    def read(cls, source: Any) -> ProcessingSpec:
        """From anything holding these fields by name: a `ModelConfig` (whose `search_feat` is the feature size),
        an export's `IOSpec`, a MixFormerV2 spec. Fields it lacks keep their defaults."""
        values = {name: getattr(source, name) for name in ProcessingSpec.model_fields if hasattr(source, name)}
        if "feat_size" not in values and hasattr(source, "search_feat"):
            values["feat_size"] = source.search_feat
        return build_config(ProcessingSpec, values)

    #: a ModelConfig and an IOSpec both hold the fields by name; the two readers are one
    from_model_config = read
    from_io_spec = read
