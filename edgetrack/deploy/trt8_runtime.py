#!/usr/bin/env python3
"""Track with a TensorRT 8.x engine of an edgetrack bundle: numpy, TensorRT and the CUDA runtime only.

For JetPack 5 devices (Python 3.8, CUDA 11.4, TensorRT 8.5), where edgetrack itself does not install. After
`python3 build_engine.py` has written model.engine next to this file:

    from tracker_runtime import Tracker
    tracker = Tracker(".")            # this bundle's folder
    tracker.initialize(frame, (x, y, w, h))   # frame: RGB uint8 (H, W, 3)
    box, score = tracker.track(next_frame)

Frames go through the same crop, normalisation, decode, map-back and clipping as edgetrack's own runtime:
the SHARED block below is copied from edgetrack's data/crops.py and runtime/decode.py when the bundle is
written (and tested against them there). Device memory comes from libcudart through ctypes; inference is
TensorRT 8's binding API (`execute_v2`).
"""

# This is the template of every JetPack 5 bundle's tracker_runtime.py: the crop and decode functions it calls
# are inserted at the SHARED line when a bundle is written, and it keeps Python 3.8's typing spellings.

from __future__ import annotations

import ctypes
import json
import math  # noqa: F401 - used by the inserted crop geometry
import time
from collections.abc import Sequence
from dataclasses import dataclass  # noqa: F401 - used by the inserted Crop
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Tuple  # noqa: F401 - Optional: inserted code's 3.8 spelling

import numpy as np

ENGINE, IO_SPEC = "model.engine", "io_spec.json"
CUDART_NAMES = ("libcudart.so", "libcudart.so.11.0", "/usr/local/cuda/lib64/libcudart.so")


class TrackingError(ValueError):
    """Input the tracker cannot use, or an engine that does not fit this runtime."""


class TrackResult(NamedTuple):
    """One frame's result, as edgetrack's own trackers give it: (x, y, w, h) pixels, raw peak score, stage ms."""

    box: Tuple[float, float, float, float]
    score: float
    timings: Dict[str, float]


# --- SHARED: crop and decode (inserted by `edgetrack build`) ---


class CudaRuntime:
    """cudaMalloc / cudaMemcpy / cudaFree from libcudart (JetPack ships it with CUDA)."""

    H2D, D2H = 1, 2

    def __init__(self) -> None:
        self.lib = None
        for name in CUDART_NAMES:
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if self.lib is None:
            raise TrackingError(f"cannot load the CUDA runtime (tried {', '.join(CUDART_NAMES)})")
        self.lib.cudaGetErrorString.restype = ctypes.c_char_p

    def _check(self, status: int, what: str) -> None:
        if status != 0:
            raise TrackingError(f"{what} failed: {self.lib.cudaGetErrorString(status).decode()}")

    def malloc(self, nbytes: int) -> int:
        ptr = ctypes.c_void_p()
        self._check(self.lib.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(max(nbytes, 1))), "cudaMalloc")
        return int(ptr.value or 0)

    def upload(self, ptr: int, array: np.ndarray) -> None:
        host = np.ascontiguousarray(array)
        self._check(self.lib.cudaMemcpy(ctypes.c_void_p(ptr), host.ctypes.data_as(ctypes.c_void_p),
                                        ctypes.c_size_t(host.nbytes), self.H2D), "cudaMemcpy to the device")

    def download(self, ptr: int, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        host = np.empty(shape, dtype=dtype)
        self._check(self.lib.cudaMemcpy(host.ctypes.data_as(ctypes.c_void_p), ctypes.c_void_p(ptr),
                                        ctypes.c_size_t(host.nbytes), self.D2H), "cudaMemcpy to the host")
        return host

    def free(self, ptr: int) -> None:
        self._check(self.lib.cudaFree(ctypes.c_void_p(ptr)), "cudaFree")


class Engine:
    """A TensorRT 8 engine with one device buffer per binding."""

    def __init__(self, plan: bytes, cuda: CudaRuntime) -> None:
        import tensorrt as trt

        self.cuda = cuda
        logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(plan)
        if self.engine is None:
            raise TrackingError("TensorRT could not deserialise model.engine: it was built by another TensorRT "
                                "version or for another GPU; run build_engine.py on this device")
        self.context = self.engine.create_execution_context()
        self.names: List[str] = []
        self.inputs: Dict[str, bool] = {}
        self.shapes: Dict[str, Tuple[int, ...]] = {}
        self.dtypes: Dict[str, Any] = {}
        self.ptrs: Dict[str, int] = {}
        for i in range(self.engine.num_bindings):
            name = self.engine.get_binding_name(i)
            shape = tuple(int(d) for d in self.engine.get_binding_shape(i))
            dtype = np.dtype(trt.nptype(self.engine.get_binding_dtype(i)))
            self.names.append(name)
            self.inputs[name] = bool(self.engine.binding_is_input(i))
            self.shapes[name], self.dtypes[name] = shape, dtype
            self.ptrs[name] = cuda.malloc(int(np.prod(shape)) * dtype.itemsize)

    def set_input(self, name: str, array: np.ndarray) -> None:
        if name not in self.ptrs or not self.inputs[name]:
            raise TrackingError(f"the engine has no input '{name}'; it has {[n for n in self.names if self.inputs[n]]}")
        host = np.ascontiguousarray(array, dtype=self.dtypes[name]).reshape(self.shapes[name])
        self.cuda.upload(self.ptrs[name], host)

    def run(self) -> Dict[str, np.ndarray]:
        if not self.context.execute_v2([self.ptrs[n] for n in self.names]):
            raise TrackingError("TensorRT execute_v2 failed")
        return {n: self.cuda.download(self.ptrs[n], self.shapes[n], self.dtypes[n]).astype(np.float32)
                for n in self.names if not self.inputs[n]}

    def close(self) -> None:
        for ptr in self.ptrs.values():
            self.cuda.free(ptr)
        self.ptrs = {}


class Tracker:
    """OSTrack's loop on a TensorRT 8 engine: fixed template, search crop around the previous box."""

    def __init__(self, folder: str = ".") -> None:
        here = Path(folder)
        self.spec = json.loads((here / IO_SPEC).read_text())
        if not (here / ENGINE).is_file():
            raise TrackingError(f"{here / ENGINE} not found; run python3 build_engine.py in {here} first")
        self.engine: Engine | None = Engine((here / ENGINE).read_bytes(), CudaRuntime())
        self.window = hann2d(int(self.spec["feat_size"]))
        self.integer = bool(self.spec.get("integer_boxes", False))  # VitTrack: cv2.TrackerVit's whole pixels
        self.min_score = float(self.spec.get("min_score", 0.0))  # windowed peak below which the box is held
        self.box: np.ndarray | None = None
        self.frame_size: Tuple[int, int] | None = None

    def _crop(self, frame: np.ndarray, box: Sequence[float], kind: str) -> Tuple[np.ndarray, Crop]:
        s = self.spec
        crop = crop_geometry(box, float(s[f"{kind}_factor"]), int(s[f"{kind}_size"]), self.integer)
        return normalize(crop_and_resize(frame, crop), s["mean"], s["std"])[None], crop

    def initialize(self, frame: np.ndarray, box: Sequence[float]) -> None:
        """Crop the template around `box` (x, y, w, h) in the first RGB uint8 frame."""
        if self.engine is None:
            raise TrackingError("this tracker was closed; open a new Tracker to track again")
        image = np.asarray(frame)
        if image.ndim != 3 or image.shape[2] != 3:
            raise TrackingError(f"frames are RGB (H, W, 3); got shape {image.shape}")
        template, _ = self._crop(image, box, "template")
        self.engine.set_input("template", template)
        self.box = np.asarray(box, dtype=np.float64).reshape(4)
        if self.integer:
            self.box = np.floor(self.box)
        self.frame_size = (image.shape[0], image.shape[1])

    def track(self, frame: np.ndarray) -> TrackResult:
        """The box (x, y, w, h in frame pixels), raw peak score and per-stage ms for the next frame."""
        if self.engine is None:
            raise TrackingError("this tracker was closed; open a new Tracker to track again")
        if self.box is None or self.frame_size is None:
            raise TrackingError("track() called before initialize(frame, box)")
        t0 = time.perf_counter()
        search, crop = self._crop(np.asarray(frame), self.box, "search")
        t1 = time.perf_counter()
        self.engine.set_input("search", search)
        out = self.engine.run()
        t2 = time.perf_counter()
        box_norm, score, peak = decode_frame(out, self.window, "the TensorRT engine")  # edgetrack's min_score rule
        height, width = self.frame_size
        if peak >= self.min_score:
            mapped = map_box_back(box_norm, crop)
            self.box = clip_box(np.floor(mapped) if self.integer else mapped, width, height, CLIP_MARGIN)
        x, y, w, h = (float(v) for v in self.box)
        t3 = time.perf_counter()
        return TrackResult((x, y, w, h), score, {"pre": (t1 - t0) * 1e3, "infer": (t2 - t1) * 1e3,
                                                 "post": (t3 - t2) * 1e3})

    def close(self) -> None:
        """Free the engine's device buffers now; later calls do nothing."""
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["TrackResult", "Tracker", "TrackingError"]
