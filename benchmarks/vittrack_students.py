"""Students of OpenCV's VitTrack (3 blocks, trained on real video) trained on synthetic frames only: naive
(ground truth) against replacement training at the same budget, 2-block and 1-block, evaluated on a folder of
real sequences and on synthetic-test. The question: does replacement keep more of the teacher's real-video
skill than ground-truth training, when the students never see a real frame?

    python -m benchmarks.vittrack_students --weights object_tracking_vittrack_2023sep.onnx \
        --real ../shared/real [--steps 200] [--layers 2,1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.results_md import append_result, markdown_table
from edgetrack.compress.config import CompressConfig
from edgetrack.compress.run import run_compress
from edgetrack.config.base import build_config
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.run import evaluate_results, run_benchmark
from edgetrack.models.factory import create_model, save_model

METHODS = ("naive", "replacement")
STEPS_PER_EPOCH = 40


def compress_config(teacher: Path, layers: int, method: str, args: argparse.Namespace) -> CompressConfig:
    return build_config(CompressConfig, {
        "teacher": str(teacher), "layers": layers, "method": method, "drop_path": 0.0,
        "data": {"datasets": ["synthetic-train"], "synthetic_sequences": 400},
        "train": {"epochs": args.steps / STEPS_PER_EPOCH, "pairs_per_epoch": STEPS_PER_EPOCH * args.batch,
                  "batch_size": args.batch, "workers": 1, "device": "cpu", "seed": args.seed,
                  "checkpoint_every": 100, "tensorboard": False,
                  "optim": {"lr": args.lr, "lr_drop_epoch": 0.8 * args.steps / STEPS_PER_EPOCH}},
    })


def evaluate(model: str, folder: Path, benchmark: str, data_root: Path | None, workers: int) -> float:
    """AUC of `model` on `benchmark` (results kept under `folder`, resumable)."""
    bench = BENCHMARKS.get(benchmark)
    sequences = run_benchmark(model, bench, folder / "results", data_root, workers=workers)
    return float(evaluate_results(folder / "results", sequences, bench.protocol)["overall"]["auc"])


def scores(model: str, folder: Path, args: argparse.Namespace) -> list[float]:
    return [evaluate(model, folder / "real", "folder", args.real, args.workers),
            evaluate(model, folder / "synthetic", "synthetic-test", None, args.workers)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="OpenCV's VitTrack ONNX file")
    parser.add_argument("--real", type=Path, required=True, help="folder of real sequences (NAME/img, groundtruth.txt)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--layers", default="2,1")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/vittrack-students"))
    args = parser.parse_args()

    teacher = args.out / "teacher"
    if not (teacher / "config.json").is_file():
        save_model(create_model("vittrack", checkpoint=args.weights), teacher, stage="import")
    rows = [["teacher", 3, *scores(str(teacher), args.out / "eval" / "teacher", args)]]
    print(markdown_table(["variant", "blocks", "AUC real", "AUC synthetic-test"], rows), flush=True)
    for layers in (int(v) for v in args.layers.split(",")):
        for method in METHODS:
            run = args.out / f"{layers}-block" / method
            student = run_compress(compress_config(teacher, layers, method, args), run)
            rows.append([method, layers, *scores(str(student), run / "eval", args)])
            print(f"{layers}-block {method}: real {rows[-1][2]:.2f}, synthetic-test {rows[-1][3]:.2f}", flush=True)
    header = ["variant", "blocks", "AUC real", "AUC synthetic-test"]
    print(markdown_table(header, rows))
    append_result(f"VitTrack -> synthetic-only students: naive vs replacement, {args.real.name} and synthetic-test",
                  header, rows,
                  notes=f"Teacher: OpenCV's VitTrack (3 blocks, trained on real video). Students start from the "
                        f"teacher's blocks and train {args.steps} steps of batch {args.batch} on synthetic-train "
                        f"only (AdamW lr {args.lr}, x0.1 for the last 20%, seed {args.seed}). `AUC real`: mean "
                        f"over the sequences of `{args.real}` (evaluation only).")


if __name__ == "__main__":
    main()
