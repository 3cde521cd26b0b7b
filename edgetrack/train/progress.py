"""Rich progress bar for training: step, losses, p, it/s and ETA."""

from __future__ import annotations

import time
from types import TracebackType

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from edgetrack.console import err

SHOWN = ("total", "track", "pred", "feat", "iou", "p")


class SpeedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.2f} it/s" if task.speed else "-- it/s", style="cyan")


class TrainProgress:
    """A progress bar on stderr; disabled on non-main ranks."""

    def __init__(self, total: int, start: int, enabled: bool = True, label: str = "train",
                 log_every: int = 20) -> None:
        # without a terminal the bar cannot redraw: log a plain line every `log_every` steps instead
        self.plain = enabled and not err.is_terminal
        self.enabled, self.total, self.label, self.log_every = enabled, total, label, log_every
        self.start_step, self.start_time = start, time.perf_counter()
        self.progress = Progress(
            TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), SpeedColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=err, disable=not enabled or self.plain,
        )
        self.task = self.progress.add_task(label, total=total, completed=start, stats="")

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def update(self, step: int, values: dict[str, float]) -> None:
        stats = " ".join(f"{k} {values[k]:.3f}" for k in SHOWN if k in values)
        self.progress.update(self.task, completed=step, stats=stats)
        if self.plain and (step % self.log_every == 0 or step == self.total):
            rate = (step - self.start_step) / max(time.perf_counter() - self.start_time, 1e-9)
            eta = (self.total - step) / rate if rate > 0 else float("nan")
            err.print(f"{self.label} {step}/{self.total} {stats} {rate:.2f} it/s eta {eta / 60:.1f} min",
                      highlight=False)
