"""Several targets per frame: each target's boxes equal single-target tracking, in one batched call per frame."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ConfigError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.backends.torch_backend import TorchBackend
from edgetrack.runtime.tracker import Tracker

BOXES = [(60.0, 50.0, 40.0, 30.0), (180.0, 120.0, 50.0, 60.0), (20.0, 150.0, 30.0, 30.0)]
TOL = 1e-4  # pixels: a batched call may sum in another order than a single one


class Counting(Backend):
    """Wraps a backend, recording the batch size of every call."""

    name: ClassVar[str] = "counting"

    def __init__(self, inner: Backend) -> None:
        self.inner, self.batches = inner, []

    @classmethod
    def is_available(cls) -> bool:
        return True

    @property
    def max_batch(self) -> int | None:
        return self.inner.max_batch

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.batches.append(len(inputs["search"]))
        return self.inner.infer(inputs)


class HoldsTemplate(Counting):
    """A backend that keeps the template itself (as the TensorRT and CUDA backends do) and takes one target."""

    @property
    def max_batch(self) -> int | None:
        return 1

    def set_template(self, template: np.ndarray) -> None:
        self.template = template.copy()

    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert "template" not in inputs
        return super().infer({"template": self.template, **inputs})


def frames(n: int = 8) -> list[np.ndarray]:
    seq = synthetic_sequence(3, length=n)
    return [seq.frame(i) for i in range(n)]


def single_runs(make: object, video: list[np.ndarray], boxes: list[tuple]) -> list[list[tuple]]:
    """Each box tracked alone through `video` by a fresh single-target tracker."""
    runs = []
    for box in boxes:
        tracker = make()  # type: ignore[operator]
        tracker.initialize(video[0], box)
        runs.append([tracker.track(f).box for f in video[1:]])
    return runs


def many_run(tracker: Tracker, video: list[np.ndarray], boxes: list[tuple]) -> list[list[tuple]]:
    tracker.initialize_many(video[0], boxes)
    per_frame = [[r.box for r in tracker.track_many(f)] for f in video[1:]]
    return [list(t) for t in zip(*per_frame, strict=True)]


def test_torch_runs_every_target_in_one_call_with_the_single_target_boxes(micro_model) -> None:
    video = frames()
    backend = Counting(TorchBackend(micro_model))
    got = many_run(Tracker(backend, Tracker.from_model(micro_model).spec), video, BOXES)
    np.testing.assert_allclose(got, single_runs(lambda: Tracker.from_model(micro_model), video, BOXES), atol=TOL)
    assert backend.batches == [3] * (len(video) - 1)


@pytest.mark.parametrize("dynamic", [True, False])
def test_onnx_runtime_batches_a_dynamic_export_and_loops_a_static_one(micro_model, tmp_path, dynamic) -> None:
    from edgetrack.export.onnx_export import export_onnx
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend
    from edgetrack.runtime.spec import ProcessingSpec

    spec = export_onnx(micro_model, tmp_path / "model.onnx", dynamic_batch=dynamic)
    assert spec.dynamic_batch is dynamic
    ort = OnnxRuntimeBackend(tmp_path / "model.onnx")
    assert ort.max_batch == (None if dynamic else 1)
    backend = Counting(ort)
    video = frames(6)
    got = many_run(Tracker(backend, ProcessingSpec.read(spec)), video, BOXES)
    reference = single_runs(lambda: Tracker.from_model(micro_model), video, BOXES)
    np.testing.assert_allclose(got, reference, atol=TOL)
    assert backend.batches == ([3] if dynamic else [1, 1, 1]) * (len(video) - 1)


def test_targets_are_added_removed_and_reset_between_frames(micro_model) -> None:
    video = frames(7)
    tracker = Tracker.from_model(micro_model)
    ids = tracker.initialize_many(video[0], BOXES[:2])
    assert ids == [0, 1] and tracker.targets == [0, 1]
    tracker.track_many(video[1])
    tracker.remove_target(0)
    added = tracker.add_target(video[1], BOXES[2])
    tracker.reset_target(1, video[1], BOXES[0])
    assert added == 2 and tracker.targets == [1, 2]
    got = [[r.box for r in tracker.track_many(f)] for f in video[2:]]
    # from frame 1 on, target 1 is a fresh track of BOXES[0] and target 2 of BOXES[2]
    reference = single_runs(lambda: Tracker.from_model(micro_model), video[1:], [BOXES[0], BOXES[2]])
    np.testing.assert_allclose([list(t) for t in zip(*got, strict=True)], reference, atol=TOL)
    assert tracker.target_box(2) == pytest.approx(reference[1][-1], abs=TOL)


def test_a_backend_holding_one_template_runs_the_targets_in_turn_and_keeps_the_single_track(micro_model) -> None:
    video = frames(5)
    backend = HoldsTemplate(TorchBackend(micro_model))
    tracker = Tracker(backend, Tracker.from_model(micro_model).spec)
    tracker.initialize(video[0], BOXES[2])
    alone = single_runs(lambda: Tracker.from_model(micro_model), video, BOXES)
    tracker.initialize_many(video[0], BOXES[:2])
    single, many = [], []
    for f in video[1:]:  # interleaved: the multi-target calls must not leave their template in the backend
        many.append([r.box for r in tracker.track_many(f)])
        single.append(tracker.track(f).box)
    np.testing.assert_allclose([list(t) for t in zip(*many, strict=True)], alone[:2], atol=TOL)
    np.testing.assert_allclose(single, alone[2], atol=TOL)
    assert set(backend.batches) == {1}


def test_result_timings_name_the_shared_call(micro_model) -> None:
    tracker = Tracker.from_model(micro_model)
    video = frames(2)
    tracker.initialize_many(video[0], BOXES)
    results = tracker.track_many(video[1])
    assert [r.timings["batch"] for r in results] == [3.0] * 3
    assert len({r.timings["infer"] for r in results}) == 1  # one call, its time on every target


def test_bad_multi_target_use_gets_one_clear_error(micro_model) -> None:
    video = frames(2)
    tracker = Tracker.from_model(micro_model)
    with pytest.raises(TrackingError, match="no targets"):
        tracker.track_many(video[1])
    with pytest.raises(TrackingError, match="at least one box"):
        tracker.initialize_many(video[0], [])
    tracker.initialize_many(video[0], BOXES[:1])
    with pytest.raises(TrackingError, match=r"no target 5 \(targets: 0\)"):
        tracker.remove_target(5)
    with pytest.raises(TrackingError, match="frame size changed"):
        tracker.track_many(video[1][:100])


def test_a_fused_export_refuses_a_free_batch(micro_model, tmp_path) -> None:
    from edgetrack.export.onnx_export import export_onnx

    with pytest.raises(ConfigError, match="not both"):
        export_onnx(micro_model, tmp_path / "model.onnx", fused=True, dynamic_batch=True)


def test_export_dynamic_batch_reaches_the_io_spec_and_manifest(micro_model, tmp_path) -> None:
    from edgetrack.artifacts import read_manifest
    from edgetrack.export.run import run_export
    from edgetrack.models import save_model
    from edgetrack.runtime.io_spec import IOSpec

    out = run_export(str(save_model(micro_model, tmp_path / "m")), tmp_path / "export", dynamic_batch=True)
    assert IOSpec.load(out).dynamic_batch and read_manifest(out)["config"]["dynamic_batch"] is True
    with Tracker.from_artifact(out) as tracker:
        assert tracker.backend.max_batch is None
