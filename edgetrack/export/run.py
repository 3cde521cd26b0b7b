"""The export stage: model folder -> ONNX (fp32, opset 17) + io_spec.json + parity in the manifest."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from edgetrack.artifacts import atomic_folder, make_manifest, sha256_file, write_json
from edgetrack.errors import EdgetrackError
from edgetrack.export.onnx_export import export_onnx
from edgetrack.export.parity import onnx_parity
from edgetrack.models.factory import create_model, is_model_folder

FP32_TOLERANCE = 1e-4


class ParityError(EdgetrackError):
    """The exported model's outputs differ from the torch model's beyond tolerance."""


def simplify(path: Path) -> bool:
    """Simplify in place with onnxslim when installed; return whether it ran."""
    try:
        import onnxslim
    except ImportError:
        return False
    slim = onnxslim.slim(str(path))
    import onnx

    onnx.save(slim, str(path))
    return True


def run_export(model_path: str, out: str | Path, fused: bool = False, tolerance: float = FP32_TOLERANCE) -> Path:
    """Export `model_path` (a model folder or preset with bundled weights) to OUT; refuse on parity failure."""
    model = create_model(model_path) if is_model_folder(model_path) else create_model(model_path, pretrained=True)
    parent = sha256_file(Path(model_path) / "model.safetensors") if is_model_folder(model_path) else model_path
    with tempfile.TemporaryDirectory() as tmp:
        onnx_tmp = Path(tmp) / "model.onnx"
        spec = export_onnx(model, onnx_tmp, fused=fused)
        slimmed = simplify(onnx_tmp)
        parity = onnx_parity(model, onnx_tmp, fused=fused)
        worst = max(parity.values())
        if worst > tolerance:
            raise ParityError(f"exported ONNX differs from the torch model by {worst:.2e} (> {tolerance:.0e}): "
                              f"{parity}; please report this with `edgetrack env`")
        with atomic_folder(out) as folder:
            shutil.copy(onnx_tmp, folder / "model.onnx")
            spec.save(folder)
            manifest = make_manifest("export", config={"fused_postprocess": fused, "opset": 17},
                                     parents={"model": parent}, metrics={"parity_fp32": parity},
                                     simplified=slimmed, onnx_sha256=sha256_file(folder / "model.onnx"))
            write_json(folder / "manifest.json", manifest)
    return Path(out)
