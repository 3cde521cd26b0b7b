"""Build a TensorRT engine on this machine, then check it against ONNX Runtime and time it.

The build itself is the code every deploy bundle ships (`engine_script.build_engine`), so an engine built
here and one built on a Jetson from a bundle come from the same steps.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.deploy import engine_script
from edgetrack.deploy.host import Host
from edgetrack.deploy.sources import CALIBRATION, calibration_fingerprint, check_export, source_onnx
from edgetrack.deploy.targets import TargetProfile
from edgetrack.errors import ArtifactError
from edgetrack.runtime.engine_info import ENGINE, ENGINE_JSON, load_engine_info

PARITY_SAMPLES, LATENCY_RUNS, LATENCY_WARMUP = 8, 50, 10


def build_options(export_dir: Path, folder: Path, profile: TargetProfile, precision: str, onnx: Path,
                  trt_version: str, dla_core: int = -1, memory_mb: float | None = None) -> dict[str, Any]:
    """The options `engine_script.build_engine` takes; caches live next to the export so rebuilds reuse them."""
    calib = export_dir / CALIBRATION
    legacy_int8 = profile.typing == "legacy" and precision == "int8"
    cache = (engine_script.calibration_cache_name(engine_script.sha256(onnx), engine_script.sha256(calib), trt_version)
             if legacy_int8 and calib.is_file() else "unused")
    assert profile.compute_capability is not None and profile.workspace_mb is not None
    return {"onnx": onnx, "engine": folder / ENGINE, "precision": precision, "typing": profile.typing,
            "workspace_mb": profile.workspace_for(memory_mb), "opt_level": profile.builder_optimization_level,
            "dla_core": dla_core, "timing_cache": export_dir / f"timing-trt{trt_version}-{profile.sm}.cache",
            "calibration": calib if calib.is_file() else None, "calib_cache": export_dir / cache}


def build_here(export_dir: Path, profile: TargetProfile, precision: str, folder: Path, host: Host,
               forced: list[str], log: Callable[[str], None] = print) -> Path:
    """Build `folder/model.engine` and `engine.json` from the export; returns `folder`."""
    assert host.gpu is not None and host.tensorrt is not None
    spec = check_export(export_dir)
    onnx = source_onnx(export_dir, profile, precision)
    memory_mb = host.gpu.memory_gb * 1024
    options = build_options(export_dir, folder, profile, precision, onnx, host.tensorrt, memory_mb=memory_mb)
    log(f"building {onnx.name} ({precision}, {profile.typing} typing) on {host.gpu.name}, TensorRT {host.tensorrt}")
    try:
        io = engine_script.build_engine(options, log=log)
    except engine_script.BuildError as err:
        raise ArtifactError(str(err)) from None
    shutil.copy(onnx, folder / onnx.name)
    spec.save(folder)
    record = engine_script.engine_record(
        trt_version=host.tensorrt, gpu=host.gpu.name, compute_capability=host.gpu.compute_capability,
        target=profile.name, precision=precision, typing=str(profile.typing), onnx=onnx,
        calibration_fingerprint=calibration_fingerprint(export_dir) if precision == "int8" else None,
        io=io, io_spec=spec.to_dict(), builder="edgetrack build", forced=forced,
        module=engine_script.module_name(), memory_mb=memory_mb, workspace_mb=options["workspace_mb"],
        calibration_cache=Path(options["calib_cache"]).name if options["calibration"] is not None else None,
        max_batch=options["max_batch"])
    (folder / ENGINE_JSON).write_text(json.dumps(record, indent=2) + "\n")
    load_engine_info(folder)  # the record must satisfy the schema the runtime reads
    return folder


def check_engine(folder: Path, reference_onnx: Path, samples: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Max abs difference per output of the engine against ONNX Runtime on the same inputs, and its latency."""
    from edgetrack.runtime.artifact import open_backend
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    engine, _ = open_backend(folder, "tensorrt", "cuda")
    reference = OnnxRuntimeBackend(reference_onnx)
    parity: dict[str, float] = {}
    for inputs in samples:
        want, got = reference.infer(inputs), engine.infer(inputs)
        for name, value in want.items():
            diff = float(np.abs(np.asarray(got[name], dtype=np.float64) - value).max())
            parity[name] = max(parity.get(name, 0.0), diff)
    return {"parity": parity, "parity_reference": reference_onnx.name,
            "latency_ms": engine_latency(engine, samples[0])}


def engine_latency(engine: Any, inputs: dict[str, np.ndarray]) -> dict[str, float]:
    """Median and p90 ms of one `infer` (host copies included, as the tracker sees it)."""
    from edgetrack.eval.latency import percentiles, time_calls

    stats = percentiles(time_calls(lambda: engine.infer(inputs), LATENCY_RUNS, LATENCY_WARMUP))
    return {"median": stats["p50"], "p90": stats["p90"]}


def record_checks(folder: Path, checks: dict[str, Any]) -> None:
    """Add parity and latency to engine.json."""
    path = folder / ENGINE_JSON
    record = json.loads(path.read_text())
    record.update(checks)
    path.write_text(json.dumps(record, indent=2) + "\n")
