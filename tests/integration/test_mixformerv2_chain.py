"""A MixFormerV2 model folder through `run_export` (split graphs), `Tracker.from_artifact` and the eval runner."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ConfigError
from edgetrack.eval.run import load_tracker, track_sequence
from edgetrack.export.mixformerv2 import ENCODER, STEP
from edgetrack.export.run import run_export
from edgetrack.models.factory import build_model, save_model
from edgetrack.runtime.online_tracker import OnlineTemplateTracker
from tests.unit.models.test_mixformerv2 import MICRO_MIX

pytest.importorskip("onnxruntime")


@pytest.fixture()
def model_dir(tmp_path):
    torch.manual_seed(0)
    return save_model(build_model(MICRO_MIX).eval(), tmp_path / "model")


def test_export_stage_writes_the_split_and_eval_tracks_it_like_torch(tmp_path, model_dir) -> None:
    export = run_export(str(model_dir), tmp_path / "export")
    assert (export / ENCODER).is_file() and (export / STEP).is_file()
    onnx_tracker, torch_tracker = load_tracker(str(export)), load_tracker(str(model_dir))
    assert isinstance(onnx_tracker, OnlineTemplateTracker) and isinstance(torch_tracker, OnlineTemplateTracker)
    seq = synthetic_sequence(11, length=8)
    theirs, _ = track_sequence(onnx_tracker, seq)
    ours, _ = track_sequence(torch_tracker, seq)
    np.testing.assert_allclose(theirs, ours, atol=1e-2)


def test_export_stage_refuses_reduced_precision_for_the_split(tmp_path, model_dir) -> None:
    with pytest.raises(ConfigError, match="fp32 only"):
        run_export(str(model_dir), tmp_path / "export", precisions=["fp32", "int8"])
