"""The CUDA wrapper's contracts, checked against a recording fake of cuda-python (no GPU needed)."""

from __future__ import annotations

import threading
import types
from typing import Any

import pytest

from edgetrack.runtime.cuda import api


class Recorder:
    """A fake cuda-python module: every call is recorded with its thread; `results` gives return values."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.calls: list[tuple[int, str, tuple]] = []
        self.results = results
        self.CUstreamCaptureMode = types.SimpleNamespace(CU_STREAM_CAPTURE_MODE_THREAD_LOCAL=2)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("cuGetErrorName", "nvrtcGetErrorString"):
            raise AttributeError(name)

        def call(*args: Any) -> Any:
            self.calls.append((threading.get_ident(), name, args))
            result = self.results.get(name, (0,))
            return result(*args) if callable(result) else result

        return call

    def names(self, thread: int | None = None) -> list[str]:
        return [n for t, n, _ in self.calls if thread is None or t == thread]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    driver = Recorder({"cuDeviceGetCount": (0, 1), "cuDeviceGet": (0, 0), "cuDevicePrimaryCtxRetain": (0, "ctx"),
                       "cuDriverGetVersion": (0, 12060), "cuModuleLoadData": (0, "module"),
                       "cuStreamEndCapture": (0, "graph"), "cuGraphInstantiateWithFlags": (0, "exec")})
    nvrtc = Recorder({"nvrtcCreateProgram": (0, "program"), "nvrtcGetPTXSize": (0, 4), "nvrtcGetCUBINSize": (0, 4),
                      "nvrtcGetProgramLogSize": (0, 1), "nvrtcVersion": (0, 12, 6)})
    monkeypatch.setattr(api, "_bindings", lambda: (driver, nvrtc))
    api._init.cache_clear()
    api._primary_context.cache_clear()
    yield driver, nvrtc
    api._init.cache_clear()
    api._primary_context.cache_clear()


class OnDevice:
    device = 0

    @api.on_device
    def work(self) -> int:
        return threading.get_ident()


def test_every_device_call_makes_the_context_current_on_the_calling_thread(fake) -> None:
    driver, _ = fake
    obj = OnDevice()
    obj.work()  # built and first used on this thread
    result: dict[str, int] = {}
    worker = threading.Thread(target=lambda: result.update(tid=obj.work()))  # e.g. GStreamer's streaming thread
    worker.start()
    worker.join()
    assert "cuCtxSetCurrent" in driver.names(result["tid"])
    assert driver.names().count("cuDevicePrimaryCtxRetain") == 1  # retained once per process


def test_kernels_load_as_cubin_for_the_devices_sm(fake) -> None:
    _, nvrtc = fake
    module = api.compile_kernels("extern \"C\" __global__ void k() {}", "8.7")
    assert module.kind == "cubin"
    (options,) = [args[2] for _, name, args in nvrtc.calls if name == "nvrtcCompileProgram"]
    assert b"--gpu-architecture=sm_87" in options
    assert "nvrtcGetCUBIN" in nvrtc.names() and "nvrtcGetPTX" not in nvrtc.names()


def _cubin_fails(_program: Any, _n: int, options: list[bytes]) -> tuple[int]:
    return (6,) if b"--gpu-architecture=sm_87" in options else (0,)


def test_ptx_fallback_is_loud_and_only_when_the_driver_can_load_it(fake, capsys) -> None:
    _, nvrtc = fake
    nvrtc.results["nvrtcCompileProgram"] = _cubin_fails
    module = api.compile_kernels("k", "8.7")
    assert module.kind == "ptx"
    assert "loading PTX for compute_87" in capsys.readouterr().err
    nvrtc.results["nvrtcVersion"] = (0, 13, 0)  # NVRTC 13 writes PTX ISA 9.x; a CUDA 12.6 driver loads up to 8.5
    with pytest.raises(api.CudaError, match=r"NVRTC 13.0 writes PTX newer than this driver \(CUDA 12.6\)"):
        api.compile_kernels("k2", "8.7")


def test_graphs_use_the_instantiate_call_both_cuda_python_lines_share_and_are_destroyed(fake) -> None:
    driver, _ = fake
    stream = types.SimpleNamespace(stream="s")
    graph = api.Graph(stream, lambda s: None)  # type: ignore[arg-type]
    (args,) = [a for _, name, a in driver.calls if name == "cuGraphInstantiateWithFlags"]
    assert args == ("graph", 0) and "cuGraphInstantiate" not in driver.names()
    graph.destroy()
    assert driver.names()[-2:] == ["cuGraphExecDestroy", "cuGraphDestroy"]
    graph.destroy()  # twice is harmless
    assert driver.names().count("cuGraphDestroy") == 1


def test_tensorrt_backend_logs_its_host_fallback_once_with_the_reason(fake, monkeypatch, caplog, capsys) -> None:
    """PTX newer than the driver: the backend keeps working on the host path, and says so once, loudly."""
    import logging

    import numpy as np

    from edgetrack.runtime.backends.tensorrt_backend import TensorRTBackend
    from edgetrack.runtime.cuda import pipeline

    _, nvrtc = fake
    nvrtc.results["nvrtcCompileProgram"] = _cubin_fails
    nvrtc.results["nvrtcVersion"] = (0, 13, 0)
    monkeypatch.setattr(pipeline, "device_properties", lambda device: ("Orin (fake)", "8.7"))
    monkeypatch.setattr(pipeline, "_MODULES", {})
    api.warn_once.cache_clear()
    f32 = types.SimpleNamespace(dtype=np.dtype(np.float32))
    backend = types.SimpleNamespace(io_spec=types.SimpleNamespace(mean=(0.5,) * 3, std=(0.25,) * 3, feat_size=8),
                                    tensors={"search": f32, "score_map": f32, "size_map": f32, "offset_map": f32},
                                    stream=types.SimpleNamespace(stream="s"), device=0)
    with caplog.at_level(logging.WARNING, logger="edgetrack.cuda"):
        assert TensorRTBackend._device_helpers(backend) == (None, None)  # type: ignore[arg-type]
        assert TensorRTBackend._device_helpers(backend) == (None, None)  # type: ignore[arg-type]
    fallbacks = [r.getMessage() for r in caplog.records if "falls back to host" in r.getMessage()]
    assert len(fallbacks) == 1 and "NVRTC 13.0 writes PTX newer than this driver (CUDA 12.6)" in fallbacks[0]
    assert capsys.readouterr().err.count("falls back to host pre/post-processing") == 1
