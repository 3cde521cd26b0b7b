"""Evaluation reports: rich table, JSON, success and precision plots."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table

from edgetrack.artifacts import write_json
from edgetrack.eval.metrics import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS


def _sequence_count(results: Mapping[str, Mapping[str, Any]]) -> int | None:
    """The `num_sequences` every result set shares; None when they differ or one lacks it."""
    counts = {m.get("num_sequences") for m in results.values()}
    return counts.pop() if len(counts) == 1 and None not in counts else None


def metrics_table(results: Mapping[str, Mapping[str, Any]], title: str) -> Table:
    """One row per result set (name -> overall metrics); AUC is labelled with the sequences it averages."""
    protocol = next(iter(results.values())).get("protocol", "lasot") if results else "lasot"
    table = Table(title=f"{title} (protocol: {protocol})")
    count = _sequence_count(results)
    # an AUC means little without the number of sequences it averages; the pipeline report spells it the same way
    auc = f"AUC ({count} seq)" if count is not None else "AUC"
    cols = [auc, "OP50", "OP75", "P@20", "Pnorm@0.20"] + (["AO", "SR0.5", "SR0.75"] if protocol == "got10k" else [])
    keys = ["auc", "op50", "op75", "precision", "norm_precision", "ao", "sr50", "sr75"][: len(cols)]
    if count is None and results:  # the sets differ (or some lack a count): give each row its own
        cols, keys = [*cols, "seqs"], [*keys, "num_sequences"]
    if any("ms_per_frame" in m for m in results.values()):
        cols, keys = [*cols, "ms/frame"], [*keys, "ms_per_frame"]
    table.add_column("tracker", style="bold")
    for col in cols:
        table.add_column(col, justify="right")
    for name, m in results.items():
        table.add_row(name, *[_cell(m, k) for k in keys])
    return table


def _cell(metrics: Mapping[str, Any], key: str) -> str:
    """A table cell: rates with two decimals, counts as integers, '-' where the metric is missing."""
    if metrics.get(key) is None:
        return "-"
    return str(int(metrics[key])) if key == "num_sequences" else f"{metrics[key]:.2f}"


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
