from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import TrackingError
from edgetrack.runtime.backends.torch_backend import TorchBackend, TorchDeviceBackend, make_torch_backend
from edgetrack.runtime.spec import ProcessingSpec
from edgetrack.runtime.tracker import Tracker


def _track(tracker: Tracker, frames: int = 8) -> list[tuple[float, ...]]:
    seq = synthetic_sequence(7, frames)
    tracker.initialize(seq.frame(0), seq.boxes[0])
    return [tracker.track(seq.frame(i)).box for i in range(1, frames)]


def test_device_path_tracks_like_the_host_path(micro_model) -> None:
    spec = ProcessingSpec.from_model_config(micro_model.cfg)
    host = _track(Tracker(TorchBackend(micro_model), spec))
    device = _track(Tracker(TorchDeviceBackend(micro_model, "cpu"), spec))
    np.testing.assert_allclose(np.array(device), np.array(host), atol=1e-3)


def test_device_path_holds_the_box_on_the_same_frames_as_the_host_path(micro_model) -> None:
    """min_score compares the windowed peak on both paths (the raw peak on the device path moved boxes)."""

    from edgetrack.runtime.decode import decode_frame

    spec = ProcessingSpec.from_model_config(micro_model.cfg)
    recorder = Tracker(TorchBackend(micro_model), spec)
    seen: list[float] = []
    infer = recorder.backend.infer
    recorder.backend.infer = lambda inputs: seen.append(decode_frame(out := infer(inputs), recorder.window)[2]) or out
    _track(recorder)
    strict = spec.replace(min_score=float(sorted(seen)[2]))  # the two lowest frames fall below it
    host = _track(Tracker(TorchBackend(micro_model), strict))
    held = sum(a == b for a, b in zip(host, host[1:], strict=False))
    assert 0 < held < len(host) - 1
    device = _track(Tracker(TorchDeviceBackend(micro_model, "cpu"), strict))
    np.testing.assert_allclose(np.array(device), np.array(host), atol=1e-3)


def test_device_path_needs_a_template_and_cpu_keeps_the_host_path(micro_model) -> None:
    backend = TorchDeviceBackend(micro_model, "cpu")
    with pytest.raises(TrackingError, match="before set_template"):
        backend.track_device(np.zeros((64, 64, 3), np.uint8), None)
    assert type(make_torch_backend(micro_model, "cpu")) is TorchBackend


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU visible to torch")
def test_cuda_device_path_matches_the_cpu_reference(micro_model) -> None:
    spec = ProcessingSpec.from_model_config(micro_model.cfg)
    reference = _track(Tracker(TorchBackend(micro_model), spec))
    backend = make_torch_backend(micro_model, "cuda")
    assert isinstance(backend, TorchDeviceBackend)
    np.testing.assert_allclose(np.array(_track(Tracker(backend, spec))), np.array(reference), atol=1e-2)
