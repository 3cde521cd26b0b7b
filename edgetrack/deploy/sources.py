"""What a GPU build reads from an export folder: the ONNX variant for a precision, calibration, IO spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetrack.artifacts import verify_file
from edgetrack.deploy.targets import TargetProfile
from edgetrack.errors import ArtifactError, ConfigError
from edgetrack.runtime.io_spec import IOSpec

CALIBRATION = "calibration.npz"


def check_export(export_dir: Path) -> IOSpec:
    """The export's IO spec; refuse folders that are not exports."""
    if not (export_dir / "model.onnx").is_file() or not (export_dir / "io_spec.json").is_file():
        raise ArtifactError(f"{export_dir} is not an export folder (model.onnx + io_spec.json); "
                            "run edgetrack export first")
    return IOSpec.load(export_dir)


def check_batch(spec: IOSpec, profile: TargetProfile, export_dir: Path) -> None:
    """Refuse a dynamic-batch export for TensorRT 8 targets, whose bundle runtime runs one target per call."""
    if spec.dynamic_batch and profile.typing == "legacy":
        raise ConfigError(f"{export_dir} was exported with --dynamic-batch; {profile.name} (TensorRT 8) runs one "
                          "target per call: export again without it")


def batch_shapes(spec: IOSpec, max_batch: int) -> tuple[str, str] | None:
    """trtexec's --minShapes and --optShapes/--maxShapes values for a dynamic-batch export, else None."""
    if not spec.dynamic_batch:
        return None

    def shapes(batch: int) -> str:
        return ",".join(f"{t.name}:" + "x".join(str(d) for d in (batch, *t.shape[1:])) for t in spec.inputs)

    return shapes(1), shapes(max_batch)


def choose_precision(profile: TargetProfile, precision: str | None) -> str:
    """The requested precision if the target allows it, else the profile's default."""
    chosen = precision or profile.default_precision or profile.precisions[0]
    if chosen not in profile.precisions:
        raise ConfigError(f"target {profile.name} builds {', '.join(profile.precisions)}, not '{chosen}'")
    return chosen


def variant_name(precision: str) -> str:
    return "model.onnx" if precision == "fp32" else f"model.{precision}.onnx"


def source_onnx(export_dir: Path, profile: TargetProfile, precision: str) -> Path:
    """Strongly typed builds read the precision's own ONNX; legacy builds read fp32 and set builder flags."""
    if profile.typing == "legacy":
        if precision == "int8" and not (export_dir / CALIBRATION).is_file():
            raise ArtifactError(f"{export_dir} has no {CALIBRATION}: a legacy INT8 build for {profile.name} "
                                "calibrates in TensorRT; export with --precision fp32,int8 --calib FILE")
        return verify_file(export_dir / "model.onnx")
    path = export_dir / variant_name(precision)
    if not path.is_file():
        extra = " --calib FILE" if precision == "int8" else ""
        raise ArtifactError(f"{export_dir} has no {precision} model ({path.name}); "
                            f"export with --precision fp32,{precision}{extra}")
    return verify_file(path)


def calibration_fingerprint(export_dir: Path) -> str | None:
    """The fingerprint of the export's calibration set, or None without one."""
    path = export_dir / CALIBRATION
    if not path.is_file():
        return None
    from edgetrack.calibration.store import CalibrationSet

    calib = CalibrationSet.load(path)
    return str(calib.meta.get("fingerprint") or calib.fingerprint)


def export_samples(export_dir: Path, spec: IOSpec, count: int) -> list[dict[str, np.ndarray]]:
    """Up to `count` real crops from the export's calibration set, else one seeded noise input of the right shapes."""
    path = export_dir / CALIBRATION
    if not path.is_file():
        rng = np.random.default_rng(0)
        return [{t.name: rng.standard_normal(t.shape, dtype=np.float32) for t in spec.inputs}]
    from edgetrack.calibration.store import CalibrationSet

    arrays = CalibrationSet.load(path).arrays
    n = min(count, min(len(a) for a in arrays.values()))
    return [{t.name: np.ascontiguousarray(arrays[t.name][i:i + 1], dtype=np.float32) for t in spec.inputs}
            for i in range(n)]
