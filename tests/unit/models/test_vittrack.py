"""The `vittrack` preset against OpenCV's VitTrack ONNX file: weights by graph position, parity, sha256 check."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgetrack.errors import CheckpointError
from edgetrack.models.factory import create_model, model_config
from edgetrack.models.profile import count_macs, count_parameters
from edgetrack.models.tracker import TrackerModel

VITTRACK = Path(__file__).resolve().parents[3] / ".." / "shared" / "models" / "vittrack_2023sep.onnx"
needs_file = pytest.mark.skipif(not VITTRACK.is_file(), reason="../shared/models/vittrack_2023sep.onnx is absent")


def test_preset_has_vittracks_shape() -> None:
    cfg = model_config("vittrack")
    model = TrackerModel(cfg)
    assert count_parameters(model) == 173_953  # the file's 174k, counted from the graph's initializers
    stem = [m.out_channels for m in model.backbone.patch_embed.modules() if isinstance(m, torch.nn.Conv2d)]
    assert stem == [6, 12, 24, 48]
    head = [model.box_head.conv1_ctr[0].out_channels, model.box_head.conv4_ctr[0].out_channels]
    assert head == [32, 4] and not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert (cfg.search_feat, cfg.num_heads, cfg.min_score) == (16, 1, 0.2)
    assert 0.08e9 < count_macs(cfg) < 0.1e9


@needs_file
def test_outputs_equal_onnxruntime_on_the_original_file() -> None:
    ort = pytest.importorskip("onnxruntime")
    model = create_model("vittrack", checkpoint=VITTRACK)
    rng = np.random.default_rng(0)
    template = rng.standard_normal((1, 3, 128, 128)).astype(np.float32)
    search = rng.standard_normal((1, 3, 256, 256)).astype(np.float32)
    session = ort.InferenceSession(str(VITTRACK), providers=["CPUExecutionProvider"])
    expected = session.run(["output1", "output2", "output3"], {"template": template, "search": search})
    with torch.no_grad():  # OpenCV's BGR input order is folded into the stem: feed the channels reversed
        got = model(torch.from_numpy(template[:, ::-1].copy()), torch.from_numpy(search[:, ::-1].copy()))
    for ours, theirs in zip(got, expected, strict=True):
        assert np.abs(ours.numpy() - theirs).max() < 1e-5


@needs_file
def test_another_file_is_refused_by_its_sha256(tmp_path: Path) -> None:
    other = tmp_path / "object_tracking_vittrack_2023sep.onnx"
    other.write_bytes(VITTRACK.read_bytes() + b"\0")
    with pytest.raises(CheckpointError, match="is not OpenCV's object_tracking_vittrack_2023sep.onnx"):
        create_model("vittrack", checkpoint=other)


def test_any_onnx_file_but_vittracks_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="sha256"):
        create_model("vittrack", checkpoint=path)
