"""`edgetrack label`: pseudo-label a folder of unlabeled clips and write the labels where people can look."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from edgetrack.cli.train import LABELER_HELP
from edgetrack.console import err, out


def label(
    clips: Path = typer.Argument(..., help="Folder of clips: NAME/img/*.jpg (or .png) and NAME/init.txt (x,y,w,h)."),
    labeler: str = typer.Option(..., help=LABELER_HELP.replace(" [the teacher / the starting model]", "")),
    out_dir: Path = typer.Option(..., "--out", help="Folder for OUT/NAME/{groundtruth.txt, confidence.txt, img}."),
    min_score: float = typer.Option(None, help="Keep a frame only when the labeler's score reaches this. [0.3]"),
    min_fb_iou: float = typer.Option(None, help="... and its forward-backward IoU reaches this. [0.5]"),
    fb_window: int = typer.Option(None, help="Frames between forward-backward checkpoints. [10]"),
    device: str = typer.Option("cpu", help="Device of a model labeler: cpu, cuda, cuda:1 ..."),
) -> None:
    """Track each clip with the labeler and keep the frames it is sure of (score and forward-backward check).

    Frames not kept are NaN in groundtruth.txt (absent); confidence.txt holds score, fb_iou and kept per frame.
    The labels are the ones training with --data unlabeled:CLIPS --labeler SPEC uses (same cache). View them
    with: edgetrack eval --benchmark folder --data-root OUT --model M --strip NAME
    """
    from edgetrack.config.base import build_config
    from edgetrack.data.pseudo_labels import LabelConfig, export_labels, labeler_for_spec

    settings = {"min_score": min_score, "min_fb_iou": min_fb_iou, "fb_window": fb_window}
    cfg = build_config(LabelConfig, {k: v for k, v in settings.items() if v is not None})
    summaries = export_labels(clips, labeler_for_spec(labeler, device), out_dir, cfg, progress=err.print)
    table = Table("clip", "frames", "kept", "mean score", "mean fb IoU")
    for s in summaries:
        table.add_row(s["clip"], str(s["frames"]), f"{s['kept']} ({s['kept'] / s['frames']:.0%})",
                      f"{s['mean_score']:.3f}", f"{s['mean_fb_iou']:.3f}")
    out.print(table)
    out.print(f"[green]labels written to[/green] {out_dir}")
