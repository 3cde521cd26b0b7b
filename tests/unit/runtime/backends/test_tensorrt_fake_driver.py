"""TensorRTBackend driven end to end on a fake TensorRT and a recording fake of cuda-python (no GPU needed).

What it pins: every public call makes the device's context current on the calling thread before any device
work (a tracker built on one thread is called from GStreamer's or ROS's), and the CUDA graph is captured once,
replayed, and destroyed with the backend.
"""

from __future__ import annotations

import ctypes
import itertools
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgetrack.data.crops import crop_geometry
from edgetrack.errors import TrackingError
from edgetrack.runtime.backends import tensorrt_backend
from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend
from edgetrack.runtime.cuda import api
from tests.unit.runtime.backends.test_tensorrt_backend import engine_folder, engine_json
from tests.unit.runtime.cuda.test_api_offline import Recorder


class FakeEngine:
    """The engine calls the backend makes, answered from engine.json's I/O list."""

    def __init__(self, io: list[dict[str, Any]], executions: list[int]) -> None:
        self.io, self.executions = io, executions
        self.num_io_tensors = len(io)

    def get_tensor_name(self, i: int) -> str:
        return self.io[i]["name"]

    def _tensor(self, name: str) -> dict[str, Any]:
        return next(t for t in self.io if t["name"] == name)

    def get_tensor_mode(self, name: str) -> str:
        return "INPUT" if self._tensor(name)["mode"] == "input" else "OUTPUT"

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self._tensor(name)["shape"])

    def get_tensor_dtype(self, name: str) -> str:
        return "float32"

    def create_execution_context(self) -> Any:
        run = self.executions
        return types.SimpleNamespace(set_tensor_address=lambda name, ptr: None, set_input_shape=lambda n, s: None,
                                     execute_async_v3=lambda stream: run.append(stream) or True)


class _Logger:
    ERROR = 0

    def __init__(self, level: int) -> None:
        self.level = level


def fake_tensorrt(executions: list[int]) -> Any:
    """The slice of the tensorrt module the backend uses; engines run nothing but count their runs."""
    io = engine_json()["io"]
    runtime = types.SimpleNamespace(deserialize_cuda_engine=lambda plan: FakeEngine(io, executions))
    return types.SimpleNamespace(__version__="10.3.0", Logger=_Logger, Runtime=lambda logger: runtime,
                                 TensorIOMode=types.SimpleNamespace(INPUT="INPUT"), nptype=lambda dtype: np.float32)


def _zeros_to_host(host: int, _ptr: int, nbytes: int) -> tuple[int]:
    ctypes.memset(host, 0, nbytes)  # downloads read zeros: decodable maps
    return (0,)


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch):
    pointers = itertools.count(0x1000, 0x1000)
    fake = Recorder({"cuDeviceGetCount": (0, 1), "cuDeviceGet": (0, 0), "cuDevicePrimaryCtxRetain": (0, "ctx"),
                     "cuStreamCreate": (0, 7), "cuMemAlloc": lambda n: (0, next(pointers)),
                     "cuMemcpyDtoH": _zeros_to_host, "cuStreamEndCapture": (0, "graph"),
                     "cuGraphInstantiateWithFlags": (0, "exec")})
    monkeypatch.setattr(api, "_bindings", lambda: (fake, Recorder({})))
    api._init.cache_clear()
    api._primary_context.cache_clear()
    yield fake
    api._init.cache_clear()
    api._primary_context.cache_clear()


@pytest.fixture
def open_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: Recorder):
    """A function opening the backend on the fake engine folder; `executions` records each engine run."""
    executions: list[int] = []
    folder = engine_folder(tmp_path)
    monkeypatch.setattr(tensorrt_backend, "import_tensorrt", lambda: (fake_tensorrt(executions), ""))

    def make(cuda_graph: bool = False) -> TensorRTBackend:
        return TensorRTBackend(folder, cuda_graph=cuda_graph, device_processing=False)

    make.executions = executions  # type: ignore[attr-defined]
    return make


TEMPLATE = np.zeros((1, 3, 32, 32), np.float32)
SEARCH = np.zeros((1, 3, 64, 64), np.float32)
FRAME = np.full((96, 128, 3), 100, np.uint8)
CROP = crop_geometry((40.0, 30.0, 20.0, 16.0), 4.0, 64)

CALLS: dict[str, Callable[[TensorRTBackend], Any]] = {
    "set_template": lambda b: b.set_template(TEMPLATE),
    "set_input": lambda b: b.set_input("template", TEMPLATE),
    "infer": lambda b: b.infer({"template": TEMPLATE, "search": SEARCH}),
    "track_device": lambda b: b.track_device(FRAME, CROP),
    "close": lambda b: b.close(),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_device_call_first_makes_the_context_current_on_its_thread(open_backend, driver, call: str) -> None:
    backend = open_backend()
    backend.set_template(TEMPLATE)  # track_device needs it; made on this thread
    result: dict[str, int] = {}

    def other_thread() -> None:
        result["tid"] = threading.get_ident()
        CALLS[call](backend)

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    names = driver.names(result["tid"])
    assert names[0] == "cuCtxSetCurrent" and len(names) > 1  # before the first copy, launch or free


def test_a_cuda_graph_is_captured_once_replayed_and_destroyed_with_the_backend(open_backend, driver) -> None:
    backend = open_backend(cuda_graph=True)
    backend.set_template(TEMPLATE)
    for _ in range(4):
        box, score, peak = backend.track_device(FRAME, CROP)
        assert np.all(np.isfinite(box)) and score == 0.0
    # a warm-up run, the captured run, then three replays of the graph
    assert open_backend.executions == [7, 7]
    assert driver.names().count("cuStreamBeginCapture") == 1 and driver.names().count("cuGraphLaunch") == 3
    backend.close()
    destroyed = [(n, a) for _, n, a in driver.calls if n in ("cuGraphExecDestroy", "cuGraphDestroy")]
    assert destroyed == [("cuGraphExecDestroy", ("exec",)), ("cuGraphDestroy", ("graph",))]
    assert driver.names().count("cuMemFree") == len(engine_json()["io"])
    assert driver.names().count("cuStreamDestroy") == 1
    backend.close()  # twice is harmless: nothing is freed twice
    assert driver.names().count("cuGraphDestroy") == 1 and driver.names().count("cuMemFree") == len(engine_json()["io"])


def test_without_a_cuda_graph_every_frame_runs_the_engine(open_backend, driver) -> None:
    backend = open_backend()
    backend.set_template(TEMPLATE)
    for _ in range(3):
        backend.track_device(FRAME, CROP)
    assert open_backend.executions == [7, 7, 7] and "cuStreamBeginCapture" not in driver.names()
    backend.close()
    assert "cuGraphDestroy" not in driver.names()


def dynamic_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, max_batch: int = 4
                   ) -> tuple[TensorRTBackend, list, list]:
    """The backend on an engine of a --dynamic-batch export (first axes -1, a profile up to `max_batch`), the
    context's set_input_shape calls and the engine's runs."""
    info = engine_json()
    info["io"] = [{**t, "shape": [-1, *t["shape"][1:]]} for t in info["io"]]
    info["max_batch"] = max_batch
    folder = engine_folder(tmp_path, info)
    shapes: list[tuple[str, tuple[int, ...]]] = []
    executions: list[int] = []
    trt = fake_tensorrt(executions)
    engine = FakeEngine(info["io"], executions)
    context = engine.create_execution_context()
    context.set_input_shape = lambda name, shape: shapes.append((name, tuple(shape)))
    engine.create_execution_context = lambda: context
    trt.Runtime = lambda logger: types.SimpleNamespace(deserialize_cuda_engine=lambda plan: engine)
    monkeypatch.setattr(tensorrt_backend, "import_tensorrt", lambda: (trt, ""))
    return TensorRTBackend(folder, device_processing=False), shapes, executions


def test_an_engine_with_a_batch_profile_runs_several_targets_in_one_call(tmp_path, monkeypatch, driver) -> None:
    backend, shapes, _ = dynamic_engine(tmp_path, monkeypatch)
    assert backend.max_batch == 4
    search_bytes = 4 * 3 * 64 * 64 * 4  # buffers hold the profile's largest batch
    assert ("cuMemAlloc", (search_bytes,)) in [(n, a) for _, n, a in driver.calls]
    three = {"template": np.zeros((3, 3, 32, 32), np.float32), "search": np.zeros((3, 3, 64, 64), np.float32)}
    out = backend.infer(three)
    assert out["score_map"].shape == (3, 1, 4, 4) and out["size_map"].shape == (3, 2, 4, 4)
    assert shapes[-2:] == [("template", (3, 3, 32, 32)), ("search", (3, 3, 64, 64))]
    backend.set_template(TEMPLATE)  # back to one target for the frame step
    backend.track_device(FRAME, CROP)
    assert shapes[-2:] == [("template", (1, 3, 32, 32)), ("search", (1, 3, 64, 64))]
    five = {"template": np.zeros((5, 3, 32, 32), np.float32), "search": np.zeros((5, 3, 64, 64), np.float32)}
    with pytest.raises(TrackingError, match="1 to 4"):
        backend.infer(five)
    backend.close()


def test_track_many_on_a_batch_profile_is_one_engine_run_per_frame(tmp_path, monkeypatch, driver) -> None:
    from edgetrack.runtime.spec import ProcessingSpec
    from edgetrack.runtime.tracker import Tracker

    backend, shapes, executions = dynamic_engine(tmp_path, monkeypatch)
    tracker = Tracker(backend, ProcessingSpec.read(backend.io_spec))
    tracker.initialize(FRAME, (40.0, 30.0, 20.0, 16.0))
    tracker.initialize_many(FRAME, [(40.0, 30.0, 20.0, 16.0), (10.0, 10.0, 20.0, 20.0), (70.0, 50.0, 30.0, 20.0)])
    before = driver.names().count("cuMemcpyDtoH")
    results = tracker.track_many(FRAME)
    assert len(results) == 3 and {r.timings["batch"] for r in results} == {3.0} and len(executions) == 1
    assert driver.names().count("cuMemcpyDtoH") - before == 3  # the three output maps, downloaded once for all
    tracker.track(FRAME)  # the single target's template goes back in at batch 1 before its frame step
    assert shapes[-2:] == [("template", (1, 3, 32, 32)), ("search", (1, 3, 64, 64))] and len(executions) == 2
    tracker.close()
