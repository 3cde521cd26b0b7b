"""Evaluation reports: rich table, JSON, success and precision plots."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table

from edgetrack.artifacts import write_json
from edgetrack.eval.metrics import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS


def metrics_table(results: Mapping[str, Mapping[str, Any]], title: str) -> Table:
    """One row per result set (name -> overall metrics)."""
    protocol = next(iter(results.values())).get("protocol", "lasot") if results else "lasot"
    table = Table(title=f"{title} (protocol: {protocol})")
    cols = ["AUC", "OP50", "OP75", "P@20", "Pnorm@0.20"] + (["AO", "SR0.5", "SR0.75"] if protocol == "got10k" else [])
    keys = ["auc", "op50", "op75", "precision", "norm_precision", "ao", "sr50", "sr75"][: len(cols)]
    if any("ms_per_frame" in m for m in results.values()):
        cols, keys = [*cols, "ms/frame"], [*keys, "ms_per_frame"]
    table.add_column("tracker", style="bold")
    for col in cols:
        table.add_column(col, justify="right")
    for name, m in results.items():
        table.add_row(name, *[f"{m[k]:.2f}" if k in m else "-" for k in keys])
    return table


def save_plots(results: Mapping[str, Mapping[str, Any]], folder: Path, title: str) -> list[Path]:
    """success.png and precision.png comparing result sets; nothing when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plots are optional; the JSON holds the same curves
        return []
    paths = []
    for key, xs, xlabel, at in (("success_curve", SUCCESS_THRESHOLDS, "overlap threshold", "auc"),
                                ("precision_curve", PRECISION_THRESHOLDS, "location error threshold (px)",
                                 "precision"),
                                ("norm_precision_curve", NORM_PRECISION_THRESHOLDS, "normalised error threshold",
                                 "norm_precision")):
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        ranked = sorted(results.items(), key=lambda kv: -kv[1][at])
        for name, m in ranked:
            ax.plot(xs, m[key], label=f"{name} [{m[at]:.1f}]")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("rate (%)")
        ax.set_title(f"{title}: {key.replace('_curve', '').replace('_', ' ')}")
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left" if key == "success_curve" else "lower right", fontsize=8)
        path = folder / f"{key.replace('_curve', '')}.png"
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def write_report(report: Mapping[str, Any], folder: Path) -> Path:
    path = folder / "metrics.json"
    write_json(path, report)
    return path
