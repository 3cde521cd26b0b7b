from __future__ import annotations

import numpy as np
import pytest

from edgetrack.errors import ConfigError
from edgetrack.eval.latency import measure_latency, percentiles, time_calls
from edgetrack.runtime.contract import BaseTracker, TrackResult


class CountingTracker(BaseTracker):
    """Records initialise/track calls and its release; reports fixed stage timings."""

    class backend:  # noqa: N801 - mimics Tracker.backend.name
        name = "fake"

    def __init__(self) -> None:
        self.inits: list[int] = []
        self.tracked = 0
        self.released = 0

    @property
    def box(self) -> None:
        return None

    def _release(self) -> None:
        self.released += 1

    def initialize(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.inits.append(int(frame[0, 0, 0]))

    def track(self, frame: np.ndarray) -> TrackResult:
        self.tracked += 1
        return TrackResult((0.0, 0.0, 1.0, 1.0), 1.0, {"pre": 1.0, "infer": 2.0, "post": 3.0})


def _frames(n: int) -> tuple[list[np.ndarray], np.ndarray]:
    return [np.full((4, 4, 3), i, np.uint8) for i in range(n)], np.array([0, 0, 2, 2], float)


def test_measure_tracks_warmup_plus_runs_and_restarts_at_the_end() -> None:
    tracker = CountingTracker()
    report = measure_latency(lambda: tracker, "fake", runs=7, warmup=2, frames=_frames(4))
    assert tracker.tracked == 9 and tracker.released == 1  # closed before the next measurement
    assert tracker.inits == [0, 0, 0]  # 3 frames tracked per cycle: 9 frames = 3 initialisations on frame 0
    assert (report.runs, report.warmup, report.backend) == (7, 2, "fake")
    assert (report.pre, report.infer, report.post) == (1.0, 2.0, 3.0)
    assert report.p50 <= report.p90 <= report.p99 and report.fps == pytest.approx(1e3 / report.p50)


def test_percentiles_and_timed_calls() -> None:
    stats = percentiles([float(v) for v in range(1, 101)])
    assert stats["p50"] == pytest.approx(50.5) and stats["p90"] == pytest.approx(90.1)
    assert stats["mean"] == pytest.approx(50.5)
    calls = []
    times = time_calls(lambda: calls.append(1), runs=5, warmup=2)
    assert len(times) == 5 and len(calls) == 7 and all(t >= 0 for t in times)


def test_bad_run_counts_are_refused() -> None:
    with pytest.raises(ConfigError, match="runs >= 1"):
        measure_latency(CountingTracker, "x", runs=0, frames=_frames(3))
