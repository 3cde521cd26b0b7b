"""kernels.cu: compiles (nvcc / NVRTC where present) and matches the numpy references on a GPU."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgetrack.data.crops import crop_and_resize, crop_geometry, normalize
from edgetrack.runtime.cuda import api
from edgetrack.runtime.cuda.pipeline import kernel_source
from edgetrack.runtime.decode import decode, hann2d

KERNELS = ("crop_resize_normalize", "hann_argmax_decode")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
GPU_OK, WHY_NO_GPU = api.cuda_available()
needs_gpu = pytest.mark.skipif(not GPU_OK, reason=f"needs a CUDA GPU through cuda-python: {WHY_NO_GPU}")


def nvrtc_reason() -> str:
    """'' when NVRTC can compile here (no GPU needed), else why not."""
    try:
        api.rtc("nvrtcVersion")
    except api.CudaError as err:
        return str(err)
    return ""


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not on PATH")
def test_kernels_compile_to_ptx_with_nvcc(tmp_path: Path) -> None:
    source = tmp_path / "kernels.cu"
    source.write_text(kernel_source())
    ptx = tmp_path / "kernels.ptx"
    run = subprocess.run(["nvcc", "--ptx", "-arch=compute_87", str(source), "-o", str(ptx)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    text = ptx.read_text()
    for name in KERNELS:
        assert f".entry {name}(" in text  # extern "C": unmangled names for cuModuleGetFunction


def test_kernels_compile_with_nvrtc() -> None:
    why = nvrtc_reason()
    if why:
        pytest.skip(f"NVRTC is not usable here: {why}")
    ptx = api.compile_ptx(kernel_source(), "8.7")
    for name in KERNELS:
        assert f".entry {name}(".encode() in ptx


def test_nvrtc_errors_carry_the_compiler_log() -> None:
    why = nvrtc_reason()
    if why:
        pytest.skip(f"NVRTC is not usable here: {why}")
    with pytest.raises(api.CudaError, match="not_a_type"):
        api.compile_ptx("__global__ void k(not_a_type x) {}", "8.7")


def test_capability_check_reports_the_same_reason_the_call_raises() -> None:
    ok, why = api.cuda_available()
    if ok:
        assert why == "" and api.device_properties(0)[1].count(".") == 1
        return
    with pytest.raises(api.CudaError) as info:
        api.device_properties(0)
    assert why == str(info.value)  # the capability check tells exactly what a real call would fail with
    assert any(word in why for word in ("cuda-python", "driver", "GPU", "device", "cuInit"))


@pytest.mark.skipif(GPU_OK, reason="checks the no-GPU message")
def test_device_properties_without_gpu_is_a_cuda_error() -> None:
    with pytest.raises(api.CudaError):
        api.device_properties(0)


@pytest.mark.parametrize(("given", "arch"), [("8.7", "compute_87"), ("87", "compute_87"), ("sm_90", "compute_90"),
                                             ("compute_72", "compute_72"), ("10.0", "compute_100")])
def test_arch_names(given: str, arch: str) -> None:
    assert api.arch_of(given) == arch


def test_bad_arch_is_refused() -> None:
    with pytest.raises(api.CudaError, match="compute capability"):
        api.arch_of("ampere")


def random_boxes(n: int, width: int, height: int, seed: int) -> list[tuple[float, float, float, float]]:
    rng = np.random.default_rng(seed)
    sizes = np.exp(rng.uniform(np.log(0.5), np.log(3 * max(width, height)), (n, 2)))
    xs = rng.uniform(-width, 2 * width, n)
    ys = rng.uniform(-height, 2 * height, n)
    return [(float(x), float(y), float(w), float(h)) for x, y, (w, h) in zip(xs, ys, sizes, strict=True)]


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("out_size", [128, 256])
def test_crop_kernel_matches_numpy(out_size: int) -> None:
    from edgetrack.runtime.cuda.pipeline import DevicePreprocessor

    api.use_device(0)
    stream = api.Stream()
    rng = np.random.default_rng(out_size)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    pre = DevicePreprocessor(MEAN, STD, stream)
    dst = api.DeviceBuffer(3 * out_size * out_size * 4)
    pre.upload(image)
    for box in random_boxes(60, 320, 240, seed=out_size):
        crop = crop_geometry(box, 4.0, out_size)
        pre.crop(crop, dst.ptr)
        got = dst.download((1, 3, out_size, out_size), np.float32, stream)
        ref = normalize(crop_and_resize(image, crop), MEAN, STD)[None]
        assert np.abs(got - ref).max() <= 1e-3, (box, crop)


def decode_case(feat: int, seed: int, tie: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.random((1, 1, feat, feat), dtype=np.float32)
    if tie:  # transposed cells share a window value exactly: the lower flat index must win, as numpy's argmax
        score[0, 0, feat // 2 - 2, feat // 2 + 1] = score[0, 0, feat // 2 + 1, feat // 2 - 2] = 5.0
    size = rng.random((1, 2, feat, feat), dtype=np.float32)
    offset = rng.random((1, 2, feat, feat), dtype=np.float32)
    return score, size, offset


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("feat", [16, 24])
@pytest.mark.parametrize("tie", [False, True])
def test_decode_kernel_matches_numpy(feat: int, tie: bool) -> None:
    from edgetrack.runtime.cuda.pipeline import DeviceDecoder

    api.use_device(0)
    stream = api.Stream()
    dec = DeviceDecoder(feat, stream)
    for seed in range(20):
        score, size, offset = decode_case(feat, seed, tie)
        buffers = [api.DeviceBuffer.from_array(a) for a in (score, size, offset)]
        box, raw = dec(*(b.ptr for b in buffers))
        ref_box, ref_raw, ref_peak = decode(score, size, offset, hann2d(feat))
        assert dec.peak() == ref_peak
        assert np.abs(box - ref_box).max() <= 1e-3 and abs(raw - ref_raw) <= 1e-6


@pytest.mark.gpu
@needs_gpu
def test_decode_kernel_refuses_nan_maps() -> None:
    from edgetrack.errors import TrackingError
    from edgetrack.runtime.cuda.pipeline import DeviceDecoder

    api.use_device(0)
    dec = DeviceDecoder(16, api.Stream())
    score, size, offset = decode_case(16, 0, False)
    score[0, 0, 3, 3] = np.nan
    buffers = [api.DeviceBuffer.from_array(a) for a in (score, size, offset)]
    with pytest.raises(TrackingError, match="NaN"):
        dec(*(b.ptr for b in buffers))
