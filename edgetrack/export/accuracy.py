"""Tracking-level accuracy of ONNX variants: AUC on synthetic-test, and the gate that refuses a bad variant."""

from __future__ import annotations

from pathlib import Path

from edgetrack.errors import ConfigError, EdgetrackError
from edgetrack.runtime.contract import BaseTracker
from edgetrack.runtime.io_spec import IOSpec

ACCURACY_BENCHMARK = "synthetic-test"
ACCURACY_SEQUENCES = 50  # synthetic-test's size


def check_sequence_count(sequences: int) -> None:
    """Refuse an `--accuracy-sequences` outside 0 (skip) .. the benchmark's size, before any export work."""
    if not 0 <= sequences <= ACCURACY_SEQUENCES:
        raise ConfigError(f"--accuracy-sequences {sequences}: {ACCURACY_BENCHMARK} has {ACCURACY_SEQUENCES} "
                          "sequences; give 0 (skip) to 50")


class AccuracyGateError(EdgetrackError):
    """A precision variant loses more tracking accuracy than the gate allows."""


def tracker_auc(tracker: BaseTracker, sequences: int) -> float:
    """One-pass AUC (%) of a tracker (`initialize` / `track`) on the first `sequences` of synthetic-test."""
    from edgetrack.data.synthetic import synthetic_split
    from edgetrack.eval.metrics import aggregate, ope_metrics
    from edgetrack.eval.run import track_sequence

    seqs = synthetic_split(ACCURACY_BENCHMARK)[:sequences]
    per_seq = [ope_metrics(track_sequence(tracker, s)[0], s.boxes, s.visible) for s in seqs]
    return float(aggregate(per_seq)["auc"])


def onnx_auc(onnx_path: Path, spec: IOSpec, sequences: int) -> float:
    """`tracker_auc` of an ONNX file run by ONNX Runtime."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend
    from edgetrack.runtime.spec import ProcessingSpec
    from edgetrack.runtime.tracker import Tracker

    with Tracker(OnnxRuntimeBackend(onnx_path), ProcessingSpec.from_io_spec(spec)) as tracker:
        return tracker_auc(tracker, sequences)


def variant_accuracy(folder: Path, precisions: list[str], spec: IOSpec, sequences: int) -> dict[str, float]:
    """AUC of fp32 and of each precision variant written in `folder`."""
    files = {"fp32": folder / "model.onnx"} | {p: folder / f"model.{p}.onnx" for p in precisions if p != "fp32"}
    return {p: onnx_auc(path, spec, sequences) for p, path in files.items()}


def split_variant_accuracy(folder: Path, precisions: list[str], sequences: int) -> dict[str, float]:
    """AUC of each precision of a MixFormerV2 split export (both graphs of that precision, online tracker)."""
    from edgetrack.runtime.online_tracker import OnlineTemplateTracker

    aucs = {}
    for p in precisions:
        with OnlineTemplateTracker.from_onnx(folder, precision=p) as tracker:
            aucs[p] = tracker_auc(tracker, sequences)
    return aucs


def check_gate(aucs: dict[str, float], max_drop: float | None) -> None:
    """Raise if a variant's AUC is more than `max_drop` points below fp32's."""
    if max_drop is None:
        return
    bad = {p: aucs["fp32"] - a for p, a in aucs.items() if p != "fp32" and aucs["fp32"] - a > max_drop}
    if bad:
        worst = ", ".join(f"{p} {aucs[p]:.2f} (drop {d:.2f})" for p, d in bad.items())
        raise AccuracyGateError(
            f"accuracy gate: fp32 AUC {aucs['fp32']:.2f} on {ACCURACY_BENCHMARK}, but {worst} exceeds the allowed "
            f"drop of {max_drop:g} points; calibrate with more or more varied samples, or ship fp16/fp32")
