"""The `cpu` target: an ONNX Runtime model with graph optimisations saved offline, INT8 only where it is clearly
faster (by INT8_MARGIN) and the export did not measure it losing accuracy. The decision, its timings and its
inputs are recorded in the manifest and kept by a re-run of the same inputs.

The build also times one thread against all of them and records the faster in the manifest (`config.threads`,
0 = ONNX Runtime's default of one per core), which the runtime then uses: for a small network the per-operator
synchronisation of a thread pool can cost more than it saves.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import (
    atomic_folder,
    check_replaceable,
    make_manifest,
    read_manifest,
    scratch_folder,
    sha256_file,
    verify_file,
    write_json,
)
from edgetrack.deploy.sources import CALIBRATION, export_samples
from edgetrack.errors import ArtifactError, ConfigError, MissingDependencyError
from edgetrack.eval.latency import time_calls
from edgetrack.runtime.io_spec import IOSpec

#: precisions the CPU target builds; fp16 runs on ONNX Runtime's CPU provider only through casts, so it is left out
CPU_PRECISIONS = ("fp32", "int8")
#: AUC points a variant may lose against fp32 (as the export measured them) and still be deployed when faster
MAX_AUC_DROP = 0.5
TIMED_RUNS, WARMUP_RUNS = 20, 3
#: rounds of TIMED_RUNS per candidate, alternating between the candidates
TIMING_ROUNDS = 3
#: how much faster than fp32 INT8 must be to be deployed (see `choose_precision`)
INT8_MARGIN = 0.10


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
    if "fp32" not in found:
        raise ArtifactError(f"{export_dir} has no {file_of(export_dir, 'fp32').name}; re-run edgetrack export")
    return [p for p in found if p == "fp32" or not loses_accuracy(export_dir, p)]


def loses_accuracy(export_dir: Path, precision: str, max_drop: float = MAX_AUC_DROP) -> bool:
    """Whether the export recorded `precision` more than `max_drop` AUC below fp32 (False when it measured none)."""
    manifest = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    auc = manifest.get("metrics", {}).get("auc", {})
    return precision in auc and "fp32" in auc and auc["fp32"] - auc[precision] > max_drop


@dataclass(frozen=True)
class Decision:
    """Which precision and thread count a cpu build deploys, why, and the inputs the choice was made from."""

    precision: str
    threads: int
    timings: dict[str, float]
    reason: str
    inputs: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {"precision": self.precision, "threads": self.threads, "median_ms": self.timings,
                "reason": self.reason, "inputs": self.inputs}


def decide(out: Path, files: dict[str, Path], feeds: dict[str, np.ndarray], threads: int | None,
           forced: str | None) -> Decision:
    """Time the candidates and pick one; a decision an earlier build into `out` made from the same inputs
    (candidate files, thread request, rule) is kept, so a re-run or resumed pipeline deploys the same model."""
    inputs = {"files": {p: sha256_file(verify_file(f)) for p, f in files.items()}, "threads": threads,
              "forced": forced, "int8_margin": INT8_MARGIN}
    earlier = _earlier_decision(out)
    if earlier is not None and earlier.get("inputs") == inputs:
        return Decision(earlier["precision"], earlier["threads"], earlier["median_ms"],
                        f"{earlier['reason']} (kept from the earlier build of the same inputs)", inputs)
    with scratch_folder(out) as tmp:
        ms = time_variants(files, feeds, threads, tmp)
    timings = {p: min(v for (q, _), v in ms.items() if q == p) for p in files}
    precision, reason = choose_precision(timings)
    best_threads = min((n for q, n in ms if q == precision), key=lambda n: ms[precision, n])
    return Decision(precision, best_threads, timings, reason, inputs)


def _earlier_decision(out: Path) -> dict[str, Any] | None:
    try:
        decision = read_manifest(out).get("decision") if (out / "manifest.json").is_file() else None
    except ArtifactError:
        return None
    return decision if isinstance(decision, dict) else None


def choose_precision(timings: dict[str, float], margin: float = INT8_MARGIN) -> tuple[str, str]:
    """INT8 only when it is at least `margin` faster than fp32: a closer race is timing noise, and a choice that
    flips between runs would deploy a different model (and accuracy) from the same inputs."""
    if "int8" not in timings or "fp32" not in timings:
        only = next(iter(timings))
        return only, f"{only} is the only candidate"
    gain = 1.0 - timings["int8"] / timings["fp32"]
    if gain >= margin:
        return "int8", f"int8 is {gain:.0%} faster than fp32 (the rule: at least {margin:.0%})"
    return "fp32", f"int8 is {gain:.0%} faster than fp32, under the {margin:.0%} it must gain to be deployed"


def build_cpu(export_dir: Path, out: Path, precision: str | None = None, threads: int | None = None,
              replace: bool = False) -> Path:
    """Write an optimised ONNX Runtime artifact for this CPU; without `precision`, deploy INT8 when it is clearly
    faster (`choose_precision`) and the export did not measure it more than MAX_AUC_DROP AUC below fp32, and
    without `threads`, the faster of one thread and all of them. A MixFormerV2 split export is built as its two
    graphs (`build_cpu_split`)."""
    export_dir, out = Path(export_dir), Path(out)
    if is_split_export(export_dir):
        return build_cpu_split(export_dir, out, precision, threads, replace)
    if not (export_dir / "model.onnx").is_file() or not (export_dir / "io_spec.json").is_file():
        raise ArtifactError(f"{export_dir} is not an export folder (model.onnx + io_spec.json); "
                            "run edgetrack export first")
    if not replace:
        check_replaceable(out, "build")
    spec = IOSpec.load(export_dir)
    feeds = export_samples(export_dir, spec, 1)[0]
    files = {p: variant_file(export_dir, p) for p in candidates(export_dir, precision)}
    decision = decide(out, files, feeds, threads, precision)
    with atomic_folder(out, kind="build", replace=replace) as folder:
        optimise(verify_file(files[decision.precision]), folder / "model.onnx", decision.threads)
        spec.save(folder)
        write_json(folder / "manifest.json", _manifest(export_dir, decision, files[decision.precision]))
    return out


def time_variants(files: dict[str, Path], feeds: dict[str, np.ndarray], threads: int | None, tmp: Path
                  ) -> dict[tuple[str, int], float]:
    """Median ms per (precision, thread count), each variant optimised into `tmp`; the variants are timed in
    alternating rounds, so a change of machine load during the build affects them alike."""
    sessions = {(p, n): optimise(verify_file(path), tmp / f"{p}-{n}.onnx", n)
                for p, path in files.items() for n in ([threads] if threads is not None else [0, 1])}
    rounds: dict[tuple[str, int], list[float]] = {key: [] for key in sessions}
    for _ in range(TIMING_ROUNDS):
        for key, session in sessions.items():
            rounds[key].append(median_ms(session, feeds))
    return {key: statistics.median(values) for key, values in rounds.items()}


def is_split_export(folder: Path) -> bool:
    """Whether `folder` holds MixFormerV2's two graphs (template encoder + search step) instead of one model; one
    that holds only part of them is refused, naming what is missing."""
    from edgetrack.export.mixformerv2 import ENCODER, SPEC, STEP

    parts = (ENCODER, STEP, SPEC)
    present = [p for p in parts if (folder / p).is_file()]
    if present and len(present) < len(parts):
        missing = ", ".join(p for p in parts if p not in present)
        raise ArtifactError(f"{folder} is a MixFormerV2 split export without {missing}; re-run edgetrack export "
                            "into a fresh folder")
    return bool(present)


def build_cpu_split(export_dir: Path, out: Path, precision: str | None = None, threads: int | None = None,
                    replace: bool = False) -> Path:
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
    if not replace:
        check_replaceable(out, "build")
    files = {p: step_file(export_dir, p) for p in candidates(export_dir, precision, step_file)}
    decision = decide(out, files, {"search": sample["search"], "memory": memory}, threads, precision)
    with atomic_folder(out, kind="build", replace=replace) as folder:
        optimise(verify_file(files[decision.precision]), folder / STEP, decision.threads)
        optimise(verify_file(graph_file(export_dir, ENCODER, decision.precision)), folder / ENCODER, decision.threads)
        shutil.copy(export_dir / SPEC, folder / SPEC)
        write_json(folder / "manifest.json", _manifest(export_dir, decision, files[decision.precision]))
    return out


def _manifest(export_dir: Path, decision: Decision, source: Path) -> dict[str, Any]:
    parent = read_manifest(export_dir) if (export_dir / "manifest.json").is_file() else {}
    timings = decision.timings
    return make_manifest(
        "build", config={"target": "cpu", "precision": decision.precision, "optimization": "extended",
                         "threads": decision.threads},
        parents={"export": sha256_file(source)},
        metrics={"median_ms": timings, "speedup_int8": (timings["fp32"] / timings["int8"]
                                                        if {"fp32", "int8"} <= timings.keys() else None)},
        decision=decision.record(), source=str(export_dir), export_metrics=parent.get("metrics", {}))
