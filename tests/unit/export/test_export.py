from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.errors import ArtifactError
from edgetrack.export.parity import real_crops
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.decode import decode, hann2d
from edgetrack.runtime.io_spec import IOSpec
from edgetrack.runtime.tracker import Tracker
from tests.conftest import MICRO, randomize_bn

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = TrackerModel(MICRO).eval()
    randomize_bn(model)
    return save_model(model, tmp_path_factory.mktemp("m") / "micro")


def test_export_writes_onnx_spec_and_parity(tmp_path, model_dir) -> None:
    assert run(["export", str(model_dir), "--out", str(tmp_path / "onnx")]) == 0
    folder = tmp_path / "onnx"
    spec = IOSpec.load(folder)
    assert [t.name for t in spec.inputs] == ["template", "search"]
    assert [t.name for t in spec.outputs] == ["score_map", "size_map", "offset_map"]
    assert spec.inputs[1].shape == (1, 3, 64, 64) and spec.feat_size == 4 and spec.search_factor == 4.0
    parity = read_manifest(folder)["metrics"]["parity_fp32"]
    assert set(parity) == {"score_map", "size_map", "offset_map"} and max(parity.values()) < 1e-4
    import onnx

    graph = onnx.load(str(folder / "model.onnx"))
    assert graph.opset_import[0].version == 17


def test_fused_postprocess_equals_numpy_decoder(tmp_path, model_dir) -> None:
    from edgetrack.models import create_model
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    assert run(["export", str(model_dir), "--out", str(tmp_path / "fused"), "--fuse-postprocess"]) == 0
    model = create_model(model_dir)
    fused = OnnxRuntimeBackend(tmp_path / "fused" / "model.onnx")
    for inputs in real_crops(model, count=3):
        got = fused.infer(inputs)
        with torch.no_grad():
            maps = model(torch.from_numpy(inputs["template"]), torch.from_numpy(inputs["search"]))
        box, score, _ = decode(*(m.numpy() for m in maps), window=hann2d(4))
        np.testing.assert_allclose(got["box"][0], box, atol=1e-5)
        assert got["score"][0] == pytest.approx(score, abs=1e-5)


def test_tracker_from_artifact_matches_torch(tmp_path, model_dir) -> None:
    run(["export", str(model_dir), "--out", str(tmp_path / "onnx")])
    from edgetrack.data.synthetic import synthetic_sequence

    seq = synthetic_sequence(5, 6)
    onnx_tracker = Tracker.from_artifact(tmp_path / "onnx")
    torch_tracker = Tracker.from_artifact(model_dir)
    assert onnx_tracker.backend.name == "onnxruntime" and torch_tracker.backend.name == "torch"
    for t in (onnx_tracker, torch_tracker):
        t.initialize(seq.frame(0), seq.boxes[0])
    for i in range(1, 6):
        a, b = onnx_tracker.track(seq.frame(i)), torch_tracker.track(seq.frame(i))
        np.testing.assert_allclose(a.box, b.box, atol=1e-3)


def test_corrupt_onnx_and_missing_artifact(tmp_path) -> None:
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ArtifactError, match="ONNX Runtime cannot load"):
        OnnxRuntimeBackend(bad)
    with pytest.raises(ArtifactError, match="not found"):
        Tracker.from_artifact(tmp_path / "nope")
    (tmp_path / "io_spec.json").write_text(json.dumps({"inputs": []}))
    with pytest.raises(Exception, match="io_spec|IOSpec|invalid"):
        IOSpec.load(tmp_path)
