"""The self-contained TensorRT 8 runtime of JetPack 5 bundles: Python 3.8, and edgetrack's own crop and decode."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from edgetrack.data import crops
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.deploy.bundle import RUNTIME, render_trt8_runtime
from edgetrack.deploy.run import run_build
from edgetrack.eval.run import track_sequence
from edgetrack.runtime import decode
from edgetrack.runtime.tracker import Tracker
from tests.unit.deploy.test_bundle import NO_GPU


def _load(tmp_path: Path) -> ModuleType:
    path = tmp_path / RUNTIME
    path.write_text(render_trt8_runtime())
    spec = importlib.util.spec_from_file_location("tracker_runtime", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tracker_runtime"] = module  # as `import tracker_runtime` does (dataclasses look it up there)
    spec.loader.exec_module(module)
    return module


def test_rendered_runtime_is_python_3_8_and_imports_no_edgetrack() -> None:
    source = render_trt8_runtime()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    # cv2 is optional: the crop uses OpenCV's resize where JetPack's OpenCV is installed, else the numpy blend
    assert imported <= {"__future__", "ctypes", "json", "math", "collections", "dataclasses", "pathlib", "time",
                        "typing", "numpy", "tensorrt", "cv2"}


def test_rendered_crop_and_decode_equal_edgetracks(tmp_path) -> None:
    rt = _load(tmp_path)
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    for box in ([20.0, 30.0, 25.0, 18.0], [140.0, 100.0, 30.0, 30.0], [-5.0, -5.0, 12.0, 40.0]):
        a, b = rt.crop_geometry(box, 4.0, 64), crops.crop_geometry(box, 4.0, 64)
        assert (a.side, a.x1, a.y1, a.cx, a.cy) == (b.side, b.x1, b.y1, b.cx, b.cy)
        np.testing.assert_array_equal(rt.normalize(rt.crop_and_resize(frame, a), (0.5,) * 3, (0.25,) * 3),
                                      crops.normalize(crops.crop_and_resize(frame, b), (0.5,) * 3, (0.25,) * 3))
        np.testing.assert_array_equal(rt.map_box_back([0.4, 0.6, 0.2, 0.3], a),
                                      crops.map_box_back([0.4, 0.6, 0.2, 0.3], b))
        np.testing.assert_array_equal(rt.clip_box(box, 160, 120), crops.clip_box(box, 160, 120))
    maps = {"score_map": rng.random((1, 1, 8, 8)).astype(np.float32),
            "size_map": rng.random((1, 2, 8, 8)).astype(np.float32),
            "offset_map": rng.random((1, 2, 8, 8)).astype(np.float32)}
    box_a, score_a = rt.decode_outputs(maps, rt.hann2d(8))
    box_b, score_b = decode.decode_outputs(maps, decode.hann2d(8))
    np.testing.assert_array_equal(box_a, box_b)
    assert score_a == score_b


class OnnxEngine:
    """Stands in for the runtime's TensorRT `Engine`: the bundle's own ONNX through ONNX Runtime."""

    def __init__(self, onnx: Path) -> None:
        from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

        self.backend, self.inputs = OnnxRuntimeBackend(onnx), {}

    def set_input(self, name: str, array: np.ndarray) -> None:
        self.inputs[name] = array

    def run(self) -> dict[str, np.ndarray]:
        return self.backend.infer(self.inputs)


def _device_boxes(tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, seq) -> np.ndarray:
    """Boxes of the bundle's own tracker_runtime.Tracker on frames 1.., its engine played by ONNX Runtime."""
    rt = _load(tmp_path)
    (folder / "model.engine").write_bytes(b"built on the device")
    monkeypatch.setattr(rt, "CudaRuntime", lambda: None)
    monkeypatch.setattr(rt, "Engine", lambda plan, cuda: OnnxEngine(folder / "model.onnx"))
    device = rt.Tracker(str(folder))
    device.initialize(seq.frame(0), seq.init_box)
    return np.array([device.track(seq.frame(i))[0] for i in range(1, len(seq))])


def test_runtime_tracks_exactly_as_edgetrack_on_the_same_network(tmp_path, export_dir, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    folder = run_build(export_dir, "jetson-xavier-nx", "fp32", tmp_path / "x", host=NO_GPU, log=lambda _: None)
    assert (folder / RUNTIME).read_text() == render_trt8_runtime()
    assert "from tracker_runtime import Tracker" in (folder / "README.md").read_text()
    seq = synthetic_sequence(7400, length=12)
    theirs = _device_boxes(tmp_path, folder, monkeypatch, seq)
    ours, _ = track_sequence(Tracker.from_artifact(export_dir, backend="onnxruntime"), seq)
    np.testing.assert_allclose(theirs, ours[1:], atol=1e-9)


def test_orin_bundles_use_edgetrack_itself(tmp_path, export_dir) -> None:
    folder = run_build(export_dir, "jetson-orin-nano", "fp16", tmp_path / "o", host=NO_GPU, log=lambda _: None)
    assert not (folder / RUNTIME).exists() and "Tracker.from_artifact" in (folder / "README.md").read_text()


def _python38() -> str | None:
    for candidate in (os.environ.get("EDGETRACK_PYTHON38"), shutil.which("python3.8")):
        if candidate and subprocess.run([candidate, "-c", "import numpy"], capture_output=True).returncode == 0:
            return candidate
    return None


def _python_38_violations(path: Path) -> str:
    """vermin's report of what in `path` needs a Python newer than 3.8 (empty when nothing does)."""
    vermin = Path(sys.executable).with_name("vermin")
    if not vermin.is_file():
        pytest.skip("vermin is not installed (pip install -e '.[dev]')")
    out = subprocess.run([str(vermin), "-t=3.8-", "--no-tips", "--violations", str(path)], capture_output=True,
                         text=True, timeout=120)
    return "" if out.returncode == 0 else out.stdout


def test_rendered_runtime_needs_nothing_newer_than_python_3_8(tmp_path) -> None:
    """Where no Python 3.8 can be installed (CI), vermin reads the rendered runtime against 3.8's library."""
    (tmp_path / RUNTIME).write_text(render_trt8_runtime())
    assert _python_38_violations(tmp_path / RUNTIME) == ""


def test_the_python_3_8_check_catches_a_310_call(tmp_path) -> None:
    # a crop helper gaining zip(..., strict=True) (ruff's B905) parses as 3.8 but fails there at run time
    source = render_trt8_runtime() + "\n\ndef _pairs(a, b):\n    return list(zip(a, b, strict=True))\n"
    (tmp_path / RUNTIME).write_text(source)
    ast.parse(source, feature_version=(3, 8))  # the syntax check alone lets it through
    assert "zip(strict)" in _python_38_violations(tmp_path / RUNTIME)


def test_runtime_runs_under_python_3_8(tmp_path) -> None:
    python = _python38()
    if python is None:
        pytest.skip("no Python 3.8 with numpy here (set EDGETRACK_PYTHON38 to one)")
    (tmp_path / RUNTIME).write_text(render_trt8_runtime())
    code = ("import numpy as np, tracker_runtime as rt; c = rt.crop_geometry([20, 30, 25, 18], 4.0, 64); "
            "x = rt.normalize(rt.crop_and_resize(np.full((120, 160, 3), 200, np.uint8), c), (0.5,) * 3, (0.25,) * 3); "
            "print(c.side, c.x1, c.y1, float(x.max()))")
    out = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    c = crops.crop_geometry([20, 30, 25, 18], 4.0, 64)
    assert out.stdout.split()[:3] == [str(c.side), str(c.x1), str(c.y1)]


def test_runtime_follows_integer_boxes_and_min_score_as_edgetrack(tmp_path, export_dir, monkeypatch) -> None:
    import json

    pytest.importorskip("onnxruntime")
    from edgetrack.runtime.artifact import open_backend

    folder = run_build(export_dir, "jetson-xavier-nx", "fp32", tmp_path / "x", host=NO_GPU, log=lambda _: None)
    spec_file = folder / "io_spec.json"
    spec_file.write_text(json.dumps(json.loads(spec_file.read_text()) | {"integer_boxes": True, "min_score": 0.05}))
    seq = synthetic_sequence(7400, length=12)
    theirs = _device_boxes(tmp_path, folder, monkeypatch, seq)
    backend, spec = open_backend(export_dir, "onnxruntime")
    ours, _ = track_sequence(Tracker(backend, spec.replace(integer_boxes=True, min_score=0.05)), seq)
    np.testing.assert_allclose(theirs, ours[1:], atol=1e-9)
    assert np.all(theirs == np.floor(theirs))  # whole pixels: clipping integers keeps them integers


def test_the_bundle_runtime_keeps_the_tracker_contract(tmp_path, export_dir, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    folder = run_build(export_dir, "jetson-xavier-nx", "fp32", tmp_path / "x", host=NO_GPU, log=lambda _: None)
    rt = _load(tmp_path)
    (folder / "model.engine").write_bytes(b"built on the device")
    closed: list[int] = []
    engine = OnnxEngine(folder / "model.onnx")
    engine.close = lambda: closed.append(1)  # type: ignore[attr-defined]
    monkeypatch.setattr(rt, "CudaRuntime", lambda: None)
    monkeypatch.setattr(rt, "Engine", lambda plan, cuda: engine)
    seq = synthetic_sequence(7400, length=4)
    with rt.Tracker(str(folder)) as tracker:
        tracker.initialize(seq.frame(0), seq.init_box)
        result = tracker.track(seq.frame(1))
    assert result._fields == ("box", "score", "timings") and set(result.timings) == {"pre", "infer", "post"}
    assert len(result.box) == 4 and 0.0 <= result.score <= 1.0
    tracker.close()  # twice: the engine is freed once
    assert closed == [1]
    with pytest.raises(rt.TrackingError, match="closed"):
        tracker.track(seq.frame(2))
