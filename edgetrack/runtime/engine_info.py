"""engine.json: the sidecar of every TensorRT engine (the plan itself stays a plain TensorRT file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from edgetrack.config.base import FrozenConfig, build_config
from edgetrack.errors import ArtifactError, ConfigError

ENGINE, ENGINE_JSON = "model.engine", "engine.json"


class EngineTensor(FrozenConfig):
    name: str
    mode: Literal["input", "output"]
    shape: tuple[int, ...]
    dtype: str


class EngineInfo(FrozenConfig):
    """What an engine was built from (ONNX hash, calibration fingerprint), on what (GPU, TensorRT), and its I/O."""

    format: int = Field(1, ge=1, le=1)  # engine.json layout version
    tensorrt_version: str
    gpu: str
    compute_capability: str = Field(pattern=r"^\d+\.\d+$")
    target: str
    precision: Literal["fp32", "fp16", "int8"]
    typing: Literal["strong", "legacy"]
    dla_core: int | None = None
    # INT8 only: "calibrator" (implicit, ranges from TensorRT's calibrator) or "qdq" (explicit, ranges from export);
    # None for other precisions and for engine.json files written before the field existed
    int8_route: Literal["calibrator", "qdq"] | None = None
    onnx_file: str
    onnx_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    calibration_fingerprint: str | None = None
    calibration_cache: str | None = None
    io: tuple[EngineTensor, ...] = Field(min_length=2)
    io_spec: dict[str, Any]
    builder: str
    built: str
    forced: tuple[str, ...] = ()
    parity: dict[str, float] | None = None  # max abs diff per output vs ONNX Runtime on `parity_reference`
    parity_reference: str | None = None
    latency_ms: dict[str, float] | None = None
    module: str | None = None  # the board it was built on (a Jetson's device-tree model), where readable
    memory_mb: int | None = None  # that device's memory
    workspace_mb: int | None = None  # the builder workspace used (a family target's share of memory_mb)
    max_batch: int = Field(1, ge=1)  # targets per call (above 1: an engine of a --dynamic-batch export)

    def tensors(self, mode: str) -> tuple[EngineTensor, ...]:
        return tuple(t for t in self.io if t.mode == mode)


def load_engine_info(folder: str | Path) -> EngineInfo:
    """Read and validate `folder/engine.json`; errors name the file and the field."""
    path = Path(folder) / ENGINE_JSON
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {ENGINE_JSON}: it is not an engine folder from edgetrack build "
                            "or a bundle's build_engine.py")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON ({err}); rebuild the engine") from None
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} must hold a JSON object")
    try:
        return build_config(EngineInfo, data)
    except ConfigError as err:
        raise ArtifactError(f"{path}: {err}") from None
