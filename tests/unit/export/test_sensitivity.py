"""INT8 layers kept in floating point by leave-one-out sensitivity on the calibration crops."""

from __future__ import annotations

import numpy as np
import pytest

from edgetrack.artifacts import read_manifest
from edgetrack.calibration.store import CalibrationSet
from edgetrack.errors import ConfigError
from edgetrack.export import sensitivity
from edgetrack.export.onnx_export import export_onnx
from edgetrack.export.run import run_export
from edgetrack.models import save_model

pytest.importorskip("onnxruntime")


def _calib(micro_model, n: int = 6) -> CalibrationSet:
    rng = np.random.default_rng(0)
    c = micro_model.cfg
    return CalibrationSet({"template": rng.standard_normal((n, 3, c.template_size, c.template_size), np.float32),
                           "search": rng.standard_normal((n, 3, c.search_size, c.search_size), np.float32)},
                          {"samples": n})


def test_box_error_is_the_mean_l1_distance() -> None:
    a = np.array([[0.5, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]])
    b = np.array([[0.6, 0.5, 0.2, 0.1], [0.1, 0.1, 0.1, 0.1]])
    assert sensitivity.box_error(a, b) == pytest.approx((0.1 + 0.1) / 2)


def test_the_layers_whose_float_copy_helps_most_are_kept(micro_model, tmp_path, monkeypatch) -> None:
    export_onnx(micro_model, tmp_path / "model.onnx")
    layers = sensitivity.weight_layers(tmp_path / "model.onnx")
    calls: list[list[str]] = []

    def quantise(src, dst, float_layers):  # a fake quantiser: the graph itself, recording what it was asked
        calls.append(list(float_layers))
        dst.write_bytes(src.read_bytes())
        return dst

    # the fully quantised graph errs by 0.5; leaving layer i in float, by 0.1 * (n - i): the last layers help most
    errors = iter([0.5, *(0.1 * (len(layers) - i) for i in range(len(layers)))])
    monkeypatch.setattr(sensitivity, "box_error", lambda reference, boxes: next(errors))
    chosen, found = sensitivity.most_sensitive(tmp_path / "model.onnx", _calib(micro_model), 2, quantise)
    assert calls == [[], *layers.values()]  # all layers quantised once, then each layer's nodes left out alone
    layers = list(layers)
    assert chosen == [layers[-1], layers[-2]] and found["all"] == 0.5


def test_an_export_records_the_layers_it_kept_and_a_bad_count_is_refused(micro_model, tmp_path) -> None:
    calib = tmp_path / "calib.npz"
    _calib(micro_model).save(calib)
    model = save_model(micro_model, tmp_path / "m")
    out = run_export(str(model), tmp_path / "e", precisions=["fp32", "int8"], calib_path=calib, int8_float_layers=2)
    manifest = read_manifest(out)
    kept = manifest["config"]["int8_float_layers"]
    errors = manifest["metrics"]["int8_box_error"]
    assert len(kept) == 2 and set(kept) < set(errors) and errors[kept[0]] <= errors[kept[1]]
    assert all(errors[k] <= min(v for n, v in errors.items() if n not in kept and n != "all") for k in kept)
    import onnx

    graph = onnx.load(str(out / "model.int8.onnx")).graph
    dequantised = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    fed = {n.name: bool(set(n.input) & dequantised) for n in graph.node}
    nodes = sensitivity.weight_layers(out / "model.onnx")
    assert not any(fed[node] for layer in kept for node in nodes[layer])  # the kept layers read float tensors
    assert all(fed[node] for layer in nodes if layer not in kept for node in nodes[layer])  # the rest is INT8
    with pytest.raises(ConfigError, match="int8-float-layers"):
        run_export(str(model), tmp_path / "e2", precisions=["fp32"], int8_float_layers=1)
    with pytest.raises(ConfigError, match="1 to"):
        run_export(str(model), tmp_path / "e3", precisions=["fp32", "int8"], calib_path=calib, int8_float_layers=999)
