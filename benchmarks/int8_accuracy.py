"""INT8 vs fp32 tracking accuracy of a trained model: calibrate, export both variants, track synthetic-test
with ONNX Runtime, and append AUC, the drop, and the tensor differences to RESULTS.md.

    python -m benchmarks.int8_accuracy --model runs/quickstart/compress/student [--samples 512] [--sequences 50]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.results_md import append_result, markdown_table
from edgetrack.artifacts import read_manifest
from edgetrack.calibration.run import run_calibrate
from edgetrack.export.run import run_export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="trained model folder (e.g. a compress stage's student)")
    parser.add_argument("--samples", type=int, default=512, help="calibration samples from synthetic-train")
    parser.add_argument("--sequences", type=int, default=50, help="synthetic-test sequences tracked per variant")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        calib = Path(tmp) / "calib.npz"
        run_calibrate(args.model, "synthetic", None, args.samples, args.seed, calib)
        folder = run_export(args.model, Path(tmp) / "export", precisions=["fp32", "int8"], calib_path=calib,
                            accuracy_sequences=args.sequences)
        metrics = read_manifest(folder)["metrics"]
    auc, diffs = metrics["auc"], metrics["parity_vs_fp32"]["int8"]
    rows = [["fp32", auc["fp32"], 0.0, 0.0],
            ["int8", auc["int8"], auc["int8"] - auc["fp32"], max(diffs.values())]]
    header = ["variant", "AUC", "AUC change", "max abs diff vs fp32"]
    print(markdown_table(header, rows))
    cfg = read_manifest(args.model).get("config", {})
    what = f"{cfg['layers']}-block student of {cfg['teacher']}" if "layers" in cfg else args.model
    append_result(f"INT8 vs fp32 accuracy: {what}, {args.sequences} synthetic-test sequences", header, rows,
                  notes=f"Model `{args.model}`; {args.samples} calibration samples from synthetic-train (seed "
                        f"{args.seed}); INT8 Q/DQ (symmetric, per-channel weights; LayerNorm, Softmax, GELU and the "
                        "head's sigmoids in float); ONNX Runtime CPU; boxes kept in float (no integer truncation).")


if __name__ == "__main__":
    main()
