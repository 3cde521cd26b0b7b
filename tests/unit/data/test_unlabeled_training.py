"""Unlabeled clips through the stages: sources, `label`, `compress`, `train`, `calibrate`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.calibration.store import CalibrationSet
from edgetrack.cli.app import run
from edgetrack.compress.config import DataConfig
from edgetrack.data.pseudo_labels import Labeler
from edgetrack.data.sources import LabeledClips, training_source, training_sources
from edgetrack.errors import DataError
from edgetrack.models import save_model
from edgetrack.runtime.contract import BaseTracker, TrackResult
from tests.unit.data.clip_files import square_box, write_clip

SMALL = ["--epochs", "1", "--pairs-per-epoch", "4", "--batch-size", "2", "--workers", "0", "--device", "cpu",
         "--set", "data.synthetic_sequences=2", "--set", "data.synthetic_length=10"]


@pytest.fixture
def clips(tmp_path):
    for seed, name in enumerate(("a", "b")):
        write_clip(tmp_path / "clips" / name, frames=6, seed=seed)
    return tmp_path / "clips"


class Lost(BaseTracker):
    """A labeler that is never sure."""

    box = None

    def initialize(self, frame, box) -> None:
        self.start = tuple(box)

    def track(self, frame) -> TrackResult:
        return TrackResult(self.start, 0.0, {})


def test_unlabeled_needs_a_folder_and_a_labeler(clips) -> None:
    with pytest.raises(DataError, match="needs a folder"):
        training_source("unlabeled:", None)
    with pytest.raises(DataError, match="needs a labeler"):
        training_source(f"unlabeled:{clips}", None)


def test_a_labeler_that_keeps_nothing_is_reported(clips) -> None:
    with pytest.raises(DataError, match="kept no frame .* lower data.pseudo_labels.min_score"):
        training_source(f"unlabeled:{clips}", None, labeler=Labeler("lost", {"k": 1}, Lost))


def test_opencv_labeler_from_the_data_config_labels_the_clips(clips) -> None:
    cfg = DataConfig(datasets=("synthetic-train", f"unlabeled:{clips}"), labeler="opencv:csrt",
                     synthetic_sequences=2, synthetic_length=10)
    synthetic, labelled = training_sources(cfg)
    assert len(synthetic) == 2 and isinstance(labelled, LabeledClips) and len(labelled) == 2
    seq = labelled[0]
    assert seq.visible.sum() >= 4  # CSRT follows the square
    first_kept = int(np.flatnonzero(seq.visible)[1])
    assert np.abs(seq.boxes[first_kept, :2] - square_box(first_kept)[:2]).max() < 4


def test_label_command_writes_inspectable_labels(clips, tmp_path, capsys) -> None:
    code = run(["label", str(clips), "--labeler", "opencv:csrt", "--out", str(tmp_path / "labels")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "labels written to" in printed and "a " in printed
    lines = (tmp_path / "labels" / "b" / "groundtruth.txt").read_text().splitlines()
    assert len(lines) == 6 and lines[0] == ",".join(f"{v:.2f}" for v in square_box(0))
    assert (tmp_path / "labels" / "b" / "img" / "00001.png").is_file()


def test_label_command_refuses_bad_clips_with_one_line(clips, tmp_path, capsys) -> None:
    (clips / "a" / "init.txt").write_text("1,2,3,4\n5,6,7,8\n")
    code = run(["label", str(clips), "--labeler", "opencv:csrt", "--out", str(tmp_path / "labels")])
    err = capsys.readouterr().err
    assert code == 2 and "exactly one box" in err and "Traceback" not in err


@pytest.mark.slow
def test_compress_on_synthetic_and_unlabeled_clips_keys_the_run_by_its_labels(clips, tmp_path,
                                                                           micro_model) -> None:
    teacher = save_model(micro_model, tmp_path / "teacher")
    out = tmp_path / "run"
    code = run(["compress", "--teacher", str(teacher), "--layers", "2", "--out", str(out), *SMALL,
                "--data", f"synthetic-train,unlabeled:{clips}", "--labeler", "opencv:csrt",
                "--data-weights", "1,3"])
    assert code == 0 and (out / "student" / "model.safetensors").is_file()
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert len(state["run"]["pseudo_labels"]) == 1 and state["run"]["data.weights"] == [1.0, 3.0]
    assert state["run"]["data.labeler"] == "opencv:csrt"


def test_training_from_scratch_cannot_label(clips, tmp_path, capsys) -> None:
    code = run(["train", "--model", "tiny", "--data", f"unlabeled:{clips}", "--out", str(tmp_path / "t"), *SMALL])
    assert code == 2 and "cannot label them" in capsys.readouterr().err


def test_bad_data_weights_are_refused(tmp_path, capsys) -> None:
    code = run(["compress", "--data-weights", "1,x", "--out", str(tmp_path)])
    assert code == 2 and "--data-weights takes numbers" in capsys.readouterr().err


def test_calibrate_on_unlabeled_clips_follows_the_models_own_trajectory(clips, tmp_path, micro_model) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    code = run(["calibrate", "--model", str(model_dir), "--data", f"unlabeled:{clips}", "--samples", "8",
                "--out", str(tmp_path / "c.npz")])
    assert code == 0
    calib = CalibrationSet.load(tmp_path / "c.npz")
    assert len(calib) == 8 and calib.meta["data"] == f"unlabeled:{clips}"
    assert calib.arrays["search"].shape == (8, 3, 64, 64)
