"""OpenCV's VitTrack through edgetrack's whole chain, against `cv2.TrackerVit` on the same real frames.

Import the ONNX file's weights, calibrate (on synthetic-train, or with `--calib-data unlabeled:DIR` along the
model's own trajectory on the user's clips), export fp32/fp16/INT8, build for the cpu target
(fp32 and INT8: the INT8 build is the export's Q/DQ model), then track a folder of real sequences with every
variant and with OpenCV's own tracker, in one process, one sequence at a time, with the same thread count for
torch, ONNX Runtime and OpenCV.

    python -m benchmarks.vittrack_chain --weights object_tracking_vittrack_2023sep.onnx --real ../shared/real \
        [--calib-data unlabeled:../shared/unlabeled]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks.results_md import append_result, markdown_table
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.identity import model_label
from edgetrack.eval.run import evaluate_results, run_benchmark


def edgetrack(*args: str) -> None:
    """Run one `edgetrack` command as a user would; stop on failure."""
    print("$ edgetrack " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "edgetrack", *args], check=True)


def build_chain(weights: Path, out: Path, calib_data: str = "synthetic-train") -> dict[str, str]:
    """Every artifact of the chain (made once, reused on re-runs): variant -> `--model` argument."""
    model, calib, export = out / "model", out / "calib", out / "export"
    if not (model / "config.json").is_file():
        edgetrack("models", "import", "vittrack", "--checkpoint", str(weights), "--out", str(model))
    if not calib.is_dir():
        edgetrack("calibrate", "-m", str(model), "--data", calib_data, "--samples", "256", "--out", str(calib))
    if not (export / "model.int8.onnx").is_file():
        edgetrack("export", str(model), "--out", str(export), "--precision", "fp32,fp16,int8", "--calib", str(calib))
    variants = {"torch": str(model), "onnx fp32": str(export)}
    for precision in ("fp32", "int8"):
        build = out / f"build-cpu-{precision}"
        if not build.is_dir():
            edgetrack("build", str(export), "--target", "cpu", "--precision", precision, "--out", str(build))
        variants[f"cpu build {precision}"] = str(build)
    variants["opencv:vittrack"] = f"opencv:vittrack={weights}"
    return variants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="OpenCV's VitTrack ONNX file")
    parser.add_argument("--real", type=Path, required=True, help="folder of real sequences (NAME/img, groundtruth.txt)")
    parser.add_argument("--calib-data", default="synthetic-train", help="calibrate --data of the INT8 export")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/vittrack-chain"))
    args = parser.parse_args()

    import cv2
    import torch

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)  # ONNX Runtime uses one thread per physical core by default
    bench = BENCHMARKS.get("folder")
    rows = []
    for name, model in build_chain(args.weights, args.out, args.calib_data).items():
        results = args.out / "eval" / model_label(model) / "results"
        sequences = run_benchmark(model, bench, results, args.real, workers=1)
        m = evaluate_results(results, sequences, bench.protocol)["overall"]
        rows.append([name, m["auc"], m["op50"], m["precision"], m.get("ms_per_frame", float("nan"))])
        print(f"{name}: AUC {m['auc']:.2f}, {rows[-1][-1]:.2f} ms/frame", flush=True)
    header = ["variant", "AUC", "OP50", "P@20", "ms/frame"]
    print(markdown_table(header, rows))
    append_result(f"VitTrack through the chain vs cv2.TrackerVit on {args.real.name} (real footage, one run)", header,
                  rows, notes=f"Sequences: every folder of `{args.real}`, OPE, lasot protocol. torch: the imported "
                              "model; onnx fp32: the export on ONNX Runtime; cpu build: `edgetrack build "
                              f"--target cpu`, INT8 calibrated on `{args.calib_data}` (256 samples); "
                              "opencv:vittrack: `cv2.TrackerVit` on the same file, BGR frames. "
                              f"ms/frame: mean time of one `track()` call, {args.threads} threads each, sequences "
                              "one at a time.")


if __name__ == "__main__":
    main()
