"""edgetrack's teacher, student and deployed model against OpenCV's trackers on synthetic-test, same frames, one run.

    python -m benchmarks.baselines [--student runs/quickstart/compress/student] [--deployed runs/quickstart/build]
                                   [--models ../shared/models] [--out runs/eval]

Results land where `edgetrack eval --out OUT` puts them, so either reuses the other's (results are keyed by the
tracker's file hashes). VitTrack and NanoTrack are added when their model files are in `--models`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.results_md import append_result, markdown_table
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.identity import model_label
from edgetrack.eval.run import evaluate_results, run_benchmark

CLASSICAL = ("csrt", "kcf", "mil", "mosse", "medianflow")


def trackers(args: argparse.Namespace) -> dict[str, str]:
    """Variant name -> `--model` argument."""
    out = {"teacher": "tiny"}
    if args.student.is_dir():
        out["student"] = str(args.student)
    if args.deployed.is_dir():
        out["deployed"] = str(args.deployed)
    out |= {f"opencv:{n}": f"opencv:{n}" for n in CLASSICAL}
    vit, nano = args.models / "vittrack_2023sep.onnx", args.models / "nanotrack_v2_backbone.onnx"
    if vit.is_file():
        out["opencv:vittrack"] = f"opencv:vittrack={vit}"
    if nano.is_file():
        out["opencv:nanotrack"] = f"opencv:nanotrack={nano},{args.models / 'nanotrack_v2_head.onnx'}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--student", type=Path, default=Path("runs/quickstart/compress/student"))
    parser.add_argument("--deployed", type=Path, default=Path("runs/quickstart/build"))
    parser.add_argument("--models", type=Path, default=Path("../shared/models"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/eval"))
    args = parser.parse_args()
    bench = BENCHMARKS.get("synthetic-test")
    rows = []
    for name, model in trackers(args).items():
        results = args.out / bench.name / model_label(model) / "results"
        sequences = run_benchmark(model, bench, results, workers=args.workers)
        m = evaluate_results(results, sequences, bench.protocol)["overall"]
        rows.append([name, m["auc"], m["op50"], m["precision"], m.get("ms_per_frame", float("nan"))])
        print(f"{name}: AUC {m['auc']:.2f}", flush=True)
    rows.sort(key=lambda r: -r[1])
    header = ["variant", "AUC", "OP50", "P@20", "ms/frame"]
    print(markdown_table(header, rows))
    append_result("edgetrack vs OpenCV trackers on synthetic-test (50 x 150 frames, same frames, one run)", header,
                  rows, notes="teacher: bundled `tiny`; student and deployed: the quickstart's student "
                              "(torch) and its cpu build (ONNX Runtime). ms/frame: mean time of `track()` per frame "
                              "with `--workers` processes sharing the cores; OpenCV trackers get BGR frames. "
                              "Protocol: lasot.")


if __name__ == "__main__":
    main()
