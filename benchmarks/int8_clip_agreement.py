"""Choose an INT8 calibration without ground truth: how closely the INT8 cpu build follows the fp32 model's own
trajectory on the user's unlabeled clips, for several calibration sizes; then score fp32 and the chosen INT8
once on a folder of annotated sequences (evaluation only, never used for the choice).

    python -m benchmarks.int8_clip_agreement --model runs/vittrack --clips ../shared/unlabeled \
        --real ../shared/real [--samples 128,256,512,1024]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from benchmarks.vittrack_students import evaluate
from edgetrack.calibration.run import run_calibrate
from edgetrack.data.sequence import Sequence
from edgetrack.data.unlabeled import read_clips
from edgetrack.deploy.run import run_build
from edgetrack.eval.metrics import iou_xywh
from edgetrack.eval.run import load_tracker, track_sequence
from edgetrack.export.run import run_export


def trajectories(model: str, clips: list[Sequence]) -> list[np.ndarray]:
    tracker = load_tracker(model)
    return [track_sequence(tracker, clip)[0] for clip in clips]


def agreement(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """Mean IoU of two trackers' boxes over every tracked frame of every clip (frame 0, the init, left out)."""
    return float(np.mean(np.concatenate([iou_xywh(x[1:], y[1:]) for x, y in zip(a, b, strict=True)])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="fp32 model folder")
    parser.add_argument("--clips", type=Path, required=True, help="unlabeled clips (NAME/img, NAME/init.txt)")
    parser.add_argument("--real", type=Path, required=True, help="annotated sequences, for the final score only")
    parser.add_argument("--samples", default="128,256,512,1024")
    parser.add_argument("--ranges", default="minmax", help="comma-separated INT8 range rules to compare "
                        "(minmax, percentile, entropy), each with every --samples")
    parser.add_argument("--attention", default="int8", help="comma-separated: int8 (attention products quantised) "
                        "and/or fp32 (`export --no-int8-attention`), each with every rule and size")
    parser.add_argument("--float-layers", default="0", help="comma-separated counts of weight layers kept in float "
                        "(`export --int8-float-layers`, chosen on the calibration crops), each with every variant")
    parser.add_argument("--out", type=Path, default=Path("runs/int8-clip-agreement"))
    args = parser.parse_args()

    clips = [Sequence(c.name, list(c.frames), c.init_box[None]) for c in read_clips(args.clips)]
    fp32_export = run_export(args.model, args.out / "fp32", precisions=["fp32"])
    fp32 = trajectories(str(fp32_export), clips)
    rows, builds = [], {}
    for samples in (int(s) for s in args.samples.split(",")):
        calib = args.out / f"calib-{samples}.npz"
        if not calib.is_file():
            run_calibrate(args.model, f"unlabeled:{args.clips}", None, samples, 0, calib)
        for ranges, attention, kept in ((r, a, int(k)) for r in args.ranges.split(",")
                                        for a in args.attention.split(",") for k in args.float_layers.split(",")):
            suffix = (" attention-fp32" if attention == "fp32" else "") + (f" float-{kept}" if kept else "")
            name = f"int8 {ranges} {samples}{suffix}"
            tag = f"{ranges}-{samples}{suffix.replace(' ', '-')}"
            export = run_export(args.model, args.out / f"export-{tag}", precisions=["fp32", "int8"],
                                calib_path=calib, int8_ranges=ranges, int8_attention=attention != "fp32",
                                int8_float_layers=kept, replace=True)
            builds[name] = run_build(export, "cpu", "int8", args.out / f"int8-{tag}", log=lambda _: None,
                                     replace=True)
            rows.append([name, samples, agreement(fp32, trajectories(str(builds[name]), clips))])
            print(f"{name}: mean IoU with fp32 on the clips {rows[-1][2]:.4f}", flush=True)
    best = max(rows, key=lambda r: r[2])[0]
    real_fp32 = evaluate(str(fp32_export), args.out / "eval-fp32", "folder", args.real, 2)
    real_int8 = evaluate(str(builds[best]), args.out / f"eval-{best.replace(' ', '-')}", "folder", args.real, 2)
    rows = [["fp32", "-", 1.0, real_fp32]] + [r + [real_int8 if r[0] == best else "-"] for r in rows]
    header = ["variant", "samples", "IoU with fp32 on clips", "AUC real"]
    print(markdown_table(header, rows))
    append_result(f"INT8 calibration chosen on unlabeled clips by agreement with fp32, then scored on {args.real.name}",
                  header, rows, notes=f"Calibration: `calibrate --data unlabeled:{args.clips}` (the fp32 model's own "
                  f"trajectory, seed 0), range rules {args.ranges} (`export --int8-ranges`), attention products "
                  f"{args.attention} (`--no-int8-attention`: fp32), weight layers kept in float {args.float_layers} "
                  "(`--int8-float-layers`), cpu build INT8 (ONNX "
                  "Runtime). `IoU with fp32 on clips`: mean IoU of the INT8 and fp32 trackers' boxes on the clips "
                  "(no ground truth). Only the calibration with the highest agreement is scored on the annotated "
                  "sequences.")


if __name__ == "__main__":
    main()
