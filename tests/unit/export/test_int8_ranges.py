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
