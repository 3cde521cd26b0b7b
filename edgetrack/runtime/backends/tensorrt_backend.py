"""TensorRT backend: runs `model.engine` from an engine folder (with its `engine.json` sidecar).

Three ways to drive it, from the most general to the fastest:

- `infer({"template", "search"}) -> {output name: array}`: the `Backend` interface; host arrays in and out.
- `set_template(array)` once, then `infer({"search": ...})`: the template stays in its device buffer. The
  `Tracker` calls `set_template` at `initialize` when a backend has it.
- `track_device(frame, crop) -> (box_norm, score, windowed peak)`: the device fast path. The uint8 RGB frame is uploaded
  once, `DevicePreprocessor` writes the search crop straight into the engine's input buffer, the engine runs,
  and `DeviceDecoder` decodes the maps in place (Hann window, argmax, box); only 8 floats come back. The crop
  geometry (`Crop`) is computed on the host by the caller with `data.crops.crop_geometry`, as on the CPU path.
  The `Tracker` uses it for uint8 frames when a backend has it. Engines whose search input or maps are not
  float32 (or whose kernels cannot be compiled) fall back to host preprocessing/decoding inside this method.

`cuda_graph=True` captures the per-frame device step (engine + decode) in a CUDA graph after one warm-up run
and replays it; off by default. Buffers are bound by tensor name (`set_tensor_address`), one stream per backend.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from edgetrack.config.base import build_config
from edgetrack.data.crops import Crop, crop_and_resize, normalize
from edgetrack.errors import ArtifactError, ConfigError, EdgetrackError, MissingDependencyError, TrackingError
from edgetrack.runtime.backends.base import Backend
from edgetrack.runtime.cuda.api import on_device, warn_once
from edgetrack.runtime.decode import decode_frame, hann2d, windowed_peak

if TYPE_CHECKING:
    from edgetrack.runtime.io_spec import IOSpec

MAPS = ("score_map", "size_map", "offset_map")


def import_tensorrt() -> tuple[Any | None, str]:
    """(the tensorrt module or None, reason when None); placeholder wheels that fail to import count as missing."""
    if importlib.util.find_spec("tensorrt") is None:
        return None, "the tensorrt package is not installed"
    try:
        return importlib.import_module("tensorrt"), ""
    except (ImportError, OSError, RuntimeError) as err:
        return None, f"tensorrt does not import ({str(err).splitlines()[0] if str(err) else type(err).__name__})"


def unavailable_reason() -> str:
    """Why the TensorRT backend cannot run here, or '' when it can."""
    trt, why = import_tensorrt()
    if trt is None:
        return why
    from edgetrack.runtime.cuda.api import cuda_available

    return cuda_available()[1]


def device_index(device: str | int) -> int:
    """'cuda:1' -> 1; 'cuda', 'cpu' (meaning: the default GPU) or 0 -> 0."""
    if isinstance(device, int):
        return device
    _, _, index = str(device).partition(":")
    return int(index) if index.isdigit() else 0


def engine_io_spec(info: Any, folder: Path) -> IOSpec:
    """The IOSpec stored in an engine's `engine.json`; an ArtifactError naming the file when it is invalid."""
    from edgetrack.runtime.io_spec import IOSpec

    try:
        return build_config(IOSpec, dict(info.io_spec))
    except ConfigError as err:
        raise ArtifactError(f"{folder}/engine.json: its io_spec is invalid ({err}); rebuild the engine") from None


class _Tensor:
    """One engine I/O tensor: its device buffer, shape and numpy dtype."""

    def __init__(self, name: str, is_input: bool, shape: tuple[int, ...], dtype: Any) -> None:
        from edgetrack.runtime.cuda.api import DeviceBuffer

        self.name, self.is_input, self.shape, self.dtype = name, is_input, shape, np.dtype(dtype)
        self.buffer = DeviceBuffer(int(np.prod(shape)) * self.dtype.itemsize)


class TensorRTBackend(Backend):
    """Deserialises an engine folder's `model.engine` on GPU `device` and runs it on one stream."""

    name: ClassVar[str] = "tensorrt"

    def __init__(self, folder: str | Path, device: str | int = 0, cuda_graph: bool = False,
                 device_processing: bool = True) -> None:
        from edgetrack.runtime.cuda import api
        from edgetrack.runtime.engine_info import ENGINE, load_engine_info

        self.folder = Path(folder)
        self.info = load_engine_info(self.folder)
        self.io_spec = engine_io_spec(self.info, self.folder)
        engine_path = self.folder / ENGINE
        if not engine_path.is_file():
            raise ArtifactError(f"{self.folder} has no {ENGINE}; run edgetrack build")
        trt, why = import_tensorrt()
        if trt is None:
            raise MissingDependencyError("tensorrt", "trt", f"the tensorrt backend ({why})")
        self.device = device_index(device)
        api.use_device(self.device)
        self._trt, self._api = trt, api
        self.engine = self._deserialize(engine_path.read_bytes())
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise ArtifactError(f"TensorRT could not create an execution context for {engine_path} "
                                "(out of GPU memory?)")
        self.stream = api.Stream()
        self._dynamic: list[str] = []  # inputs whose first axis is free (an engine of a --dynamic-batch export)
        self._max_batch, self._batch = 1, 1
        self.tensors = self._bind()
        self._persistent: set[str] = set()  # inputs written once by set_input, reused by every call
        self._cuda_graph, self._graph = cuda_graph, None
        self._pre, self._dec = self._device_helpers() if device_processing else (None, None)
        self._window = hann2d(self.io_spec.feat_size)

    @classmethod
    def is_available(cls) -> bool:
        return unavailable_reason() == ""

    def _deserialize(self, plan: bytes) -> Any:
        """The engine, or an ArtifactError comparing the build's GPU/TensorRT with this host's."""
        trt = self._trt
        runtime = trt.Runtime(trt.Logger(trt.Logger.ERROR))
        try:
            engine = runtime.deserialize_cuda_engine(plan)
        except (RuntimeError, TypeError):  # some versions raise instead of returning None
            engine = None
        if engine is None:
            name, cc, _ = self._api.device_properties(self.device)
            info = self.info
            raise ArtifactError(
                f"TensorRT cannot load {self.folder}/model.engine: it was built for {info.gpu} (compute "
                f"{info.compute_capability}) with TensorRT {info.tensorrt_version}; this host has {name} (compute "
                f"{cc}) with TensorRT {trt.__version__}. Engines are tied to both: rebuild it here with edgetrack "
                "build (or the bundle's build_engine.py)")
        self._runtime = runtime  # the engine must not outlive its runtime
        return engine

    def _bind(self) -> dict[str, _Tensor]:
        """A device buffer per I/O tensor, bound by name; names must match the engine's io spec. An engine with a
        free batch axis gets buffers for its profile's largest batch and starts at batch 1."""
        trt, engine = self._trt, self.engine
        expected = {t.name: tuple(t.shape) for t in (*self.io_spec.inputs, *self.io_spec.outputs)}
        if self.info.max_batch > 1:
            self._max_batch = self.info.max_batch
        tensors: dict[str, _Tensor] = {}
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            shape = tuple(int(d) for d in engine.get_tensor_shape(name))
            if any(d < 0 for d in shape):  # dynamic dimension: fix it to the io spec's static shape
                shape = expected.get(name, shape)
                if is_input:
                    self.context.set_input_shape(name, shape)
                    if self._max_batch > 1:
                        self._dynamic.append(name)
                shape = (self._max_batch, *shape[1:])  # room for the largest batch the profile takes
            tensors[name] = _Tensor(name, is_input, shape, trt.nptype(engine.get_tensor_dtype(name)))
            self.context.set_tensor_address(name, tensors[name].buffer.ptr)
        if set(tensors) != set(expected):
            raise ArtifactError(f"{self.folder}: engine tensors {sorted(tensors)} differ from engine.json's io spec "
                                f"{sorted(expected)}; rebuild the engine")
        return tensors

    def _device_helpers(self) -> tuple[Any, Any]:
        """(DevicePreprocessor, DeviceDecoder) where the engine's dtypes allow them; None where not."""
        from edgetrack.runtime.cuda.pipeline import DeviceDecoder, DevicePreprocessor

        s, f32 = self.io_spec, np.dtype(np.float32)
        search = self.tensors.get("search")
        try:
            pre = (DevicePreprocessor(s.mean, s.std, self.stream, self.device)
                   if search is not None and search.dtype == f32 else None)
            maps = all(n in self.tensors and self.tensors[n].dtype == f32 for n in MAPS)
            dec = DeviceDecoder(s.feat_size, self.stream, self.device) if maps else None
        except EdgetrackError as err:  # no NVRTC, or PTX this driver cannot load: the host path still works
            warn_once(f"edgetrack: TensorRT backend falls back to host pre/post-processing (crop, normalise and "
                      f"decode on the CPU, slower per frame): {err}")
            return None, None
        return pre, dec

    @property
    def max_batch(self) -> int | None:
        return self._max_batch

    def _use_batch(self, batch: int) -> None:
        """Set the inputs' batch axis for the next run (engines of a --dynamic-batch export only)."""
        if batch == self._batch:
            return
        if not 1 <= batch <= self._max_batch:
            raise TrackingError(f"{batch} targets in one call; this engine takes 1 to {self._max_batch} "
                                "(rebuild from a --dynamic-batch export with build_engine.py --max-targets N)")
        for name in self._dynamic:
            self.context.set_input_shape(name, (batch, *self.tensors[name].shape[1:]))
        self._batch = batch

    def _upload(self, name: str, array: np.ndarray) -> None:
        t = self.tensors[name]
        host = np.ascontiguousarray(array, dtype=t.dtype)
        row = (self._batch, *t.shape[1:])
        if host.size != int(np.prod(row)):
            raise TrackingError(f"input '{name}' has shape {host.shape}; the engine expects {row}")
        t.buffer.upload(host, self.stream)
        self.stream.synchronize()  # pageable source: make sure it is consumed before the caller reuses it

    @on_device
    def set_template(self, template: np.ndarray) -> None:
        """Write the template input once; later `infer`/`track_device` calls reuse it."""
        self._use_batch(1)
        self.set_input("template", template)

    @on_device
    def set_input(self, name: str, array: np.ndarray) -> None:
        """Write input `name` once into its device buffer; later calls may leave it out (a template, MixFormerV2's
        template memory: megabytes that would otherwise cross to the GPU every frame)."""
        if name not in self.tensors or not self.tensors[name].is_input:
            raise TrackingError(f"engine has no '{name}' input; inputs: {self.input_names}")
        self._upload(name, array)
        self._persistent.add(name)

    @property
    def input_names(self) -> list[str]:
        return [n for n, t in self.tensors.items() if t.is_input]

    def _enqueue_engine(self) -> None:
        if not self.context.execute_async_v3(self.stream.handle):
            raise TrackingError(f"TensorRT execute_async_v3 failed for {self.folder}/model.engine")

    def _record(self, _stream: Any = None) -> None:
        """Enqueue the per-frame device step: engine, then (where available) the decode kernel."""
        self._enqueue_engine()
        if self._dec is not None:
            self._dec.enqueue(*(self.tensors[n].buffer.ptr for n in MAPS))

    def _enqueue_step(self) -> None:
        """Run the step; with `cuda_graph`, capture it after the first ordinary run and replay it afterwards."""
        if self._graph is not None:
            self._graph.launch()
            return
        self._record()
        if self._cuda_graph:  # the first run did TensorRT's lazy set-up, which must not be captured
            self.stream.synchronize()
            self._graph = self._api.Graph(self.stream, self._record)

    def _check_inputs(self, given: dict[str, np.ndarray]) -> None:
        missing = [n for n in self.input_names if n not in given and n not in self._persistent]
        if missing:
            raise TrackingError(f"tensorrt backend inputs {missing} missing; it needs {self.input_names}")

    def _download_outputs(self) -> dict[str, np.ndarray]:
        self.stream.synchronize()
        batch = self._batch if self._dynamic else None
        return {n: t.buffer.download(t.shape if batch is None else (batch, *t.shape[1:]), t.dtype)
                for n, t in self.tensors.items() if not t.is_input}

    @on_device
    def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One run on host arrays; an engine of a --dynamic-batch export takes up to `max_batch` targets stacked."""
        self._check_inputs(inputs)
        if self._dynamic:
            self._use_batch(len(inputs["search"]) if "search" in inputs else 1)
        for name in self.input_names:
            if name in inputs:
                self._upload(name, inputs[name])
        self._enqueue_engine()
        return {k: v.astype(np.float32, copy=False) for k, v in self._download_outputs().items()}

    @on_device
    def track_device(self, frame: np.ndarray, crop: Crop) -> tuple[np.ndarray, float, float]:
        """Search crop of a uint8 RGB `frame` at `crop`, engine, decode -> (normalised (cx, cy, w, h), raw score,
        windowed peak)."""
        self._check_inputs({"search": frame})
        self._use_batch(1)  # the frame step (and its CUDA graph) is for one target
        search = self.tensors["search"]
        if self._pre is not None:
            self._pre(frame, crop, search.buffer.ptr)
        else:
            s = self.io_spec
            self._upload("search", normalize(crop_and_resize(frame, crop), s.mean, s.std)[None])
        self._enqueue_step()
        if self._dec is not None:
            box, score = self._dec.result()
            return box, score, windowed_peak(score, self._window, self._dec.peak())
        out = {k: v.astype(np.float32, copy=False) for k, v in self._download_outputs().items()}
        return decode_frame(out, self._window, "the tensorrt engine")

    @on_device
    def close(self) -> None:
        """Free the CUDA graph, the device buffers and the stream, and drop the context and engine; safe to call
        twice (it also happens when the backend is garbage collected)."""
        if getattr(self, "_closed", False):
            return
        self._closed = True
        for helper in (self._pre, self._dec):
            if helper is not None:
                helper.free()
        if self._graph is not None:
            self._graph.destroy()
            self._graph = None
        for t in self.tensors.values():
            t.buffer.free()
        self.stream.destroy()
        self.context = self.engine = None  # TensorRT frees them with their last reference
