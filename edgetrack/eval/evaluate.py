"""Evaluate one tracker on one benchmark with a progress bar: track (resuming), then score or write a submission."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from edgetrack.console import err, out
from edgetrack.eval.benchmarks import Benchmark
from edgetrack.eval.identity import model_label
from edgetrack.eval.report import write_report
from edgetrack.eval.results import read_result, read_times, write_got10k_submission, write_trackingnet_submission
from edgetrack.eval.run import evaluate_results, run_benchmark


def evaluate_model(model: str, bench: Benchmark, folder: Path, data_root: Path | None, workers: int,
                   device: str) -> dict[str, Any] | None:
    """Track (resuming), then score or write the submission; returns the report (None for hidden GT)."""
    results_dir = folder / "results"
    with Progress(TextColumn(f"[bold]{model_label(model)}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task("eval", total=None)
        sequences = run_benchmark(model, bench, results_dir, data_root, workers, device,
                                  progress=lambda name: bar.advance(task),
                                  notice=lambda text: err.print(f"[yellow]{text}[/yellow]"))
        bar.update(task, total=len(sequences))
    if not bench.public_gt:
        boxes = {s.name: read_result(results_dir, s.name) for s in sequences}
        if bench.submission == "got10k":
            times = {s.name: read_times(results_dir, s.name) for s in sequences}
            path = write_got10k_submission(folder / "submission", boxes, times)
        else:
            path = write_trackingnet_submission(folder / "submission", boxes)
        out.print(f"submission for the {bench.name} server written to {path}")
        return None
    report = evaluate_results(results_dir, sequences, bench.protocol)
    report["model"], report["benchmark"] = model, bench.name
    write_report(report, folder)
    return report
