"""The `cpu` target: an ONNX Runtime model with graph optimisations saved offline, INT8 only where it is faster
and the export did not measure it losing accuracy.

The build also times one thread against all of them and records the faster in the manifest (`config.threads`,
0 = ONNX Runtime's default of one per core), which the runtime then uses: for a small network the per-operator
synchronisation of a thread pool can cost more than it saves.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import atomic_folder, make_manifest, read_manifest, sha256_file, verify_file, write_json
from edgetrack.build.sources import export_samples
from edgetrack.errors import ArtifactError, ConfigError, MissingDependencyError
from edgetrack.eval.latency import time_calls
from edgetrack.export.spec import IOSpec

#: precisions the CPU target builds; fp16 runs on ONNX Runtime's CPU provider only through casts, so it is left out
CPU_PRECISIONS = ("fp32", "int8")
#: AUC points a variant may lose against fp32 (as the export measured them) and still be deployed when faster
MAX_AUC_DROP = 0.5
TIMED_RUNS, WARMUP_RUNS = 20, 3


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx", "the cpu target") from None
    return onnxruntime


def variant_file(export_dir: Path, precision: str) -> Path:
    """The ONNX file of `precision` in an export folder (model.onnx is fp32)."""
    return export_dir / ("model.onnx" if precision == "fp32" else f"model.{precision}.onnx")


def optimise(src: Path, dst: Path, threads: int = 0) -> Any:
    """Apply ONNX Runtime's basic and extended graph optimisations and save the result to `dst`.

    Extended rather than all: the layout rewrites of the highest level are specific to the CPU's vector unit,
    so the saved file stays portable and the session applies them at load.
    """
    ort = _ort()
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(dst)
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    except Exception as err:  # ORT raises its own exception types for bad files
        raise ArtifactError(f"ONNX Runtime cannot load {src}: {str(err).splitlines()[0]}") from None


def median_ms(session: Any, feeds: dict[str, np.ndarray], runs: int = TIMED_RUNS) -> float:
    """Median latency of one forward pass in milliseconds, after warm-up."""
    return statistics.median(time_calls(lambda: session.run(None, feeds), runs, WARMUP_RUNS))


def candidates(export_dir: Path, precision: str | None) -> list[str]:
    """Precisions to build: the one asked for, or fp32 plus int8 when the export has an INT8 variant."""
    if precision is not None:
        if precision not in CPU_PRECISIONS:
            raise ConfigError(f"the cpu target builds {' or '.join(CPU_PRECISIONS)}, not '{precision}'")
        if not variant_file(export_dir, precision).is_file():
            raise ArtifactError(f"{export_dir} has no {precision} model ({variant_file(export_dir, precision).name});"
                                f" export with --precision fp32,{precision}" + (" --calib FILE" if precision == "int8"
                                                                                 else ""))
        return [precision]
    found = [p for p in CPU_PRECISIONS if variant_file(export_dir, p).is_file()]
    return [p for p in found if p == "fp32" or not loses_accuracy(export_dir, p)]


def loses_accuracy(export_dir: Path, precision: str, max_drop: float = MAX_AUC_DROP) -> bool:
    """Whether the export recorded `precision` more than `max_drop` AUC below fp32 (False when it measured none)."""
    manifest = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    auc = manifest.get("metrics", {}).get("auc", {})
    return precision in auc and "fp32" in auc and auc["fp32"] - auc[precision] > max_drop


def build_cpu(export_dir: Path, out: Path, precision: str | None = None, threads: int | None = None) -> Path:
    """Write an optimised ONNX Runtime artifact for this CPU; without `precision`, keep the fastest variant that
    the export did not measure more than MAX_AUC_DROP AUC below fp32, and without `threads`, the faster of one
    thread and all of them."""
    export_dir, out = Path(export_dir), Path(out)
    if not (export_dir / "model.onnx").is_file() or not (export_dir / "io_spec.json").is_file():
        raise ArtifactError(f"{export_dir} is not an export folder (model.onnx + io_spec.json); "
                            "run edgetrack export first")
    spec = IOSpec.load(export_dir)
    feeds = export_samples(export_dir, spec, 1)[0]
    timings: dict[str, float] = {}
    thread_ms: dict[int, float] = {}
    counts = [threads] if threads is not None else [0, 1]
    with tempfile.TemporaryDirectory() as tmp:
        for p in candidates(export_dir, precision):
            for n in counts:
                session = optimise(verify_file(variant_file(export_dir, p)), Path(tmp) / f"{p}.onnx", n)
                ms = median_ms(session, feeds)
                timings[p] = min(timings.get(p, ms), ms)
                thread_ms[n] = min(thread_ms.get(n, ms), ms)
        chosen = min(timings, key=timings.__getitem__)
        best_threads = min(thread_ms, key=thread_ms.__getitem__)
        with atomic_folder(out) as folder:
            shutil.copy(Path(tmp) / f"{chosen}.onnx", folder / "model.onnx")
            spec.save(folder)
            write_json(folder / "manifest.json", _manifest(export_dir, chosen, timings, best_threads))
    return out



def _manifest(export_dir: Path, chosen: str, timings: dict[str, float], threads: int) -> dict[str, Any]:
    parent = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    return make_manifest(
        "build", config={"target": "cpu", "precision": chosen, "optimization": "extended", "threads": threads},
        parents={"export": sha256_file(variant_file(export_dir, chosen))},
        metrics={"median_ms": timings, "speedup_int8": (timings["fp32"] / timings["int8"]
                                                        if {"fp32", "int8"} <= timings.keys() else None)},
        source=str(export_dir), export_metrics=parent.get("metrics", {}))
