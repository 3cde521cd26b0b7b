"""`edgetrack eval`: one-pass evaluation on a benchmark, resumable, with a report."""

from __future__ import annotations

from pathlib import Path

import typer

from edgetrack.console import out
from edgetrack.errors import ConfigError
from edgetrack.eval.benchmarks import BENCHMARKS, Benchmark
from edgetrack.eval.evaluate import evaluate_model
from edgetrack.eval.identity import benchmark_label, model_label
from edgetrack.eval.report import metrics_table, save_plots, write_report
from edgetrack.eval.results import read_result


def draw_strip(name: str, bench: Benchmark, data_root: Path | None, folders: dict[str, Path], path: Path) -> Path:
    """Write the strip of sequence `name` with the boxes in each results folder."""
    from edgetrack.errors import DataError
    from edgetrack.eval.run import benchmark_sequences
    from edgetrack.eval.strip import frame_strip, write_strip
    from edgetrack.registry import suggest

    sequences = {s.name: s for s in benchmark_sequences(bench, data_root)}
    if name not in sequences:
        raise DataError(f"{bench.name} has no sequence '{name}'.{suggest(name, list(sequences))}")
    boxes = {label: read_result(folder, name) for label, folder in folders.items()}
    return write_strip(path, frame_strip(sequences[name], boxes))


def eval_cmd(
    model: list[str] = typer.Option(..., "--model", "-m", help="Model folder, exported artifact, preset with "
                                    "bundled weights (tiny), or an OpenCV baseline: opencv:csrt, opencv:kcf, "
                                    "opencv:mil, opencv:mosse, opencv:medianflow, opencv:vittrack=MODEL.onnx, "
                                    "opencv:nanotrack=BACKBONE.onnx,HEAD.onnx. Repeat to compare several."),
    benchmark: str = typer.Option("synthetic-test", "--benchmark", "-b",
                                  help=f"One of: {', '.join(BENCHMARKS.names())}. 'folder' is your own "
                                  "sequences: --data-root DIR holding NAME/img/*.jpg (or .png) and "
                                  "NAME/groundtruth.txt (x,y,w,h a line; NaN or 0,0,0,0 where the target is "
                                  "absent)."),
    data_root: Path = typer.Option(None, help="Folder holding the benchmark's dataset (not needed for synthetic)."),
    workers: int = typer.Option(1, help="Parallel processes, one sequence each."),
    device: str = typer.Option("cpu", help="Device for torch models: cpu, cuda, cuda:1 ..."),
    out_dir: Path = typer.Option(Path("runs/eval"), "--out", help="Results land in OUT/BENCHMARK/MODEL/; "
                                 "for 'folder', OUT/folder-DIRNAME-HASH/MODEL/, one per data root."),
    strip: list[str] = typer.Option(None, "--strip", help="Also draw every model's boxes on frames of this sequence "
                                    "(repeatable): OUT/BENCHMARK/strip-NAME.png."),
) -> None:
    """Run one-pass evaluation; re-running resumes and only tracks sequences without a complete result."""
    from edgetrack.artifacts import check_out_folder
    from edgetrack.eval.opencv_trackers import is_opencv_spec
    from edgetrack.models.presets import check_model_name
    from edgetrack.runtime.device import torch_device

    check_out_folder(out_dir)
    torch_device(device)
    if workers < 1:
        raise ConfigError(f"--workers {workers}: give 1 or more processes")
    for m in model:
        if not is_opencv_spec(m):
            check_model_name(m)
    bench = BENCHMARKS.get(benchmark)
    label = benchmark_label(bench, data_root)
    reports, folders = {}, {}
    for m in model:
        folder = out_dir / label / model_label(m)
        report = evaluate_model(m, bench, folder, data_root, workers, device)
        folders[model_label(m)] = folder / "results"
        if report is not None:
            reports[model_label(m)] = report
    for name in strip or []:
        path = draw_strip(name, bench, data_root, folders, out_dir / label / f"strip-{name}.png")
        out.print(f"strip: {path}")
    if not reports:
        return
    overall = {name: r["overall"] for name, r in reports.items()}
    out.print(metrics_table(overall, label))
    plots = save_plots(overall, out_dir / label, label)
    write_report({"benchmark": bench.name, "protocol": bench.protocol, "results": overall}, out_dir / label)
    out.print(f"report: {out_dir / label / 'metrics.json'}" + (f", plots: {len(plots)} PNG" if plots else ""))
