"""PyTorch backend: runs a `TrackerModel` in eval mode under `torch.inference_mode()`.

torch is imported when a backend is built, never when this module is imported, so the class can be listed
and asked `is_available()` on a machine without torch.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from edgetrack.errors import EdgetrackError, TrackingError
from edgetrack.runtime.backends.base import Backend

if TYPE_CHECKING:
    import torch

INPUTS = ("template", "search")


class TorchBackend(Backend):
    """Wraps a torch tracker model; moves it to `device` and puts it in eval mode."""

    name: ClassVar[str] = "torch"

    def __init__(self, model: torch.nn.Module, device: str = "cpu") -> None:
        if not self.is_available():
            raise EdgetrackError("the 'torch' backend needs PyTorch, which is not installed; install torch "
                                 "or use an exported model with another backend")
        import torch

        self._torch = torch
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def is_available(cls) -> bool:
        return importlib.util.find_spec("torch") is not None

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [k for k in INPUTS if k not in inputs]
        if missing:
            raise TrackingError(f"torch backend inputs {missing} missing; it needs {list(INPUTS)}")
        torch = self._torch
        with torch.inference_mode():
            t, s = (torch.from_numpy(np.ascontiguousarray(inputs[k], dtype=np.float32)).to(self.device)
                    for k in INPUTS)
            out = self.model(t, s)
            return {"score_map": out.score_map.float().cpu().numpy(), "size_map": out.size_map.float().cpu().numpy(),
                    "offset_map": out.offset_map.float().cpu().numpy()}
