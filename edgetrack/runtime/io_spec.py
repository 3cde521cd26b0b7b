"""IOSpec: input/output names, shapes, dtypes and processing constants; travels with every artifact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from edgetrack.config.base import FrozenConfig, build_config
from edgetrack.errors import ArtifactError, ConfigError
from edgetrack.runtime.spec import ProcessingSpec

IO_SPEC = "io_spec.json"


class TensorSpec(FrozenConfig):
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"


class IOSpec(ProcessingSpec):
    """What a backend and the preprocessor need to know about an exported model: its tensors, and the processing
    fields (inherited from `ProcessingSpec`) stored flat beside them in io_spec.json."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    layout: str = "NCHW, RGB, (x/255 - mean)/std"
    fused_postprocess: bool = False
    # the batch axis of every tensor is free (`export --dynamic-batch`): one call tracks several targets
    dynamic_batch: bool = False
    model_name: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_model_config(cls, cfg: Any, fused: bool = False, dynamic_batch: bool = False) -> IOSpec:
        t, s, f = cfg.template_size, cfg.search_size, cfg.search_feat
        if fused:
            outputs = (TensorSpec(name="box", shape=(1, 4)), TensorSpec(name="score", shape=(1,)))
        else:
            outputs = tuple(TensorSpec(name=n, shape=(1, c, f, f))
                            for n, c in (("score_map", 1), ("size_map", 2), ("offset_map", 2)))
        return cls(inputs=(TensorSpec(name="template", shape=(1, 3, t, t)),
                           TensorSpec(name="search", shape=(1, 3, s, s))),
                   outputs=outputs, fused_postprocess=fused, dynamic_batch=dynamic_batch, model_name=cfg.name,
                   **ProcessingSpec.read(cfg).to_dict())

    def input(self, name: str) -> TensorSpec:
        return next(t for t in self.inputs if t.name == name)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / IO_SPEC
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> IOSpec:
        path = Path(folder) / IO_SPEC if Path(folder).is_dir() else Path(folder)
        if not path.is_file():
            raise ArtifactError(f"{folder} has no {IO_SPEC}; it is not an exported edgetrack model")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ArtifactError(f"{path} is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ArtifactError(f"{path} holds a JSON {type(data).__name__}, not an IO spec object; re-export")
        try:
            return build_config(cls, data)
        except ConfigError as err:
            raise ArtifactError(f"{path} is not a valid IO spec ({err}); re-export the model") from None
