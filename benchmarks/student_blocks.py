"""Student block kinds at equal depth: `copy` (the teacher's blocks), `narrow-mlp` (MLP ratio 1) and `separable`
(SMAT's separable self-attention), each with its parameters, GMACs and ONNX Runtime fp32 ms per frame.

- `--part tiny`: students of the bundled tiny teacher, each trained by replacement at one small budget on
  synthetic-train (benchmarks.compress_ablation's recipe and seed), then synthetic-test AUC.
- `--part ostrack256`: the same kinds of OSTrack-256 (random weights: speed does not depend on the values).

    python -m benchmarks.student_blocks [--part both|tiny|ostrack256] [--steps 80] [--layers 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.compress_ablation import compress_config, evaluate
from benchmarks.latency import inputs_for
from benchmarks.results_md import append_result, markdown_table
from edgetrack.compress.run import run_compress, weights_hash
from edgetrack.compress.student import make_student
from edgetrack.eval.latency import time_calls
from edgetrack.export.onnx_export import export_onnx
from edgetrack.models import create_model
from edgetrack.models.factory import bundled_weights
from edgetrack.models.profile import count_macs, count_parameters
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

KINDS: tuple[tuple[str, float | None], ...] = (("copy", None), ("narrow-mlp", 1.0), ("separable", None))


def ort_ms(model: TrackerModel, runs: int, threads: int) -> float:
    """Median ONNX Runtime fp32 latency of one forward pass, batch 1, in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(model.eval(), path)
        runner, feeds = OnnxRuntimeBackend(path, threads=threads), inputs_for(model)
        return statistics.median(time_calls(lambda: runner.infer(feeds), runs))


def size(model: TrackerModel) -> list[float]:
    """Parameters in millions and GMACs per frame."""
    return [count_parameters(model) / 1e6, count_macs(model.cfg) / 1e9]


def tiny_part(args: argparse.Namespace) -> None:
    """Train and evaluate the three kinds from the bundled tiny teacher; append the table."""
    sha = weights_hash(bundled_weights("tiny"))[:12]  # before training: the teacher every student starts from
    teacher = create_model("tiny", pretrained=True)
    teacher_auc = evaluate("tiny", args.out / "eval" / "teacher", args.workers)["auc"]
    rows = [["teacher", teacher_auc, *size(teacher), ort_ms(teacher, args.runs, args.threads)]]
    for block, ratio in KINDS:
        run = args.out / block
        cfg = compress_config("replacement", args.seed, "none", args).replace(block=block, mlp_ratio=ratio)
        folder = run_compress(cfg, run)
        student = create_model(folder)
        rows.append([block, evaluate(str(folder), run / "eval", args.workers)["auc"], *size(student),
                     ort_ms(student, args.runs, args.threads)])
        print(f"{block}: AUC {rows[-1][1]:.2f}", flush=True)
    header = ["variant", "AUC", "params M", "GMACs", "onnxruntime ms"]
    print(markdown_table(header, rows))
    append_result(f"Student block kinds: tiny teacher -> {args.layers}-block students, synthetic-test", header,
                  rows, notes=f"Bundled tiny teacher as shipped at this commit (weights sha256 {sha}...; another "
                              f"teacher gives other numbers). Each student: replacement, "
                              f"seed {args.seed}, {args.steps} steps of batch {args.batch}, AdamW lr {args.lr} (x0.1 "
                              "for the last 20%), progressive schedule; protocol: lasot. narrow-mlp: MLP ratio 1 "
                              "(hidden units kept by weight norm); separable: SMAT's separable attention, MLP ratio "
                              f"of the teacher. ONNX Runtime fp32, batch 1, median of {args.runs} runs, threads: "
                              f"{args.threads or 'all'}.")


def ostrack_part(args: argparse.Namespace) -> None:
    """Latency of the three kinds of OSTrack-256 (random weights) under ONNX Runtime; append the table."""
    torch.manual_seed(0)
    teacher = create_model("ostrack256")
    rows = []
    for block, ratio in KINDS:
        student = make_student(teacher, args.big_layers, block=block, mlp_ratio=ratio).eval()
        ms = ort_ms(student, args.runs, args.threads)
        rows.append([block, *size(student), ms, 1e3 / ms])
        print(f"{block}: {ms:.1f} ms", flush=True)
    header = ["variant", "params M", "GMACs", "onnxruntime ms", "FPS"]
    print(markdown_table(header, rows))
    append_result(f"Student block kinds: OSTrack-256 -> {args.big_layers}-block students, ONNX Runtime latency",
                  header, rows, notes=f"Random weights; fp32, batch 1, median of {args.runs} runs after 3 warm-up "
                                      f"runs, threads: {args.threads or 'all'}. narrow-mlp: MLP ratio 1 "
                                      "(MixFormerV2-S's shape); separable: MLP ratio 4 (the teacher's).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["both", "tiny", "ostrack256"], default="both")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--layers", type=int, default=2, help="student blocks for the tiny teacher")
    parser.add_argument("--big-layers", type=int, default=4, help="student blocks for OSTrack-256")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=20, help="timed ONNX Runtime runs per model")
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/student_blocks"))
    args = parser.parse_args()
    np.random.seed(args.seed)
    if args.part in ("both", "ostrack256"):
        ostrack_part(args)
    if args.part in ("both", "tiny"):
        tiny_part(args)


if __name__ == "__main__":
    main()
