from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ArtifactError
from edgetrack.eval import run as eval_run
from edgetrack.eval.identity import tracker_identity
from edgetrack.eval.metrics import ope_metrics
from edgetrack.eval.opencv_trackers import CLASSICAL, OpenCVTracker, parse_spec

SHARED_MODELS = Path(__file__).resolve().parents[4] / "shared" / "models"
VITTRACK = SHARED_MODELS / "vittrack_2023sep.onnx"
NANO = (SHARED_MODELS / "nanotrack_v2_backbone.onnx", SHARED_MODELS / "nanotrack_v2_head.onnx")
needs_models = pytest.mark.skipif(not VITTRACK.is_file(), reason="../shared/models (OpenCV's model files) is absent")

SEQ = synthetic_sequence(7200, length=30)


def _auc(tracker: OpenCVTracker) -> float:
    boxes, _ = eval_run.track_sequence(tracker, SEQ)
    return ope_metrics(boxes, SEQ.boxes, SEQ.visible)["auc"]


@pytest.mark.parametrize("name", CLASSICAL)
def test_classical_trackers_follow_a_synthetic_target(name: str) -> None:
    still = ope_metrics(np.tile(SEQ.boxes[0], (len(SEQ), 1)), SEQ.boxes, SEQ.visible)["auc"]
    tracker = OpenCVTracker(parse_spec(f"opencv:{name}"))
    auc = _auc(tracker)
    assert auc > still or name == "mosse"  # MOSSE keeps a fixed-size box and may lose a scaling target
    assert tracker.track(SEQ.frame(1)).timings["infer"] >= 0


@needs_models
def test_vittrack_and_nanotrack_run_from_their_model_files() -> None:
    for spec in (f"opencv:vittrack={VITTRACK}", f"opencv:nanotrack={NANO[0]},{NANO[1]}"):
        assert _auc(OpenCVTracker(parse_spec(spec))) > 20


def test_bad_specs_are_refused_with_the_fix(tmp_path) -> None:
    with pytest.raises(ArtifactError, match="unknown OpenCV tracker 'crst'.*csrt"):
        parse_spec("opencv:crst")
    with pytest.raises(ArtifactError, match="needs 1 model file"):
        parse_spec("opencv:vittrack")
    with pytest.raises(ArtifactError, match="not found"):
        parse_spec(f"opencv:vittrack={tmp_path / 'missing.onnx'}")
    with pytest.raises(ArtifactError, match="takes no model file"):
        parse_spec("opencv:kcf=x.onnx")


def test_a_file_that_is_not_a_model_is_refused_at_open(tmp_path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ArtifactError, match="OpenCV could not create opencv:vittrack"):
        OpenCVTracker(parse_spec(f"opencv:vittrack={bad}"))


def test_missing_contrib_build_gives_the_install_fix(monkeypatch) -> None:
    import cv2

    monkeypatch.delattr(cv2, "TrackerCSRT")
    with pytest.raises(ArtifactError, match="opencv-contrib-python-headless"):
        OpenCVTracker(parse_spec("opencv:csrt"))


def test_identity_changes_with_the_model_file(tmp_path) -> None:
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"1")
    b.write_bytes(b"2")
    assert tracker_identity(f"opencv:vittrack={a}") != tracker_identity(f"opencv:vittrack={b}")


def test_eval_cli_compares_an_opencv_baseline_in_one_table(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [SEQ])
    assert run(["eval", "--model", "opencv:kcf", "--model", "opencv:medianflow", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "opencv-kcf" in text and "opencv-medianflow" in text and "ms/frame" in text
    assert (tmp_path / "synthetic-test" / "opencv-kcf" / "results" / f"{SEQ.name}.txt").is_file()
