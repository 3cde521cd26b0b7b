"""What this machine offers a build: its TensorRT version and its first GPU (name, compute capability)."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpu:
    name: str
    compute_capability: str  # "8.7"
    memory_gb: float


@dataclass(frozen=True)
class Host:
    """The build host; `why_no_gpu` / `why_no_tensorrt` say in words why one is missing."""

    tensorrt: str | None
    gpu: Gpu | None
    why_no_tensorrt: str = ""
    why_no_gpu: str = ""


def tensorrt_version() -> tuple[str | None, str]:
    """(installed TensorRT version or None, reason when None); importing stub wheels fails and counts as missing."""
    from edgetrack.runtime.backends.tensorrt_backend import import_tensorrt

    trt, why = import_tensorrt()
    return (str(trt.__version__), "") if trt is not None else (None, why)


def first_gpu() -> tuple[Gpu | None, str]:
    """(GPU 0 through the CUDA driver, or None with the reason); cuda-python first, torch as a fallback."""
    if importlib.util.find_spec("cuda") is not None:
        from edgetrack.runtime.cuda.api import CudaError, device_properties

        try:
            name, cc, memory = device_properties(0)
            return Gpu(name, cc, memory), ""
        except CudaError as err:
            return None, str(err)
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability(0)
            props = torch.cuda.get_device_properties(0)
            return Gpu(torch.cuda.get_device_name(0), f"{major}.{minor}", props.total_memory / 2**30), ""
        return None, "no CUDA GPU is visible (torch.cuda.is_available() is False)"
    return None, "neither cuda-python nor torch is installed to look for a GPU"


def detect_host() -> Host:
    """This machine's TensorRT and GPU; tests replace this function to pretend other hosts."""
    trt, why_trt = tensorrt_version()
    gpu, why_gpu = first_gpu()
    return Host(tensorrt=trt, gpu=gpu, why_no_tensorrt=why_trt, why_no_gpu=why_gpu)
