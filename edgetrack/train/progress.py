"""Rich progress bar for training: step, losses, p, it/s and ETA."""

from __future__ import annotations

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

from edgetrack.cli.console import err

SHOWN = ("total", "track", "pred", "feat", "iou", "p")


class SpeedColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:.2f} it/s" if task.speed else "-- it/s", style="cyan")


class TrainProgress:
    """A progress bar on stderr; disabled on non-main ranks."""

    def __init__(self, total: int, start: int, enabled: bool = True, label: str = "train") -> None:
        self.progress = Progress(
            TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), SpeedColumn(),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=err, disable=not enabled,
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
