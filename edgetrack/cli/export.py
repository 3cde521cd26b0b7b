"""`edgetrack export`: ONNX with an IO spec and a parity check against the torch model."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.artifacts import read_manifest
from edgetrack.cli.options import REPLACE_OPTION
from edgetrack.console import out


def written(folder: Path, graphs: list[str] | None, precision: str) -> str:
    """The ONNX file(s) of one precision: model[.P].onnx, or each graph's file of a split (MixFormerV2) export."""
    if not graphs:
        return str(folder / ("model.onnx" if precision == "fp32" else f"model.{precision}.onnx"))
    from edgetrack.export.split_variants import graph_file

    return ", ".join(str(graph_file(folder, graph, precision)) for graph in graphs)


def export(
    model: str = typer.Argument(..., help="Model folder (e.g. OUT/student) or a preset with bundled weights."),
    out_dir: Path = typer.Option(..., "--out", help="Artifact folder to write (model.onnx, io_spec.json, ...)."),
    fuse_postprocess: bool = typer.Option(False, help="Put the Hann window, argmax and box decode in the graph."),
    precision: str = typer.Option("fp32", help="Comma-separated: fp32, fp16, int8 (int8 needs --calib)."),
    calib: Path = typer.Option(None, help="Calibration set from `edgetrack calibrate` (for int8)."),
    accuracy_sequences: int = typer.Option(
        0, help="Track this many synthetic-test sequences with every variant and record its AUC (0: skip)."),
    accuracy_gate: float = typer.Option(
        None, help="Refuse the export if a variant's AUC is more than this many points below fp32's."),
    int8_ranges: str = typer.Option("minmax", "--int8-ranges", help="How INT8 activation ranges are set from the "
                                     "calibration crops: minmax (observed extremes), percentile (99.99th, robust to "
                                     "outliers) or entropy (KL-optimal threshold)."),
    int8_attention: bool = typer.Option(True, "--int8-attention/--no-int8-attention", help="Quantise attention's "
                                        "products of two activations (q k^T, attn v) too; --no-int8-attention keeps "
                                        "them in floating point and quantises only layers with weights."),
    int8_float_layers: int = typer.Option(0, "--int8-float-layers", help="Keep the N weight layers whose "
                                          "quantisation moves the decoded box most in floating point (leave-one-out "
                                          "on the calibration crops; one extra quantisation per layer)."),
    dynamic_batch: bool = typer.Option(False, "--dynamic-batch", help="Free the batch axis, so that one call "
                                       "tracks several targets (Tracker.track_many): ONNX Runtime, the cpu build and "
                                       "TensorRT 10 engines (1 to 8 targets per call), not TensorRT 8 targets."),
    replace: bool = REPLACE_OPTION,
) -> None:
    """Export to ONNX (opset 17, static shapes unless --dynamic-batch); fails if outputs differ from torch by more
    than 1e-4."""
    from edgetrack.export.precision import parse_precisions
    from edgetrack.export.run import run_export

    folder = run_export(model, out_dir, fused=fuse_postprocess, precisions=parse_precisions(precision),
                        calib_path=calib, accuracy_sequences=accuracy_sequences, accuracy_gate=accuracy_gate,
                        int8_ranges=int8_ranges, int8_attention=int8_attention, dynamic_batch=dynamic_batch,
                        int8_float_layers=int8_float_layers,
                        replace=replace)
    manifest = read_manifest(folder)
    metrics, graphs = manifest["metrics"], manifest["config"].get("graphs")
    worst = ", ".join(f"{k} {v:.1e}" for k, v in metrics["parity_fp32"].items())
    out.print(f"[green]exported[/green] {written(folder, graphs, 'fp32')} (max abs diff vs torch: {worst})")
    for name, diffs in metrics["parity_vs_fp32"].items():
        out.print(f"  {name}: {written(folder, graphs, name)} (max abs diff vs fp32: "
                  + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()) + ")")
    kept = manifest["config"].get("int8_float_layers")
    if kept:
        out.print(f"  int8 keeps {len(kept)} layer(s) in floating point: {', '.join(kept)}")
    if metrics["auc"]:
        out.print(f"  AUC on {metrics['auc_sequences']} synthetic-test sequences: "
                  + ", ".join(f"{k} {v:.2f}" for k, v in metrics["auc"].items()))
