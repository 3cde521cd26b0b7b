from __future__ import annotations

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgetrack.calibration.store import CalibrationSet  # noqa: E402
from edgetrack.export.qdq_check import QDQError, check_qdq, require_trt_qdq  # noqa: E402
from edgetrack.export.run import run_export  # noqa: E402
from edgetrack.models import save_model  # noqa: E402
from edgetrack.models.tracker import TrackerModel  # noqa: E402
from tests.conftest import MICRO, randomize_bn  # noqa: E402


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _weights(dtype, low: int) -> np.ndarray:
    w = np.ones((4, 3, 3, 3), dtype=dtype)
    if dtype == np.int8:
        w.flat[0] = low
    return w


def _conv_graph(weight_dtype=np.int8, bias_int32: bool = False, zero_point: int = 0, weight_axis: int = 0,
                input_dequantised: bool = True, act_per_channel: bool = False, q_to_relu: bool = False,
                unsigned: bool = False, q_zero_point: bool = True, weight_min: int = -127):
    """x -> Q -> DQ -> Conv(DQ(w), bias) -> y: TensorRT's pattern, with one rule broken on request."""
    inits = [
        _init("x_scale", np.array([0.1] * 3 if act_per_channel else 0.1, dtype=np.float32)),
        _init("x_zp", np.array([0] * 3 if act_per_channel else 0, dtype=np.uint8 if unsigned else np.int8)),
        _init("w", _weights(np.uint8 if unsigned else weight_dtype, weight_min)),
        _init("w_scale", np.full(4 if weight_axis == 0 else 3, 0.02, dtype=np.float32)),
        _init("w_zp", np.full(4 if weight_axis == 0 else 3, zero_point, dtype=np.uint8 if unsigned else np.int8)),
    ]
    nodes = [helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zp"][:3 if q_zero_point else 2], ["xq"], name="q_x",
                              **({"axis": 1} if act_per_channel else {})),
             helper.make_node("DequantizeLinear", ["xq", "x_scale", "x_zp"], ["xd"], name="dq_x",
                              **({"axis": 1} if act_per_channel else {})),
             helper.make_node("DequantizeLinear", ["w", "w_scale", "w_zp"], ["wd"], name="dq_w", axis=weight_axis)]
    if q_to_relu:
        nodes.append(helper.make_node("Relu", ["xq"], ["r"], name="relu"))
    if bias_int32:
        inits += [_init("b", np.zeros(4, dtype=np.int32)), _init("b_scale", np.full(4, 0.002, dtype=np.float32)),
                  _init("b_zp", np.zeros(4, dtype=np.int32))]
        nodes.append(helper.make_node("DequantizeLinear", ["b", "b_scale", "b_zp"], ["bd"], name="dq_b", axis=0))
        bias = "bd"
    else:
        inits.append(_init("b", np.zeros(4, dtype=np.float32)))
        bias = "b"
    nodes.append(helper.make_node("Conv", ["xd" if input_dequantised else "x", "wd", bias], ["y"], name="conv",
                                  pads=[1, 1, 1, 1]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_the_tensorrt_pattern_passes() -> None:
    assert check_qdq(_conv_graph()) == []


@pytest.mark.parametrize(("broken", "message"), [
    ({"bias_int32": True}, "of type INT32"),
    ({"zero_point": 3}, "non-zero zero point"),
    ({"weight_axis": 1}, "needs its output-channel axis 0"),
    ({"input_dequantised": False}, "floating-point input"),
    ({"act_per_channel": True}, "activation per channel"),
    ({"q_to_relu": True}, "must feed DequantizeLinear only"),
    ({"unsigned": True}, "of type UINT8: TensorRT accepts only signed INT8"),
    ({"unsigned": True}, "has a UINT8 zero point"),
    ({"q_zero_point": False}, "has no zero point, so its output is UINT8"),
    ({"weight_min": -128}, "holding -128"),
])
def test_each_broken_rule_is_named(broken: dict, message: str) -> None:
    problems = check_qdq(_conv_graph(**broken))
    assert any(message in p for p in problems), problems


def test_int32_bias_is_refused_at_the_file_level(tmp_path) -> None:
    path = tmp_path / "bad.onnx"
    onnx.save(_conv_graph(bias_int32=True), str(path))
    with pytest.raises(QDQError, match="bad.onnx is not an INT8 graph TensorRT can build"):
        require_trt_qdq(path)


def test_int8_export_has_no_dequantised_non_int8_initializer(tmp_path) -> None:
    torch.manual_seed(0)
    model = TrackerModel(MICRO.replace(stem="conv", patch_size=8)).eval()
    randomize_bn(model)
    folder = save_model(model, tmp_path / "m")
    rng = np.random.default_rng(0)
    CalibrationSet({"template": rng.standard_normal((4, 3, 32, 32)).astype(np.float32),
                    "search": rng.standard_normal((4, 3, 64, 64)).astype(np.float32)}).save(tmp_path / "c.npz")
    run_export(str(folder), tmp_path / "exp", precisions=["fp32", "int8"], calib_path=tmp_path / "c.npz")
    graph = onnx.load(str(tmp_path / "exp" / "model.int8.onnx"))
    inits = {i.name: i.data_type for i in graph.graph.initializer}
    dq_inputs = [n.input[0] for n in graph.graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits]
    assert dq_inputs and all(inits[x] == TensorProto.INT8 for x in dq_inputs)
    assert check_qdq(graph) == []


def test_export_refuses_an_int8_graph_that_breaks_the_rules(tmp_path, monkeypatch, capsys) -> None:
    """Export end to end with a quantiser that leaves UINT8 activations: the export fails and writes nothing."""
    import onnxruntime.quantization as ortq  # the quantiser imports it lazily: patch onnxruntime's own function
    from onnxruntime.quantization import QuantType

    from edgetrack.cli.app import run

    original = ortq.quantize_static

    def unsigned(*args, **kwargs):
        kwargs.update(activation_type=QuantType.QUInt8, extra_options={"QuantizeBias": False})
        return original(*args, **kwargs)

    monkeypatch.setattr(ortq, "quantize_static", unsigned)
    torch.manual_seed(0)
    folder = save_model(TrackerModel(MICRO.replace(stem="conv", patch_size=8)).eval(), tmp_path / "m")
    rng = np.random.default_rng(0)
    CalibrationSet({"template": rng.standard_normal((4, 3, 32, 32)).astype(np.float32),
                    "search": rng.standard_normal((4, 3, 64, 64)).astype(np.float32)}).save(tmp_path / "c.npz")
    code = run(["export", str(folder), "--out", str(tmp_path / "exp"), "--precision", "fp32,int8",
                "--calib", str(tmp_path / "c.npz")])
    err = capsys.readouterr().err
    assert code == 2 and "is not an INT8 graph TensorRT can build" in err and "UINT8" in err
    assert not (tmp_path / "exp" / "model.int8.onnx").exists()
