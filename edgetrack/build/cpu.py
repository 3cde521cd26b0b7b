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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import atomic_folder, make_manifest, read_manifest, sha256_file, verify_file, write_json
from edgetrack.build.sources import CALIBRATION, export_samples
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


def candidates(export_dir: Path, precision: str | None, file_of: Callable[[Path, str], Path] = variant_file
               ) -> list[str]:
    """Precisions to build: the one asked for, or fp32 plus int8 when the export has an INT8 variant."""
    if precision is not None:
        if precision not in CPU_PRECISIONS:
            raise ConfigError(f"the cpu target builds {' or '.join(CPU_PRECISIONS)}, not '{precision}'")
        if not file_of(export_dir, precision).is_file():
            raise ArtifactError(f"{export_dir} has no {precision} model ({file_of(export_dir, precision).name});"
                                f" export with --precision fp32,{precision}" + (" --calib FILE" if precision == "int8"
                                                                                 else ""))
        return [precision]
    found = [p for p in CPU_PRECISIONS if file_of(export_dir, p).is_file()]
    return [p for p in found if p == "fp32" or not loses_accuracy(export_dir, p)]


def loses_accuracy(export_dir: Path, precision: str, max_drop: float = MAX_AUC_DROP) -> bool:
    """Whether the export recorded `precision` more than `max_drop` AUC below fp32 (False when it measured none)."""
    manifest = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    auc = manifest.get("metrics", {}).get("auc", {})
    return precision in auc and "fp32" in auc and auc["fp32"] - auc[precision] > max_drop


def build_cpu(export_dir: Path, out: Path, precision: str | None = None, threads: int | None = None) -> Path:
    """Write an optimised ONNX Runtime artifact for this CPU; without `precision`, keep the fastest variant that
    the export did not measure more than MAX_AUC_DROP AUC below fp32, and without `threads`, the faster of one
    thread and all of them. A MixFormerV2 split export is built as its two graphs (`build_cpu_split`)."""
    export_dir, out = Path(export_dir), Path(out)
    if is_split_export(export_dir):
        return build_cpu_split(export_dir, out, precision, threads)
    if not (export_dir / "model.onnx").is_file() or not (export_dir / "io_spec.json").is_file():
        raise ArtifactError(f"{export_dir} is not an export folder (model.onnx + io_spec.json); "
                            "run edgetrack export first")
    spec = IOSpec.load(export_dir)
    feeds = export_samples(export_dir, spec, 1)[0]
    files = {p: variant_file(export_dir, p) for p in candidates(export_dir, precision)}
    with tempfile.TemporaryDirectory() as tmp:
        timings, best_threads = time_variants(files, feeds, threads, Path(tmp))
        chosen = min(timings, key=timings.__getitem__)
        with atomic_folder(out) as folder:
            shutil.copy(Path(tmp) / f"{chosen}.onnx", folder / "model.onnx")
            spec.save(folder)
            write_json(folder / "manifest.json", _manifest(export_dir, chosen, timings, best_threads,
                                                           variant_file(export_dir, chosen)))
    return out


def time_variants(files: dict[str, Path], feeds: dict[str, np.ndarray], threads: int | None, tmp: Path
                  ) -> tuple[dict[str, float], int]:
    """Optimise each precision's file into `tmp/PRECISION.onnx`; (median ms per precision, faster thread count)."""
    timings: dict[str, float] = {}
    thread_ms: dict[int, float] = {}
    for p, path in files.items():
        for n in [threads] if threads is not None else [0, 1]:
            ms = median_ms(optimise(verify_file(path), tmp / f"{p}.onnx", n), feeds)
            timings[p] = min(timings.get(p, ms), ms)
            thread_ms[n] = min(thread_ms.get(n, ms), ms)
    return timings, min(thread_ms, key=thread_ms.__getitem__)


def is_split_export(folder: Path) -> bool:
    """Whether `folder` holds MixFormerV2's two graphs (template encoder + search step) instead of one model."""
    from edgetrack.export.mixformerv2 import ENCODER, SPEC

    return (folder / ENCODER).is_file() and (folder / SPEC).is_file()


def build_cpu_split(export_dir: Path, out: Path, precision: str | None = None, threads: int | None = None) -> Path:
    """Both graphs of the chosen precision, optimised; precision and threads chosen by the search step's latency,
    the per-frame network (the encoder runs once per template update)."""
    from edgetrack.calibration.store import CalibrationSet
    from edgetrack.export.mixformerv2 import ENCODER, ENCODER_INPUTS, SPEC, STEP, input_shapes, load_spec
    from edgetrack.export.split_variants import graph_file, parity_samples
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    calib_path = export_dir / CALIBRATION
    calib = CalibrationSet.load(calib_path) if calib_path.is_file() else None
    sample = parity_samples(calib, input_shapes(load_spec(export_dir)), 1)[0]
    encoder = OnnxRuntimeBackend(verify_file(export_dir / ENCODER))
    memory = encoder.infer({k: sample[k] for k in ENCODER_INPUTS})["memory"]
    step_file = lambda folder, p: graph_file(folder, STEP, p)  # noqa: E731 - the step decides the choice
    files = {p: step_file(export_dir, p) for p in candidates(export_dir, precision, step_file)}
    with tempfile.TemporaryDirectory() as tmp:
        timings, best_threads = time_variants(files, {"search": sample["search"], "memory": memory}, threads,
                                              Path(tmp))
        chosen = min(timings, key=timings.__getitem__)
        with atomic_folder(out) as folder:
            shutil.copy(Path(tmp) / f"{chosen}.onnx", folder / STEP)
            optimise(verify_file(graph_file(export_dir, ENCODER, chosen)), folder / ENCODER, best_threads)
            shutil.copy(export_dir / SPEC, folder / SPEC)
            write_json(folder / "manifest.json", _manifest(export_dir, chosen, timings, best_threads,
                                                           graph_file(export_dir, STEP, chosen)))
    return out


def _manifest(export_dir: Path, chosen: str, timings: dict[str, float], threads: int, source: Path
              ) -> dict[str, Any]:
    parent = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    return make_manifest(
        "build", config={"target": "cpu", "precision": chosen, "optimization": "extended", "threads": threads},
        parents={"export": sha256_file(source)},
        metrics={"median_ms": timings, "speedup_int8": (timings["fp32"] / timings["int8"]
                                                        if {"fp32", "int8"} <= timings.keys() else None)},
        source=str(export_dir), export_metrics=parent.get("metrics", {}))
