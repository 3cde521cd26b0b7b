"""Latency of a tracker on this machine: per-frame p50/p90/p99, FPS, pre/infer/post medians and peak memory.

Frames come from a built-in synthetic sequence, so the numbers need no data and are comparable between
machines: the tracker is initialised on the first frame, then tracks the following frames, starting over
(with a fresh initialisation, untimed) when it reaches the end, until `warmup + runs` frames are tracked.
A frame's latency is the wall time of `Tracker.track`, which includes what its pre/infer/post timings miss.

Memory is the resident set size. On Linux the peak is reset before each measurement (`/proc/self/clear_refs`),
so each tracker gets its own peak; elsewhere the peak is the process's since it started (`resource.getrusage`),
and `rss_growth_mb` is left out because it would mix trackers measured earlier in the same process.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.errors import ConfigError

BENCH_SEED = 1_000_000  # synthetic-test's first sequence
BENCH_FRAMES = 60  # frames rendered once and cycled; enough motion for realistic crops


@dataclass(frozen=True)
class LatencyReport:
    """One tracker's timings in ms (per `track` call) and memory in MB."""

    name: str
    backend: str
    runs: int
    warmup: int
    p50: float
    p90: float
    p99: float
    mean: float
    fps: float  # 1000 / p50
    pre: float  # medians of the tracker's own stage timings
    infer: float
    post: float
    load_ms: float
    peak_rss_mb: float | None
    rss_growth_mb: float | None  # peak while loading and running, minus the resident set before loading

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_calls(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    """Wall time in ms of `runs` calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def percentiles(times_ms: list[float]) -> dict[str, float]:
    """p50, p90, p99 and mean of a list of times."""
    a = np.asarray(times_ms, dtype=np.float64)
    return {"p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def bench_frames(count: int = BENCH_FRAMES, seed: int = BENCH_SEED) -> tuple[list[np.ndarray], np.ndarray]:
    """`count` RGB frames of a synthetic sequence and its first box (x, y, w, h)."""
    from edgetrack.data.synthetic import synthetic_sequence

    seq = synthetic_sequence(seed, max(count, 2))
    return [seq.frame(i) for i in range(max(count, 2))], seq.init_box


class _Cycle:
    """Tracks frame after frame, re-initialising on frame 0 at the end of the list; keeps the stage timings."""

    def __init__(self, tracker: Any, frames: list[np.ndarray], box: np.ndarray) -> None:
        self.tracker, self.frames, self.box = tracker, frames, box
        self.position = len(frames)
        self.stages: dict[str, list[float]] = {"pre": [], "infer": [], "post": []}

    def restart_if_done(self) -> None:
        if self.position >= len(self.frames):
            self.tracker.initialize(self.frames[0], self.box)
            self.position = 1

    def step(self) -> None:
        result = self.tracker.track(self.frames[self.position])
        self.position += 1
        for key, values in self.stages.items():
            values.append(result.timings.get(key, 0.0))


def _run(cycle: _Cycle, count: int) -> list[float]:
    times = []
    for _ in range(count):
        cycle.restart_if_done()  # outside the timed region
        start = time.perf_counter()
        cycle.step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def measure_latency(load: Callable[[], Any], name: str, runs: int = 100, warmup: int = 10,
                    frames: tuple[list[np.ndarray], np.ndarray] | None = None) -> LatencyReport:
    """Load a tracker with `load()` and time `runs` frames after `warmup`; the tracker is released afterwards."""
    if runs < 1 or warmup < 0:
        raise ConfigError(f"latency needs runs >= 1 and warmup >= 0; got runs={runs}, warmup={warmup}")
    images, box = frames if frames is not None else bench_frames()
    gc.collect()
    separate = reset_peak_rss()
    before = rss_mb()
    start = time.perf_counter()
    tracker = load()
    load_ms = (time.perf_counter() - start) * 1e3
    cycle = _Cycle(tracker, images, box)
    _run(cycle, warmup)
    cycle.stages = {k: [] for k in cycle.stages}
    times = _run(cycle, runs)
    peak = peak_rss_mb()
    stages = {k: statistics.median(v) for k, v in cycle.stages.items()}
    backend = str(getattr(getattr(tracker, "backend", None), "name", "?"))
    tracker.close()  # free the model (sessions, device memory) before the next measurement
    del cycle, tracker
    gc.collect()
    stats = percentiles(times)
    growth = None if not separate or peak is None or before is None else max(0.0, peak - before)
    return LatencyReport(name=name, backend=backend, runs=runs, warmup=warmup, p50=stats["p50"], p90=stats["p90"],
                         p99=stats["p99"], mean=stats["mean"], fps=1e3 / max(stats["p50"], 1e-9),
                         pre=stages["pre"], infer=stages["infer"], post=stages["post"], load_ms=load_ms,
                         peak_rss_mb=peak, rss_growth_mb=growth)


def rss_mb() -> float | None:
    """Current resident set size in MB (psutil if installed, else /proc), or None where unknown."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return psutil.Process().memory_info().rss / 2**20
    return _proc_status_mb("VmRSS")


def peak_rss_mb() -> float | None:
    """Peak resident set size in MB: since the last `reset_peak_rss` on Linux, since start elsewhere."""
    peak = _proc_status_mb("VmHWM")
    if peak is not None:
        return peak
    try:
        import resource
    except ImportError:  # Windows
        return None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 2**10  # bytes on macOS, KiB elsewhere


def reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS mark for this process (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _proc_status_mb(key: str) -> float | None:
    """A `kB` field of /proc/self/status in MB, or None off Linux."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return float(line.split()[1]) / 1024
    return None
