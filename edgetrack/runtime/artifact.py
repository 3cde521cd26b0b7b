"""Open the right backend for an artifact folder (TensorRT engine folder, exported ONNX or torch model folder)."""

from __future__ import annotations

from pathlib import Path

from edgetrack.artifacts import read_manifest, verify_file
from edgetrack.errors import ArtifactError
from edgetrack.runtime.backends.base import Backend, get_backend
from edgetrack.runtime.engine_info import ENGINE
from edgetrack.runtime.spec import ProcessingSpec

ONNX_NAMES = ("model.onnx", "model.fp32.onnx")


def onnx_file(folder: Path) -> Path | None:
    for name in ONNX_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def open_backend(folder: Path, backend: str = "auto", device: str = "cpu") -> tuple[Backend, ProcessingSpec]:
    """(backend instance, processing spec) for `folder`.

    'auto' prefers TensorRT for a folder with `model.engine` when TensorRT and a GPU are usable, then ONNX
    Runtime for exported models, then torch.
    """
    if folder.exists() and not folder.is_dir():
        raise ArtifactError(not_a_folder_message(folder))
    if not folder.is_dir():
        raise ArtifactError(f"artifact folder not found: {folder}; pass a model, export or build folder, "
                            "or a preset name with bundled weights (tiny)")
    onnx = onnx_file(folder)
    has_torch = (folder / "model.safetensors").is_file()
    has_engine = (folder / ENGINE).is_file()
    if backend == "auto":
        backend = _auto(has_engine, onnx is not None, has_torch)
    if not has_engine and is_bundle(folder) and not (backend == "onnxruntime" and onnx is not None):
        raise ArtifactError(bundle_message(folder))  # no backend here opens it: say where its engine comes from
    if backend == "tensorrt":
        return _open_tensorrt(folder, has_engine, device)
    if backend == "onnxruntime":
        if onnx is None:
            raise ArtifactError(f"{folder} holds no ONNX model ({' or '.join(ONNX_NAMES)}); run edgetrack export")
        from edgetrack.runtime.io_spec import IOSpec

        spec = IOSpec.load(folder)
        verify_file(onnx)
        providers = ("cuda", "cpu") if device.startswith("cuda") else ("cpu",)
        threads = 0 if device.startswith("cuda") else build_threads(folder)
        return (get_backend("onnxruntime")(onnx, providers=providers, threads=threads),
                ProcessingSpec.from_io_spec(spec))
    if backend == "torch":
        if not has_torch:
            raise ArtifactError(f"{folder} holds no torch weights (model.safetensors) for the torch backend")
        from edgetrack.models.factory import create_model
        from edgetrack.runtime.backends.torch_backend import make_torch_backend

        model = create_model(folder)
        return make_torch_backend(model, device=device), ProcessingSpec.from_model_config(model.cfg)
    get_backend(backend)  # unknown names raise with a suggestion
    raise ArtifactError(f"backend '{backend}' cannot open {folder}: it needs a built engine (edgetrack build)")


def not_a_folder_message(path: Path) -> str:
    """What to pass instead of a file: the folder holding it with the files that describe it."""
    if path.suffix == ".onnx":
        return f"{path} is a file; pass the folder that holds it (with its io_spec.json), e.g. {path.parent}"
    if path.suffix == ".safetensors":
        return f"{path} is a file; pass its folder (with its config.json), e.g. {path.parent}"
    return (f"{path} is a file; pass its folder, e.g. {path.parent}: a model, export or build folder, "
            "or a preset name with bundled weights (tiny)")


def is_bundle(folder: Path) -> bool:
    """A deploy bundle of `edgetrack build`: its manifest says stage "bundle", or it carries build_engine.py."""
    from edgetrack.deploy.bundle import SCRIPT

    if (folder / SCRIPT).is_file():
        return True
    try:
        return read_manifest(folder).get("stage") == "bundle"
    except ArtifactError:
        return False


def bundle_message(folder: Path) -> str:
    """Where a bundle's engine is built, and which ONNX runs here meanwhile."""
    from edgetrack.deploy.bundle import SCRIPT

    try:
        manifest = read_manifest(folder)
    except ArtifactError:
        manifest = {}
    target = manifest.get("config", {}).get("target")
    source = manifest.get("source")
    export = (f"pass its export folder {source}" if source and Path(source, "io_spec.json").is_file()
              else "pass the export folder it was built from")
    onnx = sorted(p.name for p in folder.glob("*.onnx"))
    holds = f" (the bundle's ONNX is {', '.join(onnx)})" if onnx else ""
    return (f"{folder} is a deploy bundle{f' for {target}' if target else ''}: its engine is built on the device. "
            f"Copy the folder there and run `python3 {SCRIPT}`, or run the export's ONNX here with "
            f"--backend onnxruntime: {export}{holds}")


def build_threads(folder: Path) -> int:
    """The intra-op thread count a cpu build recorded (0: ONNX Runtime's default, also for other folders)."""
    try:
        config = read_manifest(folder).get("config", {})
    except ArtifactError:
        return 0
    return int(config.get("threads", 0) or 0) if config.get("target") == "cpu" else 0


def _auto(has_engine: bool, has_onnx: bool, has_torch: bool) -> str:
    """The backend 'auto' picks for a folder holding these files."""
    if has_engine and (get_backend("tensorrt").is_available() or not (has_onnx or has_torch)):
        return "tensorrt"  # an engine-only folder goes to tensorrt too, whose error says what is missing
    if has_onnx and get_backend("onnxruntime").is_available():
        return "onnxruntime"
    return "torch"


def _open_tensorrt(folder: Path, has_engine: bool, device: str) -> tuple[Backend, ProcessingSpec]:
    """The TensorRT backend for an engine folder, or one clear ArtifactError saying what is missing."""
    from edgetrack.runtime.backends.tensorrt_backend import engine_io_spec, unavailable_reason
    from edgetrack.runtime.engine_info import load_engine_info

    if not has_engine:
        raise ArtifactError(f"{folder} holds no TensorRT engine ({ENGINE}); run edgetrack build on this machine "
                            "(or the deploy bundle's build_engine.py on the device)")
    spec = engine_io_spec(load_engine_info(folder), folder)  # a broken engine.json is reported on any host
    why = unavailable_reason()
    if why:
        raise ArtifactError(f"the tensorrt backend cannot run here: {why}. Install TensorRT and cuda-python "
                            "(pip install 'edgetrack[trt]') on a machine with an NVIDIA GPU, or open the ONNX "
                            "model with --backend onnxruntime")
    backend = get_backend("tensorrt")(folder, device=device)  # type: ignore[call-arg]
    return backend, ProcessingSpec.from_io_spec(spec)
