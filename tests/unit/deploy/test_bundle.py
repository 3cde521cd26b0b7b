from __future__ import annotations

import json
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from edgetrack.artifacts import read_manifest, sha256_file
from edgetrack.deploy import engine_script
from edgetrack.deploy.host import Gpu, Host
from edgetrack.deploy.plan import TargetMismatchError
from edgetrack.deploy.run import run_build
from edgetrack.errors import ArtifactError, ConfigError
from edgetrack.export.run import run_export
from edgetrack.runtime.engine_info import load_engine_info
from edgetrack.runtime.io_spec import IOSpec

NO_GPU = Host(tensorrt=None, gpu=None, why_no_gpu="no CUDA GPU is visible")


def _run_script(folder, *args: str) -> subprocess.CompletedProcess:
    # -I: isolated mode, so the script cannot lean on the working directory or edgetrack's checkout
    return subprocess.run([sys.executable, "-I", str(folder / "build_engine.py"), *args], capture_output=True,
                          text=True, timeout=60)


def test_int8_bundle_for_orin_nano_is_complete(tmp_path, export_dir) -> None:
    lines: list[str] = []
    folder = run_build(export_dir, "jetson-orin-nano", "int8", tmp_path / "b", host=NO_GPU, log=lines.append)
    names = {p.name for p in folder.iterdir()}
    assert {"model.int8.onnx", "calibration.npz", "io_spec.json", "target.yaml", "build_engine.py", "trtexec.sh",
            "README.md", "manifest.json"} <= names
    assert (folder / "model.int8.onnx").read_bytes() == (export_dir / "model.int8.onnx").read_bytes()
    assert IOSpec.load(folder) == IOSpec.load(export_dir)
    assert yaml.safe_load((folder / "target.yaml").read_text())["compute_capability"] == "8.7"
    trtexec = (folder / "trtexec.sh").read_text()
    assert "--onnx=model.int8.onnx" in trtexec and "--stronglyTyped" in trtexec and "--int8" not in trtexec
    manifest = read_manifest(folder)
    assert manifest["config"] == {"target": "jetson-orin-nano", "precision": "int8", "typing": "strong"}
    assert "no CUDA GPU is visible" in manifest["reason"]
    said = "\n".join(lines)
    assert "deploy bundle" in said and "python3 build_engine.py" in said and "Jetson Orin Nano" in said


def test_bundle_script_is_self_contained_and_explains_itself(tmp_path, export_dir) -> None:
    folder = run_build(export_dir, "jetson-orin-nano", "int8", tmp_path / "b", host=NO_GPU, log=lambda _: None)
    text = (folder / "build_engine.py").read_text()
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "edgetrack" in line]
    assert "'target': 'jetson-orin-nano'" in text and "'precision': 'int8'" in text
    helped = _run_script(folder, "--help")
    assert helped.returncode == 0 and "jetson-orin-nano" in helped.stdout and "--dla-core" in helped.stdout
    try:
        import tensorrt  # noqa: F401
    except Exception:  # absent or a placeholder wheel: the script must say so in one line
        ran = _run_script(folder)
        assert ran.returncode == 2 and "TensorRT" in ran.stderr and "Traceback" not in ran.stderr


def test_legacy_int8_bundle_calibrates_from_fp32(tmp_path, export_dir) -> None:
    folder = run_build(export_dir, "jetson-xavier-nx", "int8", tmp_path / "x", host=NO_GPU, log=lambda _: None)
    assert {"model.onnx", "model.int8.onnx", "calibration.npz"} <= {p.name for p in folder.iterdir()}
    assert "'onnx': 'model.onnx'" in (folder / "build_engine.py").read_text()
    trtexec = (folder / "trtexec.sh").read_text()
    assert "--int8" in trtexec and "--fp16" in trtexec and "--stronglyTyped" not in trtexec
    assert "TensorRT 8.x has no strongly typed networks" in (folder / "README.md").read_text()


def test_fp16_bundle_and_default_precision(tmp_path, export_dir) -> None:
    folder = run_build(export_dir, "desktop-ampere", None, tmp_path / "d", host=NO_GPU, log=lambda _: None)
    assert read_manifest(folder)["config"]["precision"] == "fp16"
    assert (folder / "model.fp16.onnx").is_file() and not (folder / "calibration.npz").exists()


def test_bad_requests_get_one_clear_message(tmp_path, export_dir) -> None:
    with pytest.raises(ConfigError, match="builds int8, fp16, fp32, not 'fp8'"):
        run_build(export_dir, "jetson-orin-nano", "fp8", tmp_path / "a", host=NO_GPU)
    with pytest.raises(ArtifactError, match="not an export folder"):
        run_build(tmp_path, "jetson-orin-nano", "int8", tmp_path / "b", host=NO_GPU)
    fp32_only = run_export(str(export_dir.parent / "m"), tmp_path / "fp32")
    with pytest.raises(ArtifactError, match=r"no int8 model.*--calib"):
        run_build(fp32_only, "jetson-orin-nano", "int8", tmp_path / "c", host=NO_GPU)
    with pytest.raises(ArtifactError, match="no calibration.npz"):
        run_build(fp32_only, "jetson-xavier-nx", "int8", tmp_path / "d", host=NO_GPU)
    rtx = Host(tensorrt="10.7.0", gpu=Gpu("NVIDIA GeForce RTX 4090", "8.9", 24.0))
    with pytest.raises(TargetMismatchError, match="--force"):
        run_build(export_dir, "desktop-hopper", "fp16", tmp_path / "e", host=rtx)


def test_engine_record_matches_the_engine_json_schema(tmp_path, export_dir) -> None:
    io = [{"name": "template", "mode": "input", "shape": [1, 3, 32, 32], "dtype": "float32"},
          {"name": "score_map", "mode": "output", "shape": [1, 1, 4, 4], "dtype": "float32"}]
    record = engine_script.engine_record(
        trt_version="10.3.0.30", gpu="Orin", compute_capability="8.7", target="jetson-orin-nano", precision="int8",
        typing="strong", onnx=export_dir / "model.int8.onnx", calibration_fingerprint="abc", io=io,
        io_spec=json.loads((export_dir / "io_spec.json").read_text()), builder="build_engine.py")
    (tmp_path / "engine.json").write_text(json.dumps(record))
    info = load_engine_info(tmp_path)
    assert info.onnx_sha256 == engine_script.sha256(export_dir / "model.int8.onnx")
    assert [t.name for t in info.tensors("input")] == ["template"] and info.dla_core is None
    (tmp_path / "engine.json").write_text(json.dumps({**record, "precision": "int4"}))
    with pytest.raises(ArtifactError, match="precision"):
        load_engine_info(tmp_path)
    (tmp_path / "engine.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_engine_info(tmp_path)


def test_calibration_cache_name_changes_with_each_input() -> None:
    a = engine_script.calibration_cache_name("a" * 64, "b" * 64, "8.5.2")
    assert a != engine_script.calibration_cache_name("c" * 64, "b" * 64, "8.5.2")
    assert a != engine_script.calibration_cache_name("a" * 64, "c" * 64, "8.5.2")
    assert a != engine_script.calibration_cache_name("a" * 64, "b" * 64, "8.6.1")
    assert a == engine_script.calibration_cache_name("a" * 64, "b" * 64, "8.5.3")  # patch releases share caches


def test_script_refuses_a_mismatched_host_in_words() -> None:
    settings = {"target": "jetson-orin-nano", "compute_capability": "8.7", "tensorrt_min": "10.3",
                "tensorrt_below": "11.0"}
    assert engine_script.host_mismatches("10.3.0.30", "8.7", settings) == []
    problems = engine_script.host_mismatches("8.6.1", "8.9", settings)
    assert len(problems) == 2 and "compute capability 8.9" in problems[0] and "TensorRT 8.6.1" in problems[1]
    assert np.all(np.array(engine_script.version_tuple("10.3.0.30")) == [10, 3, 0, 30])


class FakeTensorRT(types.ModuleType):
    """The slice of TensorRT's Python API that `build_engine` uses, recording every call; inputs and outputs
    are read from the ONNX file, so the recorded I/O is the model's own."""

    def __init__(self) -> None:
        super().__init__("tensorrt")
        self.__version__ = "10.3.0.30"
        self.calls: list[tuple] = []
        fake = self
        self.NetworkDefinitionCreationFlag = types.SimpleNamespace(STRONGLY_TYPED=3, EXPLICIT_BATCH=0)
        self.MemoryPoolType = types.SimpleNamespace(WORKSPACE="workspace")
        self.BuilderFlag = types.SimpleNamespace(FP16="fp16", INT8="int8", GPU_FALLBACK="gpu_fallback")
        self.nptype = lambda dtype: np.float32

        class Logger:
            WARNING = 2

            def __init__(self, level: int) -> None:
                pass

        class Tensor:
            def __init__(self, name: str, shape: list[int]) -> None:
                self.name, self.shape, self.dtype = name, shape, "float"

        class Network:
            def __init__(self) -> None:
                self.inputs, self.outputs = [], []

            num_inputs = property(lambda self: len(self.inputs))
            num_outputs = property(lambda self: len(self.outputs))
            get_input = lambda self, i: self.inputs[i]  # noqa: E731
            get_output = lambda self, i: self.outputs[i]  # noqa: E731

        class OnnxParser:
            num_errors = 0

            def __init__(self, network: Network, logger: Logger) -> None:
                self.network = network

            def parse_from_file(self, path: str) -> bool:
                import onnx

                fake.calls.append(("parse", Path(path).name))
                graph = onnx.load(path).graph
                # a named (free) axis reads -1, as TensorRT reports it
                dims = lambda v: [d.dim_value if d.HasField("dim_value") else -1  # noqa: E731
                                  for d in v.type.tensor_type.shape.dim]
                self.network.inputs = [Tensor(v.name, dims(v)) for v in graph.input]
                self.network.outputs = [Tensor(v.name, dims(v)) for v in graph.output]
                return True

        class TimingCache:
            def serialize(self) -> bytes:
                return b"timing"

        class Config:
            def set_memory_pool_limit(self, pool: str, size: int) -> None:
                fake.calls.append(("memory_pool", pool, size))

            def create_timing_cache(self, data: bytes) -> TimingCache:
                return TimingCache()

            def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> None:
                pass

            def set_flag(self, flag: str) -> None:
                fake.calls.append(("flag", flag))

            def add_optimization_profile(self, profile: Profile) -> int:
                fake.calls.append(("profile", dict(profile.shapes)))
                return 0

        class Profile:
            def __init__(self) -> None:
                self.shapes: dict[str, tuple] = {}

            def set_shape(self, name: str, low: tuple, opt: tuple, high: tuple) -> None:
                self.shapes[name] = (tuple(low), tuple(opt), tuple(high))

        class Builder:
            def __init__(self, logger: Logger) -> None:
                pass

            def create_network(self, flags: int) -> Network:
                fake.calls.append(("network", flags))
                return Network()

            def create_builder_config(self) -> Config:
                return Config()

            def create_optimization_profile(self) -> Profile:
                return Profile()

            def build_serialized_network(self, network: Network, config: Config) -> bytes:
                fake.calls.append(("build",))
                return b"plan"

        self.Logger, self.Builder, self.OnnxParser = Logger, Builder, OnnxParser


def test_engine_build_here_runs_the_real_build_against_the_tensorrt_api(tmp_path, export_dir, monkeypatch) -> None:
    """Everything but TensorRT itself (which cannot run here) is the real code: options, parse, config, plan,
    sidecar; only the GPU parity/latency check is stubbed."""
    from edgetrack.deploy import engine as engine_mod

    trt = FakeTensorRT()
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(engine_mod, "check_engine", lambda folder, ref, samples: {
        "parity": {"score_map": 1e-3}, "latency_ms": {"median": 1.0, "p90": 1.2}, "parity_reference": ref.name})
    orin = Host(tensorrt="10.3.0.30", gpu=Gpu("Orin", "8.7", 7.4))
    folder = run_build(export_dir, "jetson-orin-nano", "int8", tmp_path / "e", host=orin, log=lambda _: None)
    assert ("parse", "model.int8.onnx") in trt.calls
    assert ("network", 1 << 3) in trt.calls  # a strongly typed network: precision comes from the Q/DQ file
    assert not [c for c in trt.calls if c[0] == "flag"]  # no precision flags on a strongly typed build
    (pool,) = [c for c in trt.calls if c[0] == "memory_pool"]
    assert pool[1:] == ("workspace", 1024 << 20)  # the profile's workspace_mb
    info = load_engine_info(folder)
    assert info.target == "jetson-orin-nano" and info.precision == "int8" and info.builder == "edgetrack build"
    assert info.onnx_file == "model.int8.onnx" and info.parity == {"score_map": 1e-3}
    assert (folder / "model.engine").read_bytes() == b"plan" and IOSpec.load(folder) == IOSpec.load(export_dir)
    assert [t.name for t in info.io] == ["template", "search", "score_map", "size_map", "offset_map"]


def test_cli_build_on_this_machine_writes_a_bundle(tmp_path, export_dir, capsys) -> None:
    from edgetrack.cli.app import run
    from edgetrack.deploy.host import detect_host

    if detect_host().gpu is not None:
        pytest.skip("this machine has a GPU; the bundle fallback is covered with a simulated host above")
    code = run(["build", str(export_dir), "--target", "jetson-orin-nano", "--precision", "int8",
                "--out", str(tmp_path / "cli")])
    assert code == 0 and (tmp_path / "cli" / "build_engine.py").is_file()
    assert "deploy bundle" in capsys.readouterr().err


def test_trtexec_flags_follow_the_targets_tensorrt(tmp_path, export_dir) -> None:
    from edgetrack.deploy.engine_script import calibration_cache_name

    xavier = (run_build(export_dir, "jetson-xavier-nx", "fp16", tmp_path / "x", host=NO_GPU, log=lambda _: None)
              / "trtexec.sh").read_text()
    assert "--builderOptimizationLevel" not in xavier  # TensorRT 8.5 has no such flag (it came in 8.6)
    orin = (run_build(export_dir, "jetson-orin-nano", "int8", tmp_path / "o", host=NO_GPU, log=lambda _: None)
            / "trtexec.sh").read_text()
    assert "--builderOptimizationLevel=" in orin
    # legacy INT8 from a calibrator: trtexec reads the very cache file build_engine.py writes
    (tmp_path / "no-qdq").mkdir()
    for name in ("model.onnx", "io_spec.json", "calibration.npz", "manifest.json"):
        shutil.copy(export_dir / name, tmp_path / "no-qdq" / name)
    folder = run_build(tmp_path / "no-qdq", "jetson-xavier-nx", "int8", tmp_path / "c", host=NO_GPU,
                       log=lambda _: None)
    script_cache = calibration_cache_name(sha256_file(folder / "model.onnx"), sha256_file(folder / "calibration.npz"),
                                          "8.5.2.2")  # what build_engine.py names it under JetPack 5.1's TensorRT
    trtexec = (folder / "trtexec.sh").read_text()
    assert f"--calib={script_cache}" in trtexec and "calibration.cache " not in trtexec


def test_a_jetson_orin_bundle_sizes_its_workspace_on_the_module_and_records_it(tmp_path, export_dir) -> None:
    """`--target jetson-orin`: one bundle; its build_engine.py reads the module's memory when it runs."""
    folder = run_build(export_dir, "jetson-orin", "int8", tmp_path / "o", host=NO_GPU, log=lambda _: None)
    assert read_manifest(folder)["config"]["target"] == "jetson-orin"
    namespace: dict = {"__name__": "bundle_script"}
    exec(compile((folder / "build_engine.py").read_text(), "build_engine.py", "exec"), namespace)
    settings = namespace["SETTINGS"]
    assert settings["workspace_share"] == 0.125 and settings["workspace_max_mb"] == 4096
    assert [namespace["workspace_for"](gb * 1024, settings) for gb in (8, 16, 32, 64)] == [1024, 2048, 4096, 4096]
    assert namespace["workspace_for"](None, settings) == 1024
    record = engine_script.engine_record(
        trt_version="10.3.0.30", gpu="Orin", compute_capability="8.7", target="jetson-orin", precision="int8",
        typing="strong", onnx=export_dir / "model.int8.onnx", calibration_fingerprint="abc",
        io=[{"name": "template", "mode": "input", "shape": [1, 3, 32, 32], "dtype": "float32"},
            {"name": "score_map", "mode": "output", "shape": [1, 1, 4, 4], "dtype": "float32"}],
        io_spec=json.loads((export_dir / "io_spec.json").read_text()), builder="build_engine.py",
        module="NVIDIA Jetson Orin NX Engineering Reference Developer Kit", memory_mb=15657.3, workspace_mb=1957)
    (tmp_path / "engine.json").write_text(json.dumps(record))
    info = load_engine_info(tmp_path)
    assert info.module.startswith("NVIDIA Jetson Orin NX") and info.memory_mb == 15657 and info.workspace_mb == 1957
