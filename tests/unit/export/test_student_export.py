"""Narrow-MLP and separable students through export (fp32 parity, INT8 Q/DQ), the cpu build and the runtime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.calibration.run import run_calibrate
from edgetrack.compress import make_student
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.deploy.cpu import build_cpu
from edgetrack.export.qdq_check import check_qdq
from edgetrack.export.run import run_export
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.tracker import Tracker
from tests.conftest import MICRO, randomize_bn

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.filterwarnings("ignore:16 calibration samples is few")  # enough for a graph check


@pytest.fixture(scope="module", params=[("narrow-mlp", 1.0), ("separable", None)], ids=["narrow-mlp", "separable"])
def student_export(request, tmp_path_factory):
    block, ratio = request.param
    torch.manual_seed(0)
    teacher = TrackerModel(MICRO).eval()
    randomize_bn(teacher)
    root = tmp_path_factory.mktemp(block)
    folder = save_model(make_student(teacher, layers=2, block=block, mlp_ratio=ratio).eval(), root / "student")
    run_calibrate(str(folder), "synthetic", None, 16, 0, root / "calib.npz")
    export = run_export(str(folder), root / "onnx", precisions=["fp32", "int8"], calib_path=root / "calib.npz")
    return block, folder, export


def test_fp32_export_matches_torch(student_export) -> None:
    _, _, export = student_export
    parity = read_manifest(export)["metrics"]["parity_fp32"]
    assert set(parity) == {"score_map", "size_map", "offset_map"} and max(parity.values()) < 1e-4


def test_int8_quantises_only_weighted_layers(student_export) -> None:
    block, _, export = student_export
    graph = onnx.load(str(export / "model.int8.onnx"))
    assert check_qdq(graph) == []
    producer = {o: n.op_type for n in graph.graph.node for o in n.output}
    ops = {n.op_type for n in graph.graph.node}
    if block == "separable":
        assert {"Softmax", "ReduceSum", "Relu"} <= ops
    # token softmax, its weighted sum and the norms read floating-point tensors, never a DequantizeLinear output
    for node in graph.graph.node:
        if node.op_type in ("Softmax", "ReduceSum", "LayerNormalization"):
            assert all(producer.get(i) != "DequantizeLinear" for i in node.input), node.name


def test_cpu_build_tracks_like_the_torch_student(tmp_path, student_export) -> None:
    _, folder, export = student_export
    built = build_cpu(export, tmp_path / "cpu", precision="fp32")
    seq = synthetic_sequence(3, 6)
    runtime, reference = Tracker.from_artifact(built), Tracker.from_artifact(folder)
    assert (runtime.backend.name, reference.backend.name) == ("onnxruntime", "torch")
    for t in (runtime, reference):
        t.initialize(seq.frame(0), seq.boxes[0])
    for i in range(1, 6):
        np.testing.assert_allclose(runtime.track(seq.frame(i)).box, reference.track(seq.frame(i)).box, atol=1e-3)
