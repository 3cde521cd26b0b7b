"""TensorRT builds of a --dynamic-batch export: one profile for 1 to N targets, recorded, refused for TensorRT 8."""

from __future__ import annotations

import sys

import pytest

from edgetrack.deploy.host import Gpu, Host
from edgetrack.deploy.run import run_build
from edgetrack.errors import ConfigError
from edgetrack.export.run import run_export
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.engine_info import load_engine_info
from tests.conftest import MICRO
from tests.unit.deploy.test_bundle import NO_GPU, FakeTensorRT

ORIN = Host(tensorrt="10.3.0.30", gpu=Gpu("Orin", "8.7", 7.4))


@pytest.fixture(scope="module")
def dynamic_export(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    root = tmp_path_factory.mktemp("dynamic")
    return run_export(str(save_model(TrackerModel(MICRO).eval(), root / "m")), root / "x", dynamic_batch=True)


def test_an_engine_build_adds_a_profile_up_to_eight_targets_and_records_it(tmp_path, dynamic_export,
                                                                           monkeypatch) -> None:
    from edgetrack.deploy import engine as engine_mod

    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(engine_mod, "check_engine", lambda folder, ref, samples: {
        "parity": {"score_map": 1e-3}, "latency_ms": {"median": 1.0, "p90": 1.2}, "parity_reference": ref.name})
    folder = run_build(dynamic_export, "jetson-orin-nano", "fp32", tmp_path / "e", host=ORIN, log=lambda _: None)
    (profile,) = [c[1] for c in trt.calls if c[0] == "profile"]
    assert profile == {"template": ((1, 3, 32, 32), (8, 3, 32, 32), (8, 3, 32, 32)),
                       "search": ((1, 3, 64, 64), (8, 3, 64, 64), (8, 3, 64, 64))}
    assert load_engine_info(folder).max_batch == 8


def test_a_static_export_gets_no_profile(tmp_path, export_dir, monkeypatch) -> None:
    from edgetrack.deploy import engine as engine_mod

    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(engine_mod, "check_engine", lambda folder, ref, samples: {
        "parity": {"score_map": 1e-3}, "latency_ms": {"median": 1.0, "p90": 1.2}, "parity_reference": ref.name})
    folder = run_build(export_dir, "jetson-orin-nano", "fp32", tmp_path / "e", host=ORIN, log=lambda _: None)
    assert not [c for c in trt.calls if c[0] == "profile"] and load_engine_info(folder).max_batch == 1


def test_a_bundle_builds_the_same_profile_with_trtexec_and_its_script(tmp_path, dynamic_export, monkeypatch) -> None:
    from tests.unit.deploy.test_int8_routes import run_bundle_script

    bundle = run_build(dynamic_export, "jetson-orin-nano", "fp32", tmp_path / "b", host=NO_GPU, log=lambda _: None)
    line = (bundle / "trtexec.sh").read_text()
    assert "--minShapes=template:1x3x32x32,search:1x3x64x64" in line
    assert "--optShapes=template:8x3x32x32,search:8x3x64x64" in line and "--maxShapes=template:8x3x32x32" in line
    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    assert run_bundle_script(bundle, "--max-targets", "3", "--force") == 0
    (profile,) = [c[1] for c in trt.calls if c[0] == "profile"]
    assert profile["search"] == ((1, 3, 64, 64), (3, 3, 64, 64), (3, 3, 64, 64))
    assert load_engine_info(bundle).max_batch == 3


def test_tensorrt_8_targets_refuse_a_dynamic_batch_export(tmp_path, dynamic_export) -> None:
    with pytest.raises(ConfigError, match="TensorRT 8.*one target per call"):
        run_build(dynamic_export, "jetson-xavier-nx", "fp16", tmp_path / "x", host=NO_GPU, log=lambda _: None)
