"""Open the right backend for an artifact folder (exported ONNX or torch model folder)."""

from __future__ import annotations

from pathlib import Path

from edgetrack.errors import ArtifactError
from edgetrack.runtime.backends.base import Backend, get_backend
from edgetrack.runtime.spec import ProcessingSpec

ONNX_NAMES = ("model.onnx", "model.fp32.onnx")


def onnx_file(folder: Path) -> Path | None:
    for name in ONNX_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def open_backend(folder: Path, backend: str = "auto", device: str = "cpu") -> tuple[Backend, ProcessingSpec]:
    """(backend instance, processing spec) for `folder`; 'auto' prefers ONNX Runtime for exported models."""
    if not folder.is_dir():
        raise ArtifactError(f"artifact folder not found: {folder}")
    onnx = onnx_file(folder)
    has_torch = (folder / "model.safetensors").is_file()
    if backend == "auto":
        backend = "onnxruntime" if onnx is not None and get_backend("onnxruntime").is_available() else "torch"
    if backend == "onnxruntime":
        if onnx is None:
            raise ArtifactError(f"{folder} holds no ONNX model ({' or '.join(ONNX_NAMES)}); run edgetrack export")
        from edgetrack.export.spec import IOSpec

        spec = IOSpec.load(folder)
        providers = ("cuda", "cpu") if device.startswith("cuda") else ("cpu",)
        return get_backend("onnxruntime")(onnx, providers=providers), ProcessingSpec.from_io_spec(spec)
    if backend == "torch":
        if not has_torch:
            raise ArtifactError(f"{folder} holds no torch weights (model.safetensors) for the torch backend")
        from edgetrack.models.factory import create_model
        from edgetrack.runtime.backends.torch_backend import TorchBackend

        model = create_model(folder)
        return TorchBackend(model, device=device), ProcessingSpec.from_model_config(model.cfg)
    get_backend(backend)  # unknown names raise with a suggestion
    raise ArtifactError(f"backend '{backend}' cannot open {folder}: it needs a built engine (edgetrack build)")
