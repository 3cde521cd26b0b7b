"""`edgetrack bench`: per-frame latency, FPS, stage breakdown and memory of one or more trackers, side by side."""

from __future__ import annotations

import json
import os
import platform
from typing import Any

import typer

from edgetrack.console import err, out


def ratios(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each report with `speedup_vs_first` (first p50 / this p50) and `memory_vs_first` (peak RSS ratio)."""
    base = reports[0]
    rows = []
    for r in reports:
        memory = None
        if r["peak_rss_mb"] and base["peak_rss_mb"]:
            memory = r["peak_rss_mb"] / base["peak_rss_mb"]
        rows.append({**r, "speedup_vs_first": base["p50"] / max(r["p50"], 1e-9), "memory_vs_first": memory})
    return rows


def bench_table(rows: list[dict[str, Any]], caption: str) -> Any:
    """A rich table: one row per tracker, times in ms, ratios against the first row."""
    from rich.table import Table

    table = Table(title="latency per frame (ms), batch 1", caption=caption)
    for column in ("artifact", "backend", "p50", "p90", "p99", "FPS", "pre", "infer", "post", "peak RSS MB",
                   "speed-up", "memory"):
        table.add_column(column, justify="left" if column in ("artifact", "backend") else "right")
    for r in rows:
        memory = "-" if r["memory_vs_first"] is None else f"{r['memory_vs_first']:.2f}x"
        rss = "-" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f}"
        table.add_row(r["name"], r["backend"], *(f"{r[k]:.2f}" for k in ("p50", "p90", "p99")), f"{r['fps']:.1f}",
                      *(f"{r[k]:.2f}" for k in ("pre", "infer", "post")), rss, f"{r['speedup_vs_first']:.2f}x",
                      memory)
    return table


def bench(
    artifacts: list[str] = typer.Argument(..., help="Model folders, export folders or presets with bundled weights "
                                          "(tiny); the first is the reference for the ratios."),
    backend: str = typer.Option("auto", help="auto (ONNX Runtime for exports, else torch), torch or onnxruntime; "
                                "applies to every artifact."),
    device: str = typer.Option("cpu", help="Device for torch models: cpu, cuda, cuda:1 ..."),
    runs: int = typer.Option(100, min=1, help="Timed frames per artifact."),
    warmup: int = typer.Option(10, min=0, help="Untimed frames first (allocations, caches, lazy init)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one object per artifact) instead of a table."),
) -> None:
    """Time `Tracker.track` on synthetic frames: p50/p90/p99, FPS, pre/infer/post and peak resident memory."""
    from edgetrack.eval.latency import bench_frames, measure_latency
    from edgetrack.runtime.tracker import Tracker

    frames = bench_frames()
    reports = []
    for artifact in artifacts:
        if not json_out:
            err.print(f"timing {artifact} ({warmup} + {runs} frames)", highlight=False)
        load = lambda a=artifact: Tracker.from_artifact(a, backend, device)  # noqa: E731
        report = measure_latency(load, artifact, runs, warmup, frames)
        reports.append(report.to_dict())
    rows = ratios(reports)
    if json_out:
        out.print(json.dumps(rows, indent=2), highlight=False, soft_wrap=True)
        return
    caption = (f"{runs} timed frames after {warmup} warm-up frames on {platform.machine()} with {os.cpu_count()} "
               "CPUs; speed-up = first p50 / this p50, memory = this peak RSS / first peak RSS")
    out.print(bench_table(rows, caption))
