"""Ablation on the synthetic benchmark: a 2-block student of the tiny teacher trained with naive, distill and
replacement at the same step budget and seed; synthetic-test AUC and retention (% of the teacher).

    python -m benchmarks.compress_ablation [--steps 300] [--layers 2] [--lr 4e-4] [--out runs/ablation]
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

METHODS = ("naive", "distill", "replacement")


def compress_config(method: str, args: argparse.Namespace) -> CompressConfig:
    steps_per_epoch = 40
    return build_config(CompressConfig, {
        "teacher": "tiny", "layers": args.layers, "method": method, "drop_path": 0.0,
        "data": {"datasets": ["synthetic-train"], "synthetic_sequences": 400},
        "pairs": {"search_center_jitter": 1.5, "search_scale_jitter": 0.15},  # as the teacher's recipe
        "train": {"epochs": args.steps / steps_per_epoch, "pairs_per_epoch": steps_per_epoch * args.batch,
                  "batch_size": args.batch, "workers": 1, "device": "cpu", "seed": args.seed,
                  "checkpoint_every": 100, "tensorboard": False,
                  "optim": {"lr": args.lr, "lr_drop_epoch": 0.8 * args.steps / steps_per_epoch}},
    })


def evaluate(model: str, folder: Path, workers: int) -> dict:
    bench = BENCHMARKS.get("synthetic-test")
    sequences = run_benchmark(model, bench, folder / "results", workers=workers)
    return evaluate_results(folder / "results", sequences, bench.protocol)["overall"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    args = parser.parse_args()

    results = {"teacher": evaluate("tiny", args.out / "eval" / "teacher", args.workers)}
    for method in METHODS:
        student = run_compress(compress_config(method, args), args.out / method)
        results[method] = evaluate(str(student), args.out / "eval" / method, args.workers)
    teacher_auc = results["teacher"]["auc"]
    rows = [[name, m["auc"], 100.0 * m["auc"] / teacher_auc, m["precision"], m["norm_precision"]]
            for name, m in results.items()]
    header = ["variant", "AUC", "retention %", "P@20", "Pnorm@0.20"]
    print(markdown_table(header, rows))
    append_result(f"Compression ablation: tiny teacher (8 blocks) -> {args.layers}-block student, synthetic-test",
                  header, rows,
                  notes=f"Same seed ({args.seed}), {args.steps} steps of batch {args.batch}, AdamW lr {args.lr} "
                        "(x0.1 for the last 20%), progressive schedule over the run; protocol: lasot.")


if __name__ == "__main__":
    main()
