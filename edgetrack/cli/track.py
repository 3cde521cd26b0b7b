"""`edgetrack track`: run a tracker on a video, image folder, camera, stream or GStreamer pipeline."""

from __future__ import annotations

import json
import math
import os
import statistics
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import typer

from edgetrack.console import err, out
from edgetrack.errors import ArtifactError, ConfigError, TrackingError

RESULT_SUFFIXES = (".txt", ".jsonl")
PLAIN_LOG_EVERY_S = 5.0  # without a terminal, one progress line this often


def parse_box(text: str) -> tuple[float, float, float, float]:
    """`x,y,w,h` (commas or spaces) as four floats."""
    parts = text.replace(",", " ").split()
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise typer.BadParameter(f"'{text}' is not a box; give x,y,w,h in pixels, e.g. --init 120,80,40,60")
    if not all(math.isfinite(v) for v in values):
        raise typer.BadParameter(f"'{text}' has a value that is not a finite number; give x,y,w,h in pixels, "
                                 "e.g. --init 120,80,40,60")
    return values  # type: ignore[return-value]


class ResultsFile:
    """Per-frame results: `.txt` one `x,y,w,h` line per source frame, `.jsonl` one JSON object per frame.

    In `.txt`, a frame the source could not decode gets a `nan,nan,nan,nan` line, so line N stays frame N.
    """

    def __init__(self, path: Path) -> None:
        if path.suffix.lower() not in RESULT_SUFFIXES:
            raise ArtifactError(f"results file {path} must end in .txt (x,y,w,h per line) or .jsonl (JSON per frame)")
        if not path.parent.is_dir():
            raise ArtifactError(f"cannot write results {path}: folder {path.parent} does not exist")
        self.jsonl = path.suffix.lower() == ".jsonl"
        # written beside the target and renamed at the end: a failed run leaves no partial results file
        self.path = path
        self._tmp = path.with_name(f".{path.name}.partial")
        self._file: IO[str] = self._tmp.open("w", encoding="utf-8")
        self._next = 0

    def write(self, result: Any) -> None:
        if self.jsonl:
            record = {"frame": result.index, "box": [round(v, 2) for v in result.box],
                      "score": None if result.score is None else round(result.score, 4), "lost": result.lost,
                      "timings": {k: round(v, 3) for k, v in result.timings.items()}}
            self._file.write(json.dumps(record) + "\n")
            return
        self._file.write("nan,nan,nan,nan\n" * max(0, result.index - self._next))
        self._file.write(",".join(f"{v:.2f}" for v in result.box) + "\n")
        self._next = result.index + 1

    def close(self, keep: bool = True) -> None:
        """Publish the results (`keep`) or discard them (the run failed)."""
        self._file.close()
        if keep:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)


class TrackProgress:
    """Frame count, FPS and lost flags: a live rich line on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, name: str, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.plain = not err.is_terminal
        self.name, self.total = name, total
        self.progress = Progress(TextColumn("[bold]track"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=err,
                                 disable=self.plain)
        self.task = self.progress.add_task("track", total=total, stats="")
        self._last_log = time.perf_counter()

    def __enter__(self) -> TrackProgress:
        self.progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.progress.stop()

    def update(self, frames: int, fps: float, lost: int) -> None:
        stats = f"{fps:5.1f} FPS  lost {lost}"
        self.progress.update(self.task, completed=frames, stats=stats)
        now = time.perf_counter()
        if self.plain and now - self._last_log >= PLAIN_LOG_EVERY_S:
            self._last_log = now
            of = f"/{self.total}" if self.total else ""
            err.print(f"track {self.name}: {frames}{of} frames, {stats}", highlight=False)


class Stats:
    """Per-stage timings and counters for the summary; `fps` is a smoothed end-to-end rate for the overlay."""

    def __init__(self) -> None:
        self.stages: dict[str, list[float]] = {"pre": [], "infer": [], "post": []}
        self.frames = self.lost = 0
        self.fps = 0.0
        self.start = self._last = time.perf_counter()

    def add(self, result: Any) -> None:
        now = time.perf_counter()
        if self.frames:
            rate = 1.0 / max(now - self._last, 1e-9)
            self.fps = rate if self.fps == 0 else 0.9 * self.fps + 0.1 * rate
        self._last = now
        self.frames += 1
        self.lost += int(result.lost)
        for key, values in self.stages.items():
            if key in result.timings:
                values.append(result.timings[key])

    def summary(self, skipped: int, lost_below: float) -> str:
        wall = max(time.perf_counter() - self.start, 1e-9)
        lines = [f"{self.frames} frames in {wall:.1f} s ({self.frames / wall:.1f} FPS end to end, with reading "
                 f"and writing); {skipped} skipped; {self.lost} flagged lost (score < {lost_below:g})"]
        if self.stages["infer"]:
            med = {k: statistics.median(v) for k, v in self.stages.items()}
            total = sum(med.values())
            lines.append(f"median ms: pre {med['pre']:.2f}  infer {med['infer']:.2f}  post {med['post']:.2f}  "
                         f"total {total:.2f} -> tracker {1e3 / max(total, 1e-9):.1f} FPS")
        return "\n".join(lines)


def check_track_options(device: str, lost_below: float, max_frames: int, out_fps: float, out_video: Path | None,
                        results: Path | None) -> None:
    """Refuse out-of-range options before a model is loaded or a file is opened."""
    from edgetrack.artifacts import check_out_file
    from edgetrack.runtime.device import torch_device

    torch_device(device)
    if not 0.0 <= lost_below <= 1.0:  # NaN fails this too
        raise ConfigError(f"--lost-below {lost_below}: give a score between 0 and 1 (the score map's peak)")
    if max_frames < 0:
        raise ConfigError(f"--max-frames {max_frames}: give 0 (the whole source) or a positive count")
    if not (out_fps == 0 or 0 < out_fps <= 1000):
        raise ConfigError(f"--out-fps {out_fps}: give a frame rate above 0 (or 0 for the source's)")
    for option, path in (("--out", out_video), ("--results", results)):
        if path is not None:
            check_out_file(path, f"the file to write for {option}")


def track(
    source: str = typer.Argument(..., help="Video file, image folder, camera index (0), stream URL (rtsp://...) or "
                                 "GStreamer pipeline ('... ! appsink')."),
    model: str = typer.Option(..., "--model", "-m", help="Model folder, export folder (model.onnx + io_spec.json), "
                              "or a preset with bundled weights (tiny)."),
    init: str = typer.Option(..., "--init", help="Target box in the first frame: x,y,w,h in pixels."),
    out_video: Path = typer.Option(None, "--out", "-o", help="Write the annotated video here (.mp4, .avi, ...)."),
    results: Path = typer.Option(None, "--results", "-r", help="Write per-frame results: .txt (x,y,w,h lines) or "
                                 ".jsonl (frame, box, score, lost, timings)."),
    backend: str = typer.Option("auto", help="auto (ONNX Runtime for exports, else torch), torch or onnxruntime."),
    device: str = typer.Option("cpu", help="Device for torch models: cpu, cuda, cuda:1 ..."),
    lost_below: float = typer.Option(0.3, "--lost-below", help="Flag the target as probably lost when the score "
                                     "(peak of the score map, 0-1) is below this; drawn in red."),
    show: bool = typer.Option(False, "--show/--no-show", help="Show the annotated frames in a window (q quits)."),
    max_frames: int = typer.Option(0, "--max-frames", help="Stop after this many frames (0: until the source ends)."),
    out_fps: float = typer.Option(0.0, "--out-fps", help="Frame rate of the output video (0: the source's, or 30)."),
) -> None:
    """Track one target from the box given for the first frame; prints per-stage timings at the end."""
    from edgetrack.models.presets import check_model_name
    from edgetrack.runtime.video import Display, VideoSink, open_source, track_frames

    box = parse_box(init)
    check_track_options(device, lost_below, max_frames, out_fps, out_video, results)
    check_model_name(model)
    from edgetrack.runtime.tracker import Tracker

    stats = Stats()
    with Tracker.from_artifact(model, backend, device) as tracker, open_source(source) as src:
        sink = VideoSink(out_video, out_fps or src.fps or 30.0) if out_video else None
        writer = ResultsFile(results) if results else None
        display = Display() if show else None
        total = min(src.length or 0, max_frames or (src.length or 0)) or None
        failed = True
        try:
            with TrackProgress(Path(source).name or source, total) as bar:
                for result in track_frames(tracker, src.frames(warn=_warn), box, lost_below):
                    if not _emit(result, stats, sink, writer, display):
                        break
                    bar.update(stats.frames, stats.fps, stats.lost)
                    if max_frames and stats.frames >= max_frames:
                        break
            failed = False
        except KeyboardInterrupt:
            failed = False  # what was tracked until then is valid
            err.print("stopped by the user", highlight=False)
        except TrackingError as exc:
            if stats.frames:
                raise
            # nothing tracked yet, so the first frame refused the box: say which option to fix
            raise TrackingError(f"--init {init}: {exc}; give x,y,w,h in pixels of the first frame of {source}") from exc
        finally:
            if writer is not None:
                writer.close(keep=not failed)
            if sink is not None:
                sink.close(keep=not failed)
            if display is not None:
                display.close()
        out.print(stats.summary(src.skipped, lost_below), highlight=False, soft_wrap=True)
    for label, path in (("annotated video", out_video), ("results", results)):
        if path:
            out.print(f"{label}: {path}", highlight=False, soft_wrap=True)


def _emit(result: Any, stats: Any, sink: Any, writer: Any, display: Any) -> bool:
    """Record one frame everywhere it goes; False when the user closed the window."""
    from edgetrack.runtime.video import annotate

    stats.add(result)
    if writer is not None:
        writer.write(result)
    if sink is None and display is None:
        return True
    frame = annotate(result, stats.fps)
    if sink is not None:
        sink.write(frame)
    return display.show(frame) if display is not None else True


def _warn(message: str) -> None:
    from rich.markup import escape

    err.print(f"[yellow]warning:[/yellow] {escape(message)}", highlight=False)
