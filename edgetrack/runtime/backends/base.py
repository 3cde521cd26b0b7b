"""The backend interface: named arrays in, named arrays out; backends register by import path (lazy)."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from edgetrack.errors import EdgetrackError
from edgetrack.registry import Registry


class Backend(ABC):
    """Runs a tracker network: `infer({"template", "search"}) -> {"score_map", "size_map", "offset_map"}`."""

    name: ClassVar[str] = "base"

    @classmethod
    @abstractmethod
    def is_available(cls) -> bool:
        """Whether this backend's packages (and hardware, where needed) are present."""

    @abstractmethod
    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one forward pass on host arrays and return host arrays."""

    @property
    def max_batch(self) -> int | None:
        """How many targets one `infer` call takes (inputs stacked on the first axis); None: any number."""
        return 1

    def close(self) -> None:  # noqa: B027 - a hook with a default: most backends hold nothing to release
        """Release sessions, contexts and device memory now; backends holding none keep this default."""


#: backend name -> "module:Class"; modules are imported only when a backend is asked for, so listing the
#: backends never imports torch, ONNX Runtime or TensorRT
BACKENDS: Registry[str] = Registry("backend")
BACKENDS.add("torch", "edgetrack.runtime.backends.torch_backend:TorchBackend")
BACKENDS.add("onnxruntime", "edgetrack.runtime.backends.onnxruntime_backend:OnnxRuntimeBackend")
BACKENDS.add("tensorrt", "edgetrack.runtime.backends.tensorrt_backend:TensorRTBackend")


def get_backend(name: str) -> type[Backend]:
    """The backend class registered as `name`, imported now."""
    module_name, _, class_name = BACKENDS.get(name).partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name)
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise EdgetrackError(f"backend '{name}' points to {module_name}:{class_name}, which is not a Backend")
    return cls


def available_backends() -> list[str]:
    """Names of the registered backends that can run on this machine."""
    return [n for n in BACKENDS.names() if get_backend(n).is_available()]
