"""INT8 range rules: each one gives a valid Q/DQ graph, the rule is recorded, and an unknown rule is refused."""

from __future__ import annotations

import pytest

from edgetrack.artifacts import read_manifest
from edgetrack.calibration.run import run_calibrate
from edgetrack.cli.app import run
from edgetrack.export.run import run_export
from edgetrack.models import save_model

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model_and_calib(tmp_path_factory, micro_model_module):
    root = tmp_path_factory.mktemp("ranges")
    model = save_model(micro_model_module, root / "m")
    calib = root / "c.npz"
    run_calibrate(str(model), "synthetic-train", None, 16, 0, calib)
    return model, calib


@pytest.fixture(scope="module")
def micro_model_module():
    import torch

    from edgetrack.models.tracker import TrackerModel
    from tests.conftest import MICRO

    torch.manual_seed(0)
    return TrackerModel(MICRO).eval()


def _scales(path) -> list[float]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    return sorted(float(inits[n.input[1]].max()) for n in graph.node if n.op_type == "QuantizeLinear"
                  and n.input[1] in inits)


def test_each_range_rule_writes_a_checked_graph_and_is_recorded(tmp_path, model_and_calib) -> None:
    model, calib = model_and_calib
    scales = {}
    for ranges in ("minmax", "percentile", "entropy"):
        out = run_export(str(model), tmp_path / ranges, precisions=["fp32", "int8"], calib_path=calib,
                         int8_ranges=ranges)
        assert read_manifest(out)["config"]["int8_ranges"] == ranges
        scales[ranges] = _scales(out / "model.int8.onnx")
    # a percentile or an entropy threshold never exceeds the observed extreme; the percentile cuts some range off
    for rule in ("percentile", "entropy"):
        assert len(scales[rule]) == len(scales["minmax"])
        assert all(a <= b * (1 + 1e-6) for a, b in zip(sorted(scales[rule]), sorted(scales["minmax"]), strict=True))
    assert sum(scales["percentile"]) < sum(scales["minmax"])


def test_an_unknown_range_rule_is_one_line(tmp_path, model_and_calib, capsys) -> None:
    model, calib = model_and_calib
    assert run(["export", str(model), "--precision", "fp32,int8", "--calib", str(calib), "--int8-ranges", "mse",
                "--out", str(tmp_path / "x")]) == 2
    assert "--int8-ranges mse: choose minmax, percentile, entropy" in capsys.readouterr().err


def test_no_int8_attention_keeps_the_attention_products_in_floating_point(tmp_path, model_and_calib) -> None:
    import onnx

    from edgetrack.export.precision import activation_matmuls

    model, calib = model_and_calib
    kept = run_export(str(model), tmp_path / "kept", precisions=["fp32", "int8"], calib_path=calib,
                      int8_attention=False)
    quantised = run_export(str(model), tmp_path / "all", precisions=["fp32", "int8"], calib_path=calib)
    attention = set(activation_matmuls(kept / "model.onnx"))
    assert attention and read_manifest(kept)["config"]["int8_attention"] is False

    def fed_by_dq(folder) -> dict[str, bool]:
        graph = onnx.load(str(folder / "model.int8.onnx")).graph
        dq_out = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
        # both operands dequantised (a Gemm's bias stays in floating point either way)
        return {n.name: n.input[0] in dq_out and n.input[1] in dq_out for n in graph.node
                if n.op_type in ("MatMul", "Gemm")}

    kept_dq, all_dq = fed_by_dq(kept), fed_by_dq(quantised)
    assert not any(kept_dq[n] for n in attention) and all(all_dq[n] for n in attention)
    assert all(v for n, v in kept_dq.items() if n not in attention)  # layers with weights stay INT8
