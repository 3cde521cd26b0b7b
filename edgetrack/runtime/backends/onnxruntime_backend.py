"""ONNX Runtime backend: CPU, CUDA or TensorRT execution providers, I/O binding on CUDA."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from edgetrack.errors import ArtifactError, MissingDependencyError
from edgetrack.runtime.backends.base import Backend

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx", "the onnxruntime backend") from None
    return onnxruntime


class OnnxRuntimeBackend(Backend):
    """Runs an ONNX file; `providers` picks execution providers in order of preference ('cpu', 'cuda', ...)."""

    name: ClassVar[str] = "onnxruntime"

    def __init__(self, path: str | Path, providers: tuple[str, ...] = ("cpu",), threads: int = 0) -> None:
        ort = _ort()
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"ONNX model not found: {path}")
        available = set(ort.get_available_providers())
        wanted = [PROVIDERS.get(p, p) for p in providers]
        chosen = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=chosen)
        except Exception as err:  # ORT raises its own exception types for bad files
            raise ArtifactError(f"ONNX Runtime cannot load {path}: {str(err).splitlines()[0]}") from None
        self.providers = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        self._binding = self.session.io_binding() if "CUDAExecutionProvider" in self.providers else None
        first = {i.shape[0] if i.shape else 1 for i in self.session.get_inputs()}
        # a named (or missing) first dimension is free: the export's --dynamic-batch
        self._max_batch = next(iter(first)) if len(first) == 1 and isinstance(next(iter(first)), int) else None

    @classmethod
    def is_available(cls) -> bool:
        return find_spec("onnxruntime") is not None

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def close(self) -> None:
        self.session = None  # ONNX Runtime frees the session (its weights and arena) with its last reference

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {name: np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.input_names}
        if self._binding is None:
            return dict(zip(self.output_names, self.session.run(self.output_names, feeds), strict=True))
        b = self._binding
        b.clear_binding_inputs()
        b.clear_binding_outputs()
        for name, array in feeds.items():
            b.bind_cpu_input(name, array)
        for name in self.output_names:
            b.bind_output(name, "cuda")
        self.session.run_with_iobinding(b)
        return dict(zip(self.output_names, b.copy_outputs_to_cpu(), strict=True))
