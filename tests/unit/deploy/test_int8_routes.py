"""JetPack 5 (TensorRT 8.5) INT8: the calibrator route and the Q/DQ route of a bundle, each for what it is.

build_engine.py calibrates model.onnx on the device (implicit quantisation) unless told `--int8-route qdq`;
trtexec.sh builds model.int8.onnx (explicit Q/DQ). The build runs the rendered bundle script itself against
a recording fake of TensorRT's Python API and of the CUDA driver, which cannot run here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgetrack.artifacts import sha256_file
from edgetrack.deploy import engine_script
from edgetrack.deploy.host import Gpu, Host
from edgetrack.deploy.run import run_build
from edgetrack.errors import ArtifactError
from edgetrack.runtime.engine_info import load_engine_info
from tests.unit.deploy.test_bundle import NO_GPU, FakeTensorRT

TRT_VERSION = "8.5.2.2"  # JetPack 5.1's TensorRT
CACHE_BYTES = b"calibration table"


class FakeCuda:
    """The CUDA driver calls the build makes, recording each upload (a copy of the array) and each free."""

    uploads: list[np.ndarray] = []
    freed: list[int] = []

    def __init__(self) -> None:
        pass

    def gpu(self) -> tuple[str, str]:
        return "Xavier", "7.2"

    def total_memory_mb(self) -> float:
        return 7620.0

    def upload(self, array: np.ndarray) -> int:
        FakeCuda.uploads.append(np.array(array, copy=True))
        return 1000 + len(FakeCuda.uploads)

    def free(self, ptr: int) -> None:
        FakeCuda.freed.append(ptr)


class CalibratingTensorRT(FakeTensorRT):
    """FakeTensorRT 8.5 whose builder drives an INT8 calibrator the way TensorRT does: the cache first, else
    `get_batch` with the network's input names until it returns None, then `write_calibration_cache`."""

    def __init__(self) -> None:
        super().__init__()
        self.__version__ = TRT_VERSION
        self.batches: list[dict[str, int]] = []
        self.calibrators: list[Any] = []
        self.DeviceType = types.SimpleNamespace(DLA="dla")
        fake = self

        class IInt8EntropyCalibrator2:
            def __init__(self) -> None:
                fake.calls.append(("calibrator_init",))

        class Builder(self.Builder):
            def build_serialized_network(self, network: Any, config: Any) -> bytes:
                calibrator = getattr(config, "int8_calibrator", None)
                if calibrator is not None:
                    fake.calibrators.append(calibrator)
                    fake.drive(calibrator, [t.name for t in network.inputs])
                return super().build_serialized_network(network, config)

        self.IInt8EntropyCalibrator2, self.Builder = IInt8EntropyCalibrator2, Builder

    def drive(self, calibrator: Any, names: list[str]) -> None:
        """TensorRT's calibration loop; names go in reversed, since TensorRT's order need not be the file's."""
        self.calls.append(("batch_size", calibrator.get_batch_size()))
        if calibrator.read_calibration_cache() is not None:
            self.calls.append(("cache_hit",))
            return
        names = names[::-1]
        while True:
            pointers = calibrator.get_batch(names)
            if pointers is None:
                break
            self.batches.append(dict(zip(names, pointers, strict=True)))
        calibrator.write_calibration_cache(memoryview(CACHE_BYTES))


@pytest.fixture()
def xavier_bundle(tmp_path, export_dir) -> Path:
    return run_build(export_dir, "jetson-xavier-nx", "int8", tmp_path / "x", host=NO_GPU, log=lambda _: None)


@pytest.fixture()
def trt(monkeypatch) -> CalibratingTensorRT:
    fake = CalibratingTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    monkeypatch.setattr(FakeCuda, "uploads", [])
    monkeypatch.setattr(FakeCuda, "freed", [])
    return fake


def run_bundle_script(folder: Path, *args: str) -> int:
    """The bundle's own build_engine.py, run in-process with the fake CUDA driver in place of libcuda."""
    namespace: dict[str, Any] = {"__name__": "build_engine", "__file__": str(folder / "build_engine.py")}
    exec(compile((folder / "build_engine.py").read_text(), "build_engine.py", "exec"), namespace)
    namespace["CudaDriver"] = FakeCuda
    return namespace["main"](list(args))


def calibration_samples(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "calibration.npz", allow_pickle=False) as data:
        return {k: data[k] for k in data.files if not k.startswith("__")}


def test_calibrator_yields_the_npz_samples_in_order_batch_1_bound_by_name(xavier_bundle, trt) -> None:
    assert run_bundle_script(xavier_bundle) == 0
    samples = calibration_samples(xavier_bundle)
    count = min(len(a) for a in samples.values())
    assert count > 1 and len(trt.batches) == count and ("batch_size", 1) in trt.calls
    for i, batch in enumerate(trt.batches):
        for name, pointer in batch.items():
            uploaded = FakeCuda.uploads[pointer - 1001]
            assert uploaded.shape == (1, *samples[name].shape[1:]) and uploaded.dtype == np.float32
            np.testing.assert_array_equal(uploaded, samples[name][i:i + 1].astype(np.float32))
    assert set(trt.batches[0]) == {"template", "search"}
    assert sorted(FakeCuda.freed) == list(range(1001, 1001 + len(FakeCuda.uploads)))  # every batch freed


def test_calibrator_route_sets_int8_and_the_calibrator_on_the_fp32_model(xavier_bundle, trt) -> None:
    assert run_bundle_script(xavier_bundle) == 0
    assert ("parse", "model.onnx") in trt.calls and ("network", 1 << 0) in trt.calls  # EXPLICIT_BATCH, not strong
    assert ("flag", "int8") in trt.calls and ("flag", "fp16") in trt.calls
    (calibrator,) = trt.calibrators
    assert isinstance(calibrator, trt.IInt8EntropyCalibrator2)
    info = load_engine_info(xavier_bundle)
    cache = engine_script.calibration_cache_name(sha256_file(xavier_bundle / "model.onnx"),
                                                 sha256_file(xavier_bundle / "calibration.npz"), TRT_VERSION)
    assert info.int8_route == "calibrator" and info.calibration_cache == cache
    assert info.onnx_file == "model.onnx" and info.builder == "build_engine.py" and info.typing == "legacy"


def test_calibration_cache_is_written_then_reused(xavier_bundle, trt) -> None:
    assert run_bundle_script(xavier_bundle) == 0
    cache = xavier_bundle / load_engine_info(xavier_bundle).calibration_cache
    assert cache.read_bytes() == CACHE_BYTES
    uploads = len(FakeCuda.uploads)
    assert run_bundle_script(xavier_bundle) == 0
    assert ("cache_hit",) in trt.calls and len(FakeCuda.uploads) == uploads  # nothing calibrated the second time


def test_calibrator_cache_calls_and_a_sample_set_missing_an_input(tmp_path, trt) -> None:
    npz, cache = tmp_path / "calibration.npz", tmp_path / "c.cache"
    np.savez(npz, template=np.ones((2, 3, 4, 4), np.float32), __meta__=np.array("{}"))
    calibrator = engine_script.make_calibrator(trt, npz, cache, FakeCuda())
    assert calibrator.get_batch_size() == 1 and calibrator.read_calibration_cache() is None
    calibrator.write_calibration_cache(memoryview(b"table"))
    assert cache.read_bytes() == b"table" and calibrator.read_calibration_cache() == b"table"
    with pytest.raises(engine_script.BuildError, match=r"no samples for inputs \['search'\]"):
        calibrator.get_batch(["template", "search"])


def test_qdq_route_parses_the_qdq_model_with_int8_and_no_calibrator(xavier_bundle, trt) -> None:
    assert run_bundle_script(xavier_bundle, "--int8-route", "qdq") == 0
    assert ("parse", "model.int8.onnx") in trt.calls and ("flag", "int8") in trt.calls
    assert not trt.calibrators and not FakeCuda.uploads
    info = load_engine_info(xavier_bundle)
    assert info.int8_route == "qdq" and info.calibration_cache is None and info.onnx_file == "model.int8.onnx"
    assert f"--onnx={info.onnx_file} " in (xavier_bundle / "trtexec.sh").read_text()  # the trtexec.sh route


def test_each_route_refuses_the_other_routes_model(xavier_bundle, trt, capsys) -> None:
    # TensorRT 8 would ignore a calibrator on a Q/DQ graph, and find no ranges in the fp32 one: engine.json would lie
    assert run_bundle_script(xavier_bundle, "--onnx", "model.int8.onnx") == 2
    assert "--int8-route qdq" in capsys.readouterr().err
    assert run_bundle_script(xavier_bundle, "--int8-route", "qdq", "--onnx", "model.onnx") == 2
    assert "model.onnx has no Q/DQ nodes" in capsys.readouterr().err
    assert not trt.calibrators and ("build",) not in trt.calls and not (xavier_bundle / "engine.json").exists()


def test_readme_tells_the_two_jetpack5_int8_routes_apart(xavier_bundle) -> None:
    readme = (xavier_bundle / "README.md").read_text()
    trtexec = (xavier_bundle / "trtexec.sh").read_text()
    assert "equivalent trtexec" not in readme.lower() and "**not equivalent**" in readme
    assert "not expected to be bit-equal" in readme
    assert ("`python3 build_engine.py` (`--int8-route calibrator`, the default): **implicit quantisation**, calibrated "
            "on this device. It parses the fp32 `model.onnx`") in readme
    assert ("`trtexec.sh` (and `python3 build_engine.py --int8-route qdq`): **explicit Q/DQ quantisation**. It parses "
            "`model.int8.onnx`") in readme
    assert "`int8_route`" in readme
    (command,) = [line for line in trtexec.splitlines() if line.startswith("trtexec ")]
    assert command in readme and "--onnx=model.int8.onnx" in command and "--int8" in command
    assert "--calib" not in command  # Q/DQ: the ranges are in the file
    assert "'onnx': 'model.onnx'" in (xavier_bundle / "build_engine.py").read_text()


def test_script_help_names_both_routes(xavier_bundle) -> None:
    helped = subprocess.run([sys.executable, "-I", str(xavier_bundle / "build_engine.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    text = " ".join(helped.stdout.split())
    assert helped.returncode == 0 and "--int8-route {calibrator,qdq}" in text
    assert "implicit quantisation" in text and "explicit quantisation of the Q/DQ model" in text
    assert "the route trtexec.sh builds" in text and "model.int8.onnx with --int8-route qdq" in text


def test_a_bundle_without_a_qdq_model_has_one_route(tmp_path, export_dir) -> None:
    import shutil

    (tmp_path / "no-qdq").mkdir()
    for name in ("model.onnx", "io_spec.json", "calibration.npz", "manifest.json"):
        shutil.copy(export_dir / name, tmp_path / "no-qdq" / name)
    folder = run_build(tmp_path / "no-qdq", "jetson-xavier-nx", "int8", tmp_path / "c", host=NO_GPU,
                       log=lambda _: None)
    readme, trtexec = (folder / "README.md").read_text(), (folder / "trtexec.sh").read_text()
    (cache,) = re.findall(r"--calib=(\S+)", trtexec)
    assert "INT8 on TensorRT 8.x: one route" in readme and f"calibration cache `{cache}`" in readme
    assert "not equivalent" not in readme and "model.int8.onnx" not in readme


def test_no_route_section_where_int8_is_strongly_typed(tmp_path, export_dir) -> None:
    folder = run_build(export_dir, "jetson-orin-nano", "int8", tmp_path / "o", host=NO_GPU, log=lambda _: None)
    readme = (folder / "README.md").read_text()
    assert "--int8-route" not in readme and "The same build as a trtexec command" in readme


def test_engine_json_records_the_route_and_the_schema_checks_it(tmp_path, export_dir) -> None:
    io = [{"name": "template", "mode": "input", "shape": [1, 3, 32, 32], "dtype": "float32"},
          {"name": "score_map", "mode": "output", "shape": [1, 1, 4, 4], "dtype": "float32"}]

    def record(**changes: Any) -> dict[str, Any]:
        base = dict(trt_version="10.3.0.30", gpu="Orin", compute_capability="8.7", target="jetson-orin-nano",
                    precision="int8", typing="strong", onnx=export_dir / "model.int8.onnx",
                    calibration_fingerprint="abc", io=io, io_spec=json.loads((export_dir / "io_spec.json").read_text()),
                    builder="build_engine.py")
        return engine_script.engine_record(**{**base, **changes})

    assert record()["int8_route"] == "qdq"  # strongly typed INT8 is Q/DQ
    assert record(typing="legacy", onnx=export_dir / "model.onnx")["int8_route"] == "calibrator"  # edgetrack build
    assert record(precision="fp16", int8_route="qdq")["int8_route"] is None
    (tmp_path / "engine.json").write_text(json.dumps(record(typing="legacy", int8_route="qdq")))
    assert load_engine_info(tmp_path).int8_route == "qdq"
    (tmp_path / "engine.json").write_text(json.dumps({**record(), "int8_route": "ptq"}))
    with pytest.raises(ArtifactError, match="int8_route"):
        load_engine_info(tmp_path)
    old = {k: v for k, v in record().items() if k != "int8_route"}  # engine.json from before the field
    (tmp_path / "engine.json").write_text(json.dumps(old))
    assert load_engine_info(tmp_path).int8_route is None


def test_edgetrack_build_on_a_trt8_host_takes_the_calibrator_route(tmp_path, export_dir, trt, monkeypatch) -> None:
    """`edgetrack build` runs the same build code as the bundle script: on TensorRT 8, the calibrator route."""
    from edgetrack.deploy import engine as engine_mod

    monkeypatch.setattr(engine_script, "CudaDriver", FakeCuda)
    monkeypatch.setattr(engine_mod, "check_engine", lambda folder, ref, samples: {
        "parity": {"score_map": 1e-2}, "latency_ms": {"median": 1.0, "p90": 1.2}, "parity_reference": ref.name})
    xavier = Host(tensorrt=TRT_VERSION, gpu=Gpu("Xavier", "7.2", 8.0))
    folder = run_build(export_dir, "jetson-xavier-nx", "int8", tmp_path / "e", host=xavier, log=lambda _: None)
    info = load_engine_info(folder)
    assert info.int8_route == "calibrator" and info.builder == "edgetrack build" and trt.calibrators
    assert ("parse", "model.onnx") in trt.calls and len(trt.batches) > 0


def test_rendered_build_script_needs_nothing_newer_than_python_3_8(xavier_bundle) -> None:
    """JetPack 5 runs build_engine.py with Python 3.8."""
    from tests.unit.deploy.test_trt8_runtime import _python_38_violations

    assert _python_38_violations(xavier_bundle / "build_engine.py") == ""
