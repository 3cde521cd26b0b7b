"""PyTorch backend: runs a `TrackerModel` in eval mode under `torch.inference_mode()`.

torch is imported when a backend is built, never when this module is imported, so the class can be listed
and asked `is_available()` on a machine without torch.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from edgetrack.errors import EdgetrackError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.device import torch_device

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
        self.device = torch_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def is_available(cls) -> bool:
        return importlib.util.find_spec("torch") is not None

    @property
    def max_batch(self) -> int | None:
        return None  # a torch model takes any batch

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


class TorchDeviceBackend(TorchBackend):
    """The torch backend with the tracker's device hooks: the template stays on the device, and each frame is
    uploaded once, cropped, resized and normalised there (`preprocess_torch`), run, and decoded there
    (`decode_torch`); only the box and score come back to the host. `make_torch_backend` picks it for CUDA;
    on the CPU it gives the same boxes as the host path, which is how it is tested without a GPU.
    """

    def __init__(self, model: torch.nn.Module, device: str = "cuda") -> None:
        super().__init__(model, device)
        from edgetrack.runtime import decode_torch, preprocess_torch
        from edgetrack.runtime.decode import hann2d
        from edgetrack.runtime.spec import ProcessingSpec

        self._decode, self._pre = decode_torch, preprocess_torch  # imported once, not per frame

        self.spec = ProcessingSpec.from_model_config(model.cfg)
        self._window = self._torch.from_numpy(hann2d(self.spec.feat_size)).to(self.device)
        self._mean, self._std = (self._torch.tensor(v, dtype=self._torch.float32, device=self.device)
                                 for v in (self.spec.mean, self.spec.std))
        self._template: torch.Tensor | None = None

    def set_template(self, template: np.ndarray) -> None:
        """Keep the template crop on the GPU for every following frame."""
        self._template = self._torch.from_numpy(np.ascontiguousarray(template, dtype=np.float32)).to(self.device)

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if "template" not in inputs and self._template is not None:
            inputs = {**inputs, "template": self._template.cpu().numpy()}
        return super().infer(inputs)

    def track_device(self, frame: np.ndarray, crop: Any) -> tuple[np.ndarray, float, float]:
        """Search crop of a uint8 RGB frame at `crop`, forward, decode -> (normalised (cx, cy, w, h), raw score,
        windowed peak)."""
        if self._template is None:
            raise TrackingError("track_device() called before set_template()")
        torch = self._torch
        with torch.inference_mode():
            image = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device, non_blocking=True)
            pixels = self._pre.crop_and_resize_torch(image, crop)
            search = self._pre.normalize_torch(pixels, self._mean, self._std)[None]
            out = self.model(self._template, search)
            maps = (out.score_map.float(), out.size_map.float(), out.offset_map.float())
            box, score = self._decode.decode_torch(*maps, self._window)
            peak = (maps[0] * self._window).flatten(1).amax(dim=1)  # the windowed peak min_score is compared with
            values = torch.cat([box[0], score, peak]).double().cpu().numpy()  # one device-to-host copy per frame
        if not np.all(np.isfinite(values)):
            raise TrackingError("the model output is not finite at the peak; model output is broken")
        return values[:4], float(values[4]), float(values[5])


def make_torch_backend(model: torch.nn.Module, device: str = "cpu") -> TorchBackend:
    """The torch backend for `device`: on CUDA with GPU pre/post-processing, elsewhere the plain host path."""
    if torch_device(device).type == "cuda":
        return TorchDeviceBackend(model, device)
    return TorchBackend(model, device)
