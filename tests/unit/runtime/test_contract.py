"""Every tracker keeps one contract: initialize / track / close, `with`, and a closed tracker refuses to track."""

from __future__ import annotations

import numpy as np
import pytest

from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import TrackingError
from edgetrack.eval.opencv_trackers import OpenCVTracker, open_opencv_tracker
from edgetrack.runtime.contract import BaseTracker
from edgetrack.runtime.online_tracker import OnlineTemplateTracker
from edgetrack.runtime.tracker import Tracker


def test_every_tracker_class_is_a_base_tracker() -> None:
    for cls in (Tracker, OnlineTemplateTracker, OpenCVTracker):
        assert issubclass(cls, BaseTracker)
    with pytest.raises(TypeError):  # the contract's methods are required, not conventions
        type("Half", (BaseTracker,), {"initialize": lambda self, f, b: None})()


def test_a_closed_export_tracker_released_its_session_and_refuses_to_track(tmp_path, micro_model) -> None:
    pytest.importorskip("onnxruntime")
    from edgetrack.export.run import run_export
    from edgetrack.models import save_model

    export_dir = run_export(str(save_model(micro_model, tmp_path / "m")), tmp_path / "x")
    seq = synthetic_sequence(3, 4)
    with Tracker.from_artifact(export_dir) as tracker:
        assert isinstance(tracker, BaseTracker)
        tracker.initialize(seq.frame(0), seq.boxes[0])
        box = tracker.track(seq.frame(1)).box
        backend = tracker.backend
    assert np.all(np.isfinite(box)) and backend.session is None  # type: ignore[attr-defined]
    with pytest.raises(TrackingError, match="closed"):
        tracker.track(seq.frame(2))
    tracker.close()  # twice: nothing happens


def test_opencv_baselines_keep_the_contract() -> None:
    seq = synthetic_sequence(3, 4)
    with open_opencv_tracker("opencv:csrt") as tracker:
        tracker.initialize(seq.frame(0), seq.boxes[0])
        assert len(tracker.track(seq.frame(1)).box) == 4
    with pytest.raises(TrackingError, match="closed"):
        tracker.initialize(seq.frame(0), seq.boxes[0])


def test_tensorrt_close_frees_graph_buffers_and_stream_once(monkeypatch) -> None:
    from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend
    from edgetrack.runtime.cuda import api

    freed: list[str] = []

    class Thing:
        def __init__(self, name: str) -> None:
            self.name = name

        def free(self) -> None:
            freed.append(f"free {self.name}")

        def destroy(self) -> None:
            freed.append(f"destroy {self.name}")

    class Tensor:
        def __init__(self, name: str) -> None:
            self.buffer = Thing(name)

    current: list[int] = []
    monkeypatch.setattr(api, "use_device", current.append)
    backend = object.__new__(TensorRTBackend)  # the device parts only: no TensorRT here
    backend.device, backend._pre, backend._dec, backend._graph = 1, Thing("pre"), None, Thing("graph")
    backend.tensors = {"search": Tensor("search"), "score_map": Tensor("score_map")}
    backend.stream, backend.context, backend.engine = Thing("stream"), object(), object()
    backend.close()
    backend.close()
    assert freed == ["free pre", "destroy graph", "free search", "free score_map", "destroy stream"]
    assert current == [1, 1] and backend.context is None and backend.engine is None  # under its own device
