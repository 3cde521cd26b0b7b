"""TensorRT end to end on a GPU: a micro model's engine matches torch, and the device path tracks like the host."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgetrack.runtime.backends.tensorrt_backend import unavailable_reason

WHY = unavailable_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(bool(WHY), reason=f"needs TensorRT and a CUDA GPU: {WHY}")]


def build_engine(model: object, folder: Path) -> Path:
    """Export the model to ONNX, build a strongly typed fp32 engine and write engine.json beside it."""
    import hashlib

    import tensorrt as trt

    from edgetrack.export.onnx_export import export_onnx
    from edgetrack.runtime.cuda.api import device_properties

    folder.mkdir(parents=True, exist_ok=True)
    onnx = folder / "model.onnx"
    spec = export_onnx(model, onnx)  # type: ignore[arg-type]
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(onnx)), [parser.get_error(i) for i in range(parser.num_errors)]
    plan = builder.build_serialized_network(network, builder.create_builder_config())
    (folder / "model.engine").write_bytes(bytes(plan))
    name, cc, _ = device_properties(0)
    io = [{"name": t.name, "mode": mode, "shape": list(t.shape), "dtype": "float32"}
          for mode, group in (("input", spec.inputs), ("output", spec.outputs)) for t in group]
    info = {"tensorrt_version": trt.__version__, "gpu": name, "compute_capability": cc, "target": "test",
            "precision": "fp32", "typing": "strong", "onnx_file": onnx.name,
            "onnx_sha256": hashlib.sha256(onnx.read_bytes()).hexdigest(), "io": io, "io_spec": spec.to_dict(),
            "builder": "tests", "built": "now"}
    (folder / "engine.json").write_text(json.dumps(info))
    return folder


@pytest.fixture
def engine_dir(micro_model: object, tmp_path: Path) -> Path:
    return build_engine(micro_model, tmp_path / "engine")


def test_engine_matches_torch(micro_model: object, engine_dir: Path) -> None:
    from edgetrack.runtime.artifact import open_backend
    from edgetrack.runtime.backends.torch_backend import TorchBackend

    backend, _ = open_backend(engine_dir, "tensorrt", "cuda:0")
    assert backend.name == "tensorrt"
    rng = np.random.default_rng(0)
    inputs = {"template": rng.standard_normal((1, 3, 32, 32), dtype=np.float32),
              "search": rng.standard_normal((1, 3, 64, 64), dtype=np.float32)}
    got = backend.infer(inputs)
    ref = TorchBackend(micro_model).infer(inputs)  # type: ignore[arg-type]
    for name, value in ref.items():
        assert np.abs(got[name] - value).max() <= 1e-3, name


@pytest.mark.parametrize("cuda_graph", [False, True])
def test_device_path_tracks_like_the_host_path(engine_dir: Path, cuda_graph: bool) -> None:
    from edgetrack.runtime.artifact import open_backend
    from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend
    from edgetrack.runtime.tracker import Tracker

    _, spec = open_backend(engine_dir, "tensorrt")
    device = Tracker(TensorRTBackend(engine_dir, cuda_graph=cuda_graph), spec)
    host_backend = TensorRTBackend(engine_dir, device_processing=False)
    host = Tracker(host_backend, spec)
    rng = np.random.default_rng(1)
    video = [rng.integers(0, 256, (120, 160, 3), dtype=np.uint8) for _ in range(8)]
    for tracker in (device, host):
        tracker.initialize(video[0], (60.0, 40.0, 30.0, 20.0))
    for frame in video[1:]:
        a, b = device.track(frame), host.track(frame)
        assert np.abs(np.subtract(a.box, b.box)).max() <= 1e-2 and abs(a.score - b.score) <= 1e-3


def test_kernels_run_from_a_second_thread_on_the_gpu() -> None:
    """The GStreamer case: built on one thread, used from another (the device context follows the call)."""
    import threading

    from edgetrack.runtime.cuda import api

    ok, why = api.cuda_available()
    if not ok:
        pytest.skip(f"needs a CUDA GPU through cuda-python: {why}")
    from edgetrack.runtime.cuda.pipeline import kernels

    api.use_device(0)
    kernels(0)
    errors: list[BaseException] = []

    got: list[np.ndarray] = []

    def use() -> None:
        try:
            api.use_device(0)  # what every public device call does first; cached, it ran only on the first thread
            buf = api.DeviceBuffer.from_array(np.arange(16, dtype=np.float32))
            got.append(buf.download((16,)))
        except BaseException as err:  # noqa: BLE001 - reported in the main thread
            errors.append(err)

    worker = threading.Thread(target=use)
    worker.start()
    worker.join()
    assert not errors, errors
    np.testing.assert_array_equal(got[0], np.arange(16, dtype=np.float32))
