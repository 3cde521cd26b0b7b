"""Run a tracker over a benchmark, one result file per sequence, so a killed run resumes where it stopped."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from collections.abc import Sequence as SequenceABC
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError, TrackingError
from edgetrack.eval.benchmarks import BENCHMARKS, Benchmark
from edgetrack.eval.identity import (
    claim_results,
    read_sequence_keys,
    record_sequence_key,
    sequence_key,
    tracker_identity,
)
from edgetrack.eval.metrics import aggregate, ope_metrics
from edgetrack.eval.results import read_result, read_times, result_exists, write_result
from edgetrack.locks import folder_lock
from edgetrack.runtime.contract import BaseTracker

ProgressFn = Callable[[str], None]


def benchmark_sequences(bench: Benchmark, data_root: str | Path | None) -> SequenceABC[Sequence]:
    """The sequences of a benchmark (synthetic-test needs no data root)."""
    if bench.dataset == "synthetic":
        from edgetrack.data.synthetic import synthetic_split

        return synthetic_split(bench.split or bench.name)
    from edgetrack.data.datasets import DATASETS, load_dataset

    if data_root is None:
        raise DataError(f"benchmark '{bench.name}' needs --data-root DIR, the folder holding the "
                        f"{bench.dataset} data laid out as {DATASETS.get(bench.dataset).layout}")

    return load_dataset(bench.dataset, data_root, bench.split)


def load_tracker(model: str, device: str = "cpu") -> BaseTracker:
    """A tracker for a model, export or build folder, a preset with bundled weights, or an `opencv:` baseline."""
    from edgetrack.eval.opencv_trackers import is_opencv_spec, open_opencv_tracker
    from edgetrack.runtime.tracker import Tracker

    if is_opencv_spec(model):
        return open_opencv_tracker(model)

    return Tracker.from_artifact(model, device=device)


def track_sequence(tracker: BaseTracker, seq: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and per-frame seconds; frame 0 holds the initial box. A bad frame or box names its files."""
    n = len(seq)
    boxes, times = np.zeros((n, 4)), np.zeros(n)
    with _naming_files(seq, 0):
        frame = seq.frame(0)
        start = time.perf_counter()
        tracker.initialize(frame, seq.init_box)
    boxes[0], times[0] = seq.init_box, time.perf_counter() - start
    for i in range(1, n):
        with _naming_files(seq, i):
            frame = seq.frame(i)
            start = time.perf_counter()
            boxes[i] = tracker.track(frame).box
        times[i] = time.perf_counter() - start
    return boxes, times


@contextmanager
def _naming_files(seq: Sequence, index: int) -> Iterator[None]:
    """Re-raise a frame's or box's error as a DataError naming the sequence and its files.

    The tracker only sees arrays, so its message ("the initial box ... lies outside the frame", "frame size
    changed") cannot say which of a benchmark's thousands of files to fix.
    """
    try:
        yield
    except (TrackingError, DataError) as err:
        raise DataError(f"{describe_frame(seq, index, str(err))}: {err}") from err


def describe_frame(seq: Sequence, index: int, message: str = "") -> str:
    """'sequence NAME (GT, first frame PATH)' or 'sequence NAME, frame K (PATH)'; files `message` names are left out."""
    path = seq.frame_file(index)
    frame = str(path) if path is not None and str(path) not in message else None
    if index > 0:
        return f"sequence '{seq.name}', frame {index + 1}" + (f" ({frame})" if frame else "")
    files = [str(seq.annotation)] if seq.annotation is not None else []
    files += [f"first frame {frame}"] if frame else []
    return f"sequence '{seq.name}'" + (f" ({', '.join(files)})" if files else "")


_WORKER: dict[str, Any] = {}


def _worker_init(model: str, bench: str, data_root: str | None, device: str) -> None:
    import torch

    torch.set_num_threads(1)
    _WORKER.update(tracker=load_tracker(model, device),
                   sequences={s.name: s for s in benchmark_sequences(BENCHMARKS.get(bench), data_root)})


def _worker_run(name: str, results_dir: str) -> str:
    seq = _WORKER["sequences"][name]
    boxes, times = track_sequence(_WORKER["tracker"], seq)
    write_result(results_dir, name, boxes, times)
    return name


def run_benchmark(model: str, bench: Benchmark, results_dir: str | Path, data_root: str | Path | None = None,
                  workers: int = 1, device: str = "cpu", progress: ProgressFn | None = None,
                  notice: ProgressFn | None = None) -> list[Sequence]:
    """Track every sequence without a complete result file of this very tracker; return the benchmark's sequences.

    Results left by another tracker (other weights, files or device) are discarded first, with a `notice`.
    """
    results_dir = Path(results_dir)
    with folder_lock(results_dir, notice=notice):
        claim_results(results_dir, tracker_identity(model, device), notice)
        return _track_missing(model, bench, results_dir, data_root, workers, device, progress)


def _track_missing(model: str, bench: Benchmark, results_dir: Path, data_root: str | Path | None, workers: int,
                   device: str, progress: ProgressFn | None) -> list[Sequence]:
    sequences = list(benchmark_sequences(bench, data_root))
    keys, recorded = {s.name: sequence_key(s) for s in sequences}, read_sequence_keys(results_dir)
    todo = [s for s in sequences if recorded.get(s.name) != keys[s.name]
            or not result_exists(results_dir, s.name, len(s))]
    if progress:
        for s in sequences:
            if s not in todo:
                progress(s.name)
    if workers <= 1:
        if not todo:
            return sequences
        with load_tracker(model, device) as tracker:
            for seq in todo:
                boxes, times = track_sequence(tracker, seq)
                write_result(results_dir, seq.name, boxes, times)
                record_sequence_key(results_dir, seq.name, keys[seq.name])
                if progress:
                    progress(seq.name)
        return sequences
    ctx = mp.get_context("spawn")  # torch and fork do not mix
    root = str(data_root) if data_root else None
    with cf.ProcessPoolExecutor(workers, ctx, initializer=_worker_init,
                                initargs=(model, bench.name, root, device)) as pool:
        for done in cf.as_completed([pool.submit(_worker_run, s.name, str(results_dir)) for s in todo]):
            name = done.result()
            record_sequence_key(results_dir, name, keys[name])
            if progress:
                progress(name)
    return sequences


def evaluate_results(results_dir: str | Path, sequences: SequenceABC[Sequence], protocol: str) -> dict[str, Any]:
    """Per-sequence and overall metrics, plus a per-attribute breakdown of AUC where sequences have flags."""
    per_seq = {}
    for seq in sequences:
        pred = read_result(results_dir, seq.name)
        per_seq[seq.name] = ope_metrics(pred, seq.boxes[: len(pred)], seq.visible[: len(pred)], protocol=protocol)
    overall = aggregate(list(per_seq.values()))
    ms = ms_per_frame(results_dir, sequences)
    if ms is not None:
        overall["ms_per_frame"] = ms
    return {"overall": overall, "sequences": per_seq, "attributes": attribute_breakdown(sequences, per_seq)}


def ms_per_frame(results_dir: str | Path, sequences: SequenceABC[Sequence]) -> float | None:
    """Mean milliseconds per tracked frame over all sequences with timing files (frame 0, the init, left out)."""
    times = [t[1:] for t in (read_times(results_dir, s.name) for s in sequences) if t is not None and len(t) > 1]
    return float(np.concatenate(times).mean() * 1e3) if times else None


def attribute_breakdown(sequences: SequenceABC[Sequence], per_seq: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean AUC / precision over the sequences that have each boolean attribute set."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for seq in sequences:
        for key, value in seq.attributes.items():
            if isinstance(value, (bool, np.bool_)) and value:
                groups.setdefault(key, []).append(per_seq[seq.name])
    return {k: {"num_sequences": len(v), "auc": float(np.mean([m["auc"] for m in v])),
                "precision": float(np.mean([m["precision"] for m in v]))} for k, v in sorted(groups.items())}
