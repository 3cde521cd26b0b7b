"""Where a frame's time goes: edgetrack's deployed VitTrack against `cv2.TrackerVit`, in one process, frame by frame.

Both trackers run on the same decoded frames (RGB for edgetrack, BGR for OpenCV, converted once before timing),
alternating which goes first on each frame, with the same thread count (`cv2.setNumThreads`, ONNX Runtime's
`intra_op_num_threads`). edgetrack's time is split by its own per-stage timings (crop, normalise, inference, decode,
map-back); OpenCV's tracker reports only its total. Other artifacts (`--also NAME=ARTIFACT`: an OSTrack student,
the tiny teacher) are timed on the same frames in a pass of their own, with their stage split; their speedup
column compares with OpenCV's time from the pair's pass.

    python -m benchmarks.vittrack_vs_opencv --build runs/vittrack/build --weights vittrack_2023sep.onnx \
        --real ../shared/real [--threads 1 2] [--also tiny=tiny]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.metrics import aggregate, ope_metrics
from edgetrack.eval.run import benchmark_sequences
from edgetrack.runtime.contract import BaseTracker

STAGES = ("crop", "normalise", "infer", "decode", "map")


def open_edgetrack(artifact: str, threads: int) -> BaseTracker:
    """The tracker a user gets from `artifact`, with ONNX Runtime held to `threads` where it runs ONNX."""
    from edgetrack.runtime.artifact import onnx_file
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend
    from edgetrack.runtime.io_spec import IOSpec
    from edgetrack.runtime.spec import ProcessingSpec
    from edgetrack.runtime.tracker import Tracker

    folder = Path(artifact)
    onnx = onnx_file(folder) if folder.is_dir() else None
    if onnx is None:
        import torch

        torch.set_num_threads(threads)
        return Tracker.from_artifact(artifact)
    return Tracker(OnnxRuntimeBackend(onnx, threads=threads), ProcessingSpec.read(IOSpec.load(folder)))


def open_opencv(weights: Path) -> BaseTracker:
    from edgetrack.eval.opencv_trackers import open_opencv_tracker

    return open_opencv_tracker(f"opencv:vittrack={weights}")


def run_sequences(trackers: dict[str, BaseTracker], sequences: list[Any], max_frames: int) -> dict[str, dict]:
    """Track every sequence with every tracker, alternating the order per frame: times, stages, metrics."""
    record: dict[str, dict] = {name: {"ms": [], "stages": {k: [] for k in STAGES}, "metrics": []} for name in trackers}
    names = list(trackers)
    for seq in sequences:
        n = len(seq) if max_frames <= 0 else min(len(seq), max_frames)
        frames = [seq.frame(i) for i in range(n)]
        boxes = {name: [seq.init_box] for name in names}
        for name in names:
            trackers[name].initialize(frames[0], seq.init_box)
        for i in range(1, n):
            for name in names if i % 2 else names[::-1]:
                t0 = time.perf_counter()
                result = trackers[name].track(frames[i])
                record[name]["ms"].append((time.perf_counter() - t0) * 1e3)
                for k in STAGES:
                    if k in result.timings:
                        record[name]["stages"][k].append(result.timings[k])
                boxes[name].append(result.box)
        for name in names:
            record[name]["metrics"].append(ope_metrics(np.array(boxes[name]), seq.boxes[:n], seq.visible[:n]))
    return record


def summary_rows(record: dict[str, dict], threads: int, opencv: str) -> list[list[object]]:
    base = float(np.median(record[opencv]["ms"])) if opencv in record else float("nan")
    rows = []
    for name, r in record.items():
        p50, p90 = (float(np.percentile(r["ms"], q)) for q in (50, 90))
        own = name != opencv  # OpenCV's tracker times only its whole update
        stages = [float(np.median(r["stages"][k])) if own and r["stages"][k] else "-" for k in STAGES]
        auc = aggregate(r["metrics"])["auc"]
        rows.append([name, threads, auc, p50, p90, *stages, base / p50 if name != opencv else 1.0])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="edgetrack's deployed VitTrack (a build or export folder)")
    parser.add_argument("--weights", type=Path, required=True, help="OpenCV's VitTrack ONNX file for cv2.TrackerVit")
    parser.add_argument("--real", type=Path, required=True, help="folder of sequences (NAME/img, groundtruth.txt)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-frames", type=int, default=0, help="frames per sequence (0: all)")
    parser.add_argument("--also", nargs="*", default=[], metavar="NAME=ARTIFACT",
                        help="other artifacts to time on the same frames (students, the tiny teacher)")
    args = parser.parse_args()

    import cv2

    sequences = list(benchmark_sequences(BENCHMARKS.get("folder"), args.real))
    rows: list[list[object]] = []
    for threads in args.threads:
        cv2.setNumThreads(threads)
        pair = {"edgetrack:vittrack": open_edgetrack(args.build, threads), "opencv:vittrack": open_opencv(args.weights)}
        record = run_sequences(pair, sequences, args.max_frames)
        for item in args.also:  # a pass of its own, so that a heavier network does not slow the pair's frames
            name, _, artifact = item.partition("=")
            with open_edgetrack(artifact or name, threads) as tracker:
                record.update(run_sequences({name: tracker}, sequences, args.max_frames))
        for tracker in pair.values():
            tracker.close()
        rows += summary_rows(record, threads, "opencv:vittrack")
        print(markdown_table(HEADER, rows[-len(record):]), flush=True)
    append_result(f"Per-frame time, edgetrack VitTrack vs cv2.TrackerVit, one process, {args.real.name}", HEADER, rows,
                  notes=f"{len(sequences)} sequences of `{args.real}`, every frame tracked by every tracker in turn "
                        "(order alternating per frame). ms: wall time of one `track()` call; stage columns: medians "
                        "of edgetrack's own per-stage timings (OpenCV reports only its total); speedup: OpenCV's "
                        "p50 over the row's p50, same run, same thread count.")


HEADER = ["variant", "threads", "AUC", "p50 ms", "p90 ms", *[f"{k} ms" for k in STAGES], "speedup vs opencv"]


if __name__ == "__main__":
    main()
