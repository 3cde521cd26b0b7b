"""A thin wrapper over cuda-python's driver and NVRTC APIs, with errors that name the failing call.

cuda-python is imported on first use: `cuda.bindings.driver` / `cuda.bindings.nvrtc` (cuda-python >= 12.6),
falling back to the older `from cuda import cuda, nvrtc` layout. A missing package, driver or GPU raises
`CudaError` with one sentence; `cuda_available()` turns that into `(False, reason)` for capability checks.

All work runs in the device's primary context, the one the CUDA runtime (and so TensorRT) also uses, so
pointers from `DeviceBuffer` can be bound to TensorRT tensors directly.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from edgetrack.errors import EdgetrackError

T = TypeVar("T")
INSTALL_HINT = "pip install 'edgetrack[trt]' (cuda-python) on a machine with an NVIDIA driver"


class CudaError(EdgetrackError):
    """cuda-python is missing, the driver or GPU is unusable, or a CUDA call failed."""


@functools.lru_cache(maxsize=1)
def _bindings() -> tuple[Any, Any]:
    """(driver, nvrtc) modules of cuda-python, new layout first."""
    try:
        from cuda.bindings import driver, nvrtc
    except ImportError:
        try:
            from cuda import cuda as driver  # cuda-python < 12.6
            from cuda import nvrtc
        except ImportError:
            raise CudaError(f"cuda-python is not installed; {INSTALL_HINT}") from None
    return driver, nvrtc


def _error_name(module: Any, err: Any) -> str:
    """Readable name of a CUresult / nvrtcResult, asking the library when it can."""
    for getter in ("cuGetErrorName", "nvrtcGetErrorString"):
        if hasattr(module, getter):
            try:
                status, text = getattr(module, getter)(err)
                if int(status) == 0 and text:
                    return text.decode() if isinstance(text, bytes) else str(text)
            except Exception:  # noqa: BLE001 - the name is a courtesy; the code is still reported
                pass
    return getattr(err, "name", str(err))


def _call(module: Any, name: str, *args: Any) -> Any:
    """Call `module.name(*args)`; raise CudaError naming the call on a non-zero status; return the values."""
    try:
        result = getattr(module, name)(*args)
    except (RuntimeError, OSError) as err:  # the driver or NVRTC library cannot be loaded
        raise CudaError(f"{name}: {str(err).splitlines()[0]}") from None
    err, *values = result if isinstance(result, tuple) else (result,)
    if int(err) != 0:
        raise CudaError(f"{name} failed: {_error_name(module, err)} ({int(err)})")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def drv(name: str, *args: Any) -> Any:
    """A checked CUDA driver call, e.g. `drv("cuMemAlloc", 1024)`."""
    return _call(_bindings()[0], name, *args)


def rtc(name: str, *args: Any) -> Any:
    """A checked NVRTC call."""
    return _call(_bindings()[1], name, *args)


@functools.lru_cache(maxsize=1)
def _init() -> None:
    drv("cuInit", 0)


def _device(index: int) -> Any:
    _init()
    count = drv("cuDeviceGetCount")
    if not 0 <= index < count:
        raise CudaError(f"CUDA device {index} does not exist; this machine has {count} GPU(s)")
    return drv("cuDeviceGet", index)


def cuda_available() -> tuple[bool, str]:
    """(True, "") when cuda-python, a driver and at least one GPU are usable, else (False, the reason)."""
    try:
        _device(0)
    except CudaError as err:
        return False, str(err)
    return True, ""


def device_properties(index: int = 0) -> tuple[str, str, float]:
    """(name, "major.minor" compute capability, memory in GiB) of GPU `index`."""
    driver, _ = _bindings()
    dev = _device(index)
    raw = drv("cuDeviceGetName", 256, dev)
    name = raw.split(b"\0", 1)[0].decode(errors="replace").strip() if isinstance(raw, bytes) else str(raw)
    attr = driver.CUdevice_attribute
    major = drv("cuDeviceGetAttribute", attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev)
    minor = drv("cuDeviceGetAttribute", attr.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev)
    memory = drv("cuDeviceTotalMem", dev)
    return name, f"{major}.{minor}", int(memory) / 2**30


@functools.cache
def _primary_context(index: int) -> Any:
    """Device `index`'s primary context, retained once per process."""
    return drv("cuDevicePrimaryCtxRetain", _device(index))


def use_device(index: int = 0) -> Any:
    """Make device `index`'s primary context current on the calling thread and return it.

    A CUDA context is current per thread: a tracker built on one thread and called from another (GStreamer's
    streaming thread, a ROS executor) must make it current again there, so this runs on every call (cheap).
    """
    context = _primary_context(index)
    drv("cuCtxSetCurrent", context)
    return context


def make_current(index: int = 0) -> None:
    """Make device `index`'s primary context current on the calling thread."""
    use_device(index)


def on_device(method: Callable[..., T]) -> Callable[..., T]:
    """Decorator for methods of objects with a `device` index: run with that device current on this thread."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        use_device(self.device)
        return method(self, *args, **kwargs)

    return wrapper


def driver_version() -> tuple[int, int]:
    """The CUDA version the installed driver supports, (major, minor): 12060 -> (12, 6)."""
    _init()
    v = int(drv("cuDriverGetVersion"))
    return v // 1000, (v % 1000) // 10


def nvrtc_version() -> tuple[int, int]:
    major, minor = rtc("nvrtcVersion")
    return int(major), int(minor)


def arch_of(compute_capability: str) -> str:
    """'8.7', '87', 'sm_87' or 'compute_87' -> 'compute_87'."""
    digits = compute_capability.replace("compute_", "").replace("sm_", "").replace(".", "")
    if not digits.isdigit() or len(digits) < 2:
        raise CudaError(f"not a compute capability: {compute_capability!r} (expected e.g. '8.7')")
    return f"compute_{digits}"


class Stream:
    """A CUDA stream; `handle` is what TensorRT's `execute_async_v3` takes."""

    def __init__(self) -> None:
        self.stream = drv("cuStreamCreate", 0)

    @property
    def handle(self) -> int:
        return int(self.stream)

    def synchronize(self) -> None:
        drv("cuStreamSynchronize", self.stream)

    def destroy(self) -> None:
        if self.stream is not None:
            drv("cuStreamDestroy", self.stream)
            self.stream = None


class DeviceBuffer:
    """`nbytes` of device memory; `ptr` is its address as an int."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self._mem = drv("cuMemAlloc", max(self.nbytes, 1))

    @classmethod
    def from_array(cls, array: np.ndarray, stream: Stream | None = None) -> DeviceBuffer:
        """A buffer holding a copy of `array`."""
        buf = cls(np.asarray(array).nbytes)
        buf.upload(array, stream)
        return buf

    @property
    def ptr(self) -> int:
        if self._mem is None:
            raise CudaError("DeviceBuffer used after free()")
        return int(self._mem)

    def upload(self, array: np.ndarray, stream: Stream | None = None) -> None:
        """Copy a host array in (async on `stream`; the array must stay alive until the stream syncs)."""
        host = np.ascontiguousarray(array)
        if host.nbytes > self.nbytes:
            raise CudaError(f"upload of {host.nbytes} bytes into a {self.nbytes}-byte device buffer")
        if stream is None:
            drv("cuMemcpyHtoD", self.ptr, host.ctypes.data, host.nbytes)
        else:
            drv("cuMemcpyHtoDAsync", self.ptr, host.ctypes.data, host.nbytes, stream.stream)

    def download(self, shape: Sequence[int], dtype: Any = np.float32, stream: Stream | None = None) -> np.ndarray:
        """A host array of `shape` copied out (synchronises `stream` first, so the result is complete)."""
        host = np.empty(tuple(shape), dtype=dtype)
        if host.nbytes > self.nbytes:
            raise CudaError(f"download of {host.nbytes} bytes from a {self.nbytes}-byte device buffer")
        if stream is not None:
            stream.synchronize()
        drv("cuMemcpyDtoH", host.ctypes.data, self.ptr, host.nbytes)
        return host

    def free(self) -> None:
        if self._mem is not None:
            drv("cuMemFree", self._mem)
            self._mem = None

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # noqa: BLE001 - at interpreter exit the driver may already be gone
            pass


def sm_of(compute_capability: str) -> str:
    """'8.7' -> 'sm_87': the real architecture a CUBIN is compiled for."""
    return arch_of(compute_capability).replace("compute_", "sm_")


def _compile(source: str, target: str, name: str, options: Sequence[str], kind: str) -> bytes:
    # no --use_fast_math: the kernels must match the numpy reference to rounding error
    opts = [f"--gpu-architecture={target}", "-default-device", *options]
    program = rtc("nvrtcCreateProgram", source.encode(), name.encode(), 0, [], [])
    try:
        try:
            rtc("nvrtcCompileProgram", program, len(opts), [o.encode() for o in opts])
        except CudaError as err:
            raise CudaError(f"NVRTC could not compile {name} for {target}: {err}\n{_log(program)}") from None
        size = rtc(f"nvrtcGet{kind}Size", program)
        image = b" " * size
        rtc(f"nvrtcGet{kind}", program, image)
        return image
    finally:
        rtc("nvrtcDestroyProgram", program)


def compile_ptx(source: str, arch: str, name: str = "kernels.cu", options: Sequence[str] = ()) -> bytes:
    """PTX for `source` through NVRTC; `arch` is a compute capability ('8.7'). No GPU needed."""
    return _compile(source, arch_of(arch), name, options, "PTX")


def compile_cubin(source: str, arch: str, name: str = "kernels.cu", options: Sequence[str] = ()) -> bytes:
    """A CUBIN (machine code) for `source` and the real architecture `arch` ('8.7' -> sm_87) through NVRTC.

    Unlike PTX, a CUBIN does not depend on the PTX ISA the driver can JIT: NVRTC 13 emits PTX ISA 9.x, which
    JetPack 6's CUDA 12.6 driver refuses, but its sm_87 CUBIN loads there.
    """
    return _compile(source, sm_of(arch), name, options, "CUBIN")


def _log(program: Any) -> str:
    size = rtc("nvrtcGetProgramLogSize", program)
    log = b" " * size
    rtc("nvrtcGetProgramLog", program, log)
    return log.rstrip(b"\0 ").decode(errors="replace")


class Module:
    """A loaded CUBIN or PTX module; `function(name)` looks a kernel up (extern "C" names)."""

    def __init__(self, image: bytes, kind: str = "ptx") -> None:
        self.kind = kind
        # the driver reads the image from a host pointer; PTX must be NUL-terminated (NVRTC's already is)
        data = image + b"\0" if kind == "ptx" and not image.endswith(b"\0") else image
        buffer = np.frombuffer(data, dtype=np.uint8)
        self.module = drv("cuModuleLoadData", buffer.ctypes.data)
        self._functions: dict[str, Any] = {}

    def function(self, name: str) -> Any:
        if name not in self._functions:
            self._functions[name] = drv("cuModuleGetFunction", self.module, name.encode())
        return self._functions[name]


def compile_kernels(source: str, arch: str) -> Module:
    """Compile `source` for `arch` and load it into the current context: a CUBIN for the device's own SM, or,
    when that fails, PTX, but only if the driver can JIT its ISA (NVRTC no newer than the driver).

    The fallback is logged once, loudly: a silent one would leave the backend on host processing unnoticed.
    """
    try:
        return Module(compile_cubin(source, arch), "cubin")
    except CudaError as err:
        cubin_error = err
    nvrtc, driver = nvrtc_version(), driver_version()
    if nvrtc > driver:
        raise CudaError(f"cannot load the CUDA kernels for {sm_of(arch)}: the CUBIN failed ({cubin_error}) and NVRTC "
                        f"{nvrtc[0]}.{nvrtc[1]} writes PTX newer than this driver (CUDA {driver[0]}.{driver[1]}) "
                        "can load; install the cuda-python release that matches the driver "
                        f"(pip install 'cuda-python=={driver[0]}.*')")
    warn_once(f"edgetrack: CUBIN compilation for {sm_of(arch)} failed ({cubin_error}); loading PTX for "
               f"{arch_of(arch)} instead (JIT-compiled by the driver at load)")
    return Module(compile_ptx(source, arch), "ptx")


@functools.cache
def warn_once(message: str) -> None:
    """Log `message` as a warning and print it to stderr, once per process."""
    logging.getLogger("edgetrack.cuda").warning(message)
    print(message, file=sys.stderr)


def launch(kernel: Any, grid: Sequence[int], block: Sequence[int], args: Sequence[ctypes._SimpleCData],
           stream: Stream, shared_bytes: int = 0) -> None:
    """Launch `kernel` with ctypes-typed `args` (c_uint64 for pointers, c_int, c_float) on `stream`."""
    gx, gy, gz = (*grid, 1, 1)[:3]
    bx, by, bz = (*block, 1, 1)[:3]
    # kernelParams is an array of pointers to each argument's bytes; cuLaunchKernel copies them at the call
    pointers = np.array([ctypes.addressof(a) for a in args], dtype=np.uint64)
    drv("cuLaunchKernel", kernel, gx, gy, gz, bx, by, bz, shared_bytes, stream.stream, pointers.ctypes.data, 0)


class Graph:
    """A CUDA graph captured from the work `record(stream)` enqueues; `launch()` replays it on that stream."""

    def __init__(self, stream: Stream, record: Any) -> None:
        driver, _ = _bindings()
        self.stream = stream
        drv("cuStreamBeginCapture", stream.stream, driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        try:
            record(stream)
        finally:
            graph = drv("cuStreamEndCapture", stream.stream)
        self.graph = graph
        # cuGraphInstantiate takes (graph, flags) in cuda-python 12+ but (graph, log size) and returns four values
        # in 11.x; cuGraphInstantiateWithFlags(graph, flags) is the same in both
        self.exec = drv("cuGraphInstantiateWithFlags", graph, 0)

    def launch(self) -> None:
        drv("cuGraphLaunch", self.exec, self.stream.stream)

    def destroy(self) -> None:
        """Free the executable graph and the captured graph."""
        if self.exec is not None:
            drv("cuGraphExecDestroy", self.exec)
            self.exec = None
        if self.graph is not None:
            drv("cuGraphDestroy", self.graph)
            self.graph = None
