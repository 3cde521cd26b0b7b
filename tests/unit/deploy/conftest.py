"""An fp32 + int8 export of a micro tracker with its calibration set, shared by the build tests."""

from __future__ import annotations

import pytest
import torch

from edgetrack.calibration.run import run_calibrate
from edgetrack.export.run import run_export
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO, randomize_bn


@pytest.fixture(scope="session")
def export_dir(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = TrackerModel(MICRO).eval()
    randomize_bn(model)
    root = tmp_path_factory.mktemp("export")
    model_dir = save_model(model, root / "m")
    run_calibrate(str(model_dir), "synthetic", None, 16, 0, root / "calib.npz")
    return run_export(str(model_dir), root / "x", precisions=["fp32", "fp16", "int8"], calib_path=root / "calib.npz")
