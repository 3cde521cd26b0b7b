"""A backend for any torch module with named inputs and outputs (graphs split into parts, like MixFormerV2's).

torch is imported when a backend is built, never when this module is imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from edgetrack.errors import EdgetrackError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.device import torch_device

if TYPE_CHECKING:
    import torch


class TorchModuleBackend(Backend):
    """Runs `module(*inputs in input_names order)` in eval mode and names its outputs `output_names`."""

    name: ClassVar[str] = "torch-module"

    def __init__(self, module: torch.nn.Module, input_names: Sequence[str], output_names: Sequence[str],
                 device: str = "cpu") -> None:
        if not self.is_available():
            raise EdgetrackError("the torch module backend needs PyTorch, which is not installed")
        import torch

        self._torch = torch
        self.device = torch_device(device)
        self.module = module.to(self.device).eval()
        self.input_names, self.output_names = tuple(input_names), tuple(output_names)

    @classmethod
    def is_available(cls) -> bool:
        return importlib.util.find_spec("torch") is not None

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [k for k in self.input_names if k not in inputs]
        if missing:
            raise TrackingError(f"torch module inputs {missing} missing; it needs {list(self.input_names)}")
        torch = self._torch
        with torch.inference_mode():
            args = [torch.from_numpy(np.ascontiguousarray(inputs[k], dtype=np.float32)).to(self.device)
                    for k in self.input_names]
            out = self.module(*args)
        outs = out if isinstance(out, tuple) else (out,)
        return {n: o.float().cpu().numpy() for n, o in zip(self.output_names, outs, strict=True)}
