"""Cost of N targets per frame: edgetrack's `track_many` (one batched call) against N `cv2.TrackerVit` objects.

Targets: on each sequence, the first ground-truth box and N - 1 copies of it shifted by a fixed pattern (each
target has its own crop, template and trajectory). Both sides run in one process on the same frames, alternating
per frame, at the same thread count. ms: wall time per frame for all N targets; "x one target": that time over
the same tracker's one-target time; "max diff vs single": the largest distance (pixels) between any target's
boxes in the N-target run and the same target tracked alone.

    python -m benchmarks.multi_target --build runs/vittrack-dyn/build --weights vittrack_2023sep.onnx \
        --real ../shared/real [--targets 1 2 4 8] [--also tiny=runs/tiny-dyn/build]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from benchmarks.vittrack_vs_opencv import open_edgetrack
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.run import benchmark_sequences

SHIFTS = [(0, 0), (0.3, 0), (0, 0.3), (-0.3, 0), (0, -0.3), (0.3, 0.3), (-0.3, -0.3), (0.3, -0.3)]  # of (w, h)


def target_boxes(first: np.ndarray, n: int, width: int, height: int) -> list[np.ndarray]:
    x, y, w, h = first
    boxes = []
    for k in range(n):
        dx, dy = SHIFTS[k % len(SHIFTS)]
        boxes.append(np.array([min(max(x + dx * w, 0), width - w), min(max(y + dy * h, 0), height - h), w, h]))
    return boxes


class OpenCVMany:
    """N independent `cv2.TrackerVit` objects: what OpenCV code does for several targets."""

    def __init__(self, weights: Path) -> None:
        import cv2

        self.params = cv2.TrackerVit_Params()
        self.params.net = str(weights)
        self.trackers: list = []

    def initialize_many(self, frame: np.ndarray, boxes: list[np.ndarray]) -> None:
        import cv2

        bgr = np.ascontiguousarray(frame[:, :, ::-1])
        self.trackers = [cv2.TrackerVit.create(self.params) for _ in boxes]
        for tracker, box in zip(self.trackers, boxes, strict=True):
            tracker.init(bgr, tuple(int(round(v)) for v in box))

    def track_many(self, bgr: np.ndarray) -> list:
        return [tracker.update(bgr)[1] for tracker in self.trackers]

    def close(self) -> None:
        self.trackers = []


def time_run(tracker: object, frames: list[np.ndarray], boxes: list[np.ndarray], bgr: bool) -> tuple[list, list]:
    """(ms per frame, per frame the list of boxes) of one tracker over `frames`."""
    tracker.initialize_many(frames[0], boxes)  # type: ignore[attr-defined]
    times, tracks = [], []
    for frame in frames[1:]:
        image = np.ascontiguousarray(frame[:, :, ::-1]) if bgr else frame
        t0 = time.perf_counter()
        results = tracker.track_many(image)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t0) * 1e3)
        tracks.append([np.asarray(getattr(r, "box", r), dtype=np.float64) for r in results])
    return times, tracks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="edgetrack VitTrack build/export made with --dynamic-batch")
    parser.add_argument("--weights", type=Path, required=True, help="OpenCV's VitTrack ONNX file")
    parser.add_argument("--real", type=Path, required=True, help="folder of sequences (NAME/img, groundtruth.txt)")
    parser.add_argument("--targets", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-frames", type=int, default=120, help="frames per sequence (0: all)")
    parser.add_argument("--also", nargs="*", default=[], metavar="NAME=ARTIFACT")
    args = parser.parse_args()

    import cv2

    cv2.setNumThreads(args.threads)
    trackers: dict[str, object] = {"edgetrack:vittrack": open_edgetrack(args.build, args.threads),
                                   "opencv:vittrack": OpenCVMany(args.weights)}
    for item in args.also:
        name, _, artifact = item.partition("=")
        trackers[name] = open_edgetrack(artifact or name, args.threads)
    times: dict[tuple[str, int], list[float]] = {}
    diffs: dict[tuple[str, int], float] = {}
    for seq in benchmark_sequences(BENCHMARKS.get("folder"), args.real):
        n = len(seq) if args.max_frames <= 0 else min(len(seq), args.max_frames)
        frames = [seq.frame(i) for i in range(n)]
        height, width = frames[0].shape[:2]
        alone: dict[str, list] = {}
        for count in args.targets:
            boxes = target_boxes(seq.init_box, count, width, height)
            for name, tracker in trackers.items():
                ms, tracks = time_run(tracker, frames, boxes, bgr=name.startswith("opencv"))
                times.setdefault((name, count), []).extend(ms)
                if count == 1:
                    alone[name] = [t[0] for t in tracks]
                elif name in alone:  # target 0 is the one-target run's target
                    gap = max(float(np.abs(t[0] - a).max()) for t, a in zip(tracks, alone[name], strict=True))
                    diffs[(name, count)] = max(diffs.get((name, count), 0.0), gap)
    for tracker in trackers.values():
        tracker.close()  # type: ignore[attr-defined]
    rows = []
    for name in trackers:
        one = float(np.median(times[(name, args.targets[0])]))
        for count in args.targets:
            p50 = float(np.median(times[(name, count)]))
            ocv = float(np.median(times[("opencv:vittrack", count)]))
            rows.append([name, count, p50, p50 / one, diffs.get((name, count), 0.0), ocv / p50])
    header = ["variant", "targets", "p50 ms per frame", "x one target", "max diff vs single px", "speedup vs opencv"]
    print(markdown_table(header, rows))
    append_result(f"N targets per frame, edgetrack track_many vs N cv2.TrackerVit, {args.real.name}", header, rows,
                  notes=f"Every sequence of `{args.real}`, first {args.max_frames or 'all'} frames, {args.threads} "
                        "threads, one process, same frames. Targets: the first box and shifted copies of it. "
                        "edgetrack: `Tracker.track_many`, one batched ONNX Runtime call per frame "
                        "(`export --dynamic-batch`, cpu build fp32); OpenCV: one `cv2.TrackerVit` per target. "
                        "max diff vs single: target 0 of the N-target run against the one-target run, in pixels "
                        "(OpenCV's trackers are independent, so 0 by construction).")


if __name__ == "__main__":
    main()
