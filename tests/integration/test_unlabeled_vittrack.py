"""The commands users are given for their own clips, on VitTrack and the real clips in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetrack.calibration.store import CalibrationSet
from edgetrack.cli.app import run
from edgetrack.models import create_model

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VITTRACK = SHARED / "models" / "vittrack_2023sep.onnx"
CLIPS = SHARED / "unlabeled"

pytestmark = pytest.mark.skipif(not (VITTRACK.is_file() and CLIPS.is_dir()),
                                reason=f"VitTrack weights and unlabeled clips not present under {SHARED}")


@pytest.mark.slow
def test_compress_vittrack_on_unlabeled_clips_then_calibrate_from_them(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = run(["compress", "--teacher", "vittrack", "--teacher-weights", str(VITTRACK), "--layers", "2",
                "--data", f"synthetic-train,unlabeled:{CLIPS}", "--out", str(out), "--epochs", "1",
                "--pairs-per-epoch", "64", "--batch-size", "16", "--workers", "0", "--device", "cpu",
                "--set", "data.synthetic_sequences=8"])
    assert code == 0, capsys.readouterr().err
    assert "labelling Jogging1 (300 frames)" in capsys.readouterr().err
    assert create_model(out / "student").cfg.depth == 2
    code = run(["calibrate", "--model", str(out / "student"), "--data", f"unlabeled:{CLIPS}", "--samples", "128",
                "--out", str(tmp_path / "c.npz")])
    assert code == 0
    calib = CalibrationSet.load(tmp_path / "c.npz")
    assert len(calib) == 128 and calib.arrays["search"].shape[1:] == (3, 256, 256)
