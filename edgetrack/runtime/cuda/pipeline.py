"""Device-side pre- and post-processing: crop+resize+normalise into an engine input, Hann-argmax decode.

The crop geometry is computed on the host by `edgetrack.data.crops.crop_geometry` (the same function the CPU
path uses); the kernel only samples. The Hann window is `edgetrack.runtime.decode.hann2d`, uploaded once.
Kernels are compiled with NVRTC once per (device, architecture) and cached for the process.
"""

from __future__ import annotations

import ctypes
from importlib.resources import files

import numpy as np

from edgetrack.data.crops import Crop
from edgetrack.errors import TrackingError
from edgetrack.runtime.cuda.api import DeviceBuffer, Module, Stream, compile_kernels, device_properties, launch
from edgetrack.runtime.decode import hann2d

CROP_BLOCK = (16, 16)
DECODE_THREADS = 256  # must match DECODE_THREADS in kernels.cu
RESULT_FIELDS = 8  # cx, cy, w, h, score, iy, ix, non-finite count

_MODULES: dict[tuple[int, str], Module] = {}


def kernel_source() -> str:
    """The text of kernels.cu shipped with the package."""
    return files("edgetrack.runtime.cuda").joinpath("kernels.cu").read_text()


def kernels(device: int = 0) -> Module:
    """The compiled kernels for `device` (current context), compiled on first use for its architecture."""
    arch = device_properties(device)[1]
    key = (device, arch)
    if key not in _MODULES:
        _MODULES[key] = compile_kernels(kernel_source(), arch)
    return _MODULES[key]


def _ptr(value: int) -> ctypes.c_uint64:
    return ctypes.c_uint64(int(value))


class DevicePreprocessor:
    """Uploads a uint8 RGB frame once, then writes normalised (1, 3, S, S) float32 crops to device pointers."""

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float], stream: Stream,
                 device: int = 0) -> None:
        self.mean, self.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
        self.stream = stream
        self._kernel = kernels(device).function("crop_resize_normalize")
        self._frame: DeviceBuffer | None = None
        self._host: np.ndarray | None = None  # keeps the async upload's source alive until the stream syncs
        self._shape: tuple[int, int] = (0, 0)

    def upload(self, frame: np.ndarray) -> None:
        """Copy an (H, W, 3) uint8 RGB frame to the device (the buffer grows when frames do)."""
        image = np.ascontiguousarray(frame)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise TrackingError(f"the device preprocessor takes (H, W, 3) uint8 RGB; got {image.dtype} {image.shape}")
        if self._frame is None or self._frame.nbytes < image.nbytes:
            if self._frame is not None:
                self._frame.free()
            self._frame = DeviceBuffer(image.nbytes)
        self._frame.upload(image, self.stream)
        self._host, self._shape = image, image.shape[:2]

    def crop(self, crop: Crop, dst_ptr: int) -> None:
        """Enqueue the crop of the uploaded frame into `dst_ptr` ((1, 3, out, out) float32, NCHW)."""
        if self._frame is None:
            raise TrackingError("DevicePreprocessor.crop() before upload(frame)")
        height, width = self._shape
        out = crop.out_size
        grid = ((out + CROP_BLOCK[0] - 1) // CROP_BLOCK[0], (out + CROP_BLOCK[1] - 1) // CROP_BLOCK[1])
        args = [_ptr(self._frame.ptr), ctypes.c_int(height), ctypes.c_int(width), ctypes.c_int(width * 3),
                ctypes.c_int(crop.x1), ctypes.c_int(crop.y1), ctypes.c_int(crop.side), ctypes.c_int(out),
                *(ctypes.c_float(v) for v in self.mean), *(ctypes.c_float(v) for v in self.std), _ptr(dst_ptr)]
        launch(self._kernel, grid, CROP_BLOCK, args, self.stream)

    def __call__(self, frame: np.ndarray, crop: Crop, dst_ptr: int) -> None:
        """Upload `frame` and enqueue its crop into `dst_ptr`."""
        self.upload(frame)
        self.crop(crop, dst_ptr)

    def free(self) -> None:
        if self._frame is not None:
            self._frame.free()
            self._frame = None


class DeviceDecoder:
    """Hann-windowed argmax decode of (1, C, F, F) float32 maps already in device memory."""

    def __init__(self, feat_size: int, stream: Stream, device: int = 0) -> None:
        self.feat_size = int(feat_size)
        self.stream = stream
        self._kernel = kernels(device).function("hann_argmax_decode")
        self._window = DeviceBuffer.from_array(hann2d(self.feat_size))
        self._result = DeviceBuffer(RESULT_FIELDS * 4)
        self._cell = (0, 0)

    def enqueue(self, score_ptr: int, size_ptr: int, offset_ptr: int) -> None:
        """Enqueue the decode kernel (graph-capturable: no host work)."""
        args = [_ptr(score_ptr), _ptr(size_ptr), _ptr(offset_ptr), _ptr(self._window.ptr),
                ctypes.c_int(self.feat_size), _ptr(self._result.ptr)]
        launch(self._kernel, (1,), (DECODE_THREADS,), args, self.stream)

    def result(self) -> tuple[np.ndarray, float]:
        """Wait for the stream and return (normalised (cx, cy, w, h), raw peak score), as `decode.decode`."""
        out = self._result.download((RESULT_FIELDS,), np.float32, self.stream)
        if out[7] > 0:
            raise TrackingError("the score map has NaN or infinite values; the model or backend output is broken")
        box = out[:4].astype(np.float64)
        if not np.all(np.isfinite(box)):
            raise TrackingError(f"size/offset maps are not finite at the peak (cell {int(out[5])}, {int(out[6])}); "
                                "model output is broken")
        self._cell = (int(out[5]), int(out[6]))
        return box, float(out[4])

    def peak(self) -> tuple[int, int]:
        """(iy, ix) of the last decode's peak (call after `result()`)."""
        return self._cell

    def __call__(self, score_ptr: int, size_ptr: int, offset_ptr: int) -> tuple[np.ndarray, float]:
        """Decode maps at the given device pointers -> (box_norm, score) on the host."""
        self.enqueue(score_ptr, size_ptr, offset_ptr)
        return self.result()

    def free(self) -> None:
        for buf in (self._window, self._result):
            buf.free()

