"""MixFormerV2's split export on TensorRT targets: a bundle or engine build per graph, opened as one tracker."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.calibration.run import run_calibrate
from edgetrack.calibration.store import CalibrationSet
from edgetrack.deploy.host import Gpu, Host
from edgetrack.deploy.run import run_build
from edgetrack.deploy.split import graph_io_spec, is_split_build
from edgetrack.errors import ArtifactError
from edgetrack.export.mixformerv2 import ENCODER, SPEC, STEP, input_shapes, load_spec
from edgetrack.export.run import run_export
from edgetrack.models.factory import build_model, save_model
from edgetrack.runtime.engine_info import load_engine_info
from edgetrack.runtime.io_spec import IOSpec
from edgetrack.runtime.tracker import Tracker
from tests.unit.deploy.test_bundle import NO_GPU, FakeTensorRT
from tests.unit.models.test_mixformerv2 import MICRO_MIX


@pytest.fixture(scope="module")
def split_export(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("split")
    model_dir = save_model(build_model(MICRO_MIX).eval(), root / "m")
    with pytest.warns(UserWarning, match="few"):
        run_calibrate(str(model_dir), "synthetic-train", None, 16, 0, root / "calib.npz")
    return run_export(str(model_dir), root / "x", precisions=["fp32", "fp16", "int8"], calib_path=root / "calib.npz")


def test_int8_bundle_holds_one_complete_bundle_per_graph(tmp_path, split_export) -> None:
    lines: list[str] = []
    folder = run_build(split_export, "jetson-orin-nano", "int8", tmp_path / "b", host=NO_GPU, log=lines.append)
    assert is_split_build(folder) and (folder / SPEC).is_file() and (folder / "README.md").is_file()
    shapes = input_shapes(load_spec(split_export))
    for stem, inputs in (("template_encoder", ("template", "online_template")), ("search_step", ("search", "memory"))):
        sub = folder / stem
        assert {"model.int8.onnx", "calibration.npz", "io_spec.json", "build_engine.py", "trtexec.sh"} <= {
            p.name for p in sub.iterdir()}
        assert (sub / "model.int8.onnx").read_bytes() == (split_export / f"{stem}.int8.onnx").read_bytes()
        spec = IOSpec.load(sub)
        assert [t.name for t in spec.inputs] == list(inputs)
        assert all(t.shape == shapes[t.name] for t in spec.inputs)
        calib = CalibrationSet.load(sub / "calibration.npz")
        assert sorted(calib.arrays) == sorted(inputs) and len(calib) == 16  # each graph calibrates on its inputs
    assert read_manifest(folder)["config"]["graphs"] == ["template_encoder", "search_step"]
    assert "template_encoder/build_engine.py && python3 search_step/build_engine.py" in "\n".join(lines)
    with pytest.raises(ArtifactError, match="engines are not built yet"):
        Tracker.from_artifact(folder)


def test_graph_io_spec_reads_each_graphs_own_outputs(split_export) -> None:
    step = graph_io_spec(split_export, STEP)
    assert [t.name for t in step.outputs] == ["side_logits", "score_logit"]
    assert step.outputs[1].shape == (1, 1) and step.extra == {"family": "mixformerv2", "graph": "search_step"}
    assert [t.name for t in graph_io_spec(split_export, ENCODER).outputs] == ["memory"]


def test_jetpack5_target_is_refused_in_words(tmp_path, split_export) -> None:
    with pytest.raises(ArtifactError, match="no online-template loop"):
        run_build(split_export, "jetson-xavier-nx", "fp16", tmp_path / "x", host=NO_GPU, log=lambda _: None)


def test_engine_build_here_builds_both_graphs_against_the_tensorrt_api(tmp_path, split_export, monkeypatch) -> None:
    from edgetrack.deploy import engine as engine_mod

    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    seen: list[tuple[str, list[str]]] = []

    def check(folder, ref, samples):
        seen.append((ref.name, sorted(samples[0])))
        return {"parity": {"x": 1e-3}, "latency_ms": {"median": 1.0, "p90": 1.2}, "parity_reference": ref.name}

    monkeypatch.setattr(engine_mod, "check_engine", check)
    orin = Host(tensorrt="10.3.0.30", gpu=Gpu("Orin", "8.7", 7.4))
    folder = run_build(split_export, "jetson-orin-nano", "fp16", tmp_path / "e", host=orin, log=lambda _: None)
    assert [c for c in trt.calls if c[0] == "parse"] == [("parse", "model.fp16.onnx")] * 2
    for stem in ("template_encoder", "search_step"):
        info = load_engine_info(folder / stem)
        assert info.precision == "fp16" and (folder / stem / "model.engine").read_bytes() == b"plan"
    assert seen[0][1] == ["online_template", "template"] and seen[1][1] == ["memory", "search"]
    metrics = read_manifest(folder)["metrics"]
    assert metrics["search_step"]["latency_ms"]["median"] == 1.0
    assert np.isfinite(metrics["template_encoder"]["parity"]["x"])
    monkeypatch.delitem(sys.modules, "tensorrt")  # the fake builds; it cannot run engines
    if _tensorrt_runs():
        pytest.skip("TensorRT runs here: the engines built by the fake are not real plans")
    with pytest.raises(ArtifactError, match="tensorrt backend cannot run here"):
        Tracker.from_artifact(folder)
    with pytest.raises(ArtifactError, match="runs on tensorrt, not onnxruntime"):
        Tracker.from_artifact(folder, backend="onnxruntime")


def _tensorrt_runs() -> bool:
    from edgetrack.runtime.backends.tensorrt_backend import unavailable_reason

    return unavailable_reason() == ""
