"""Ablation on the synthetic benchmark: a student of the tiny teacher trained with naive, distill and
replacement at the same step budget, for each of several seeds; synthetic-test AUC and retention (% of the
teacher). `--feat-normalise layernorm` adds the two methods that use feature mimicking with normalised
features (`distill+ln`, `replacement+ln`).

    python -m benchmarks.compress_ablation [--steps 150] [--layers 2] [--seeds 0,1] [--feat-normalise layernorm]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from edgetrack.compress.config import CompressConfig
from edgetrack.compress.run import run_compress
from edgetrack.config.base import build_config
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.run import evaluate_results, run_benchmark
from edgetrack.models.presets import preset_config

METHODS = ("naive", "distill", "replacement")
STEPS_PER_EPOCH = 40


def compress_config(method: str, seed: int, normalise: str, args: argparse.Namespace) -> CompressConfig:
    return build_config(CompressConfig, {
        "teacher": "tiny", "layers": args.layers, "method": method, "drop_path": 0.0,
        "data": {"datasets": ["synthetic-train"], "synthetic_sequences": 400},
        "pairs": {"search_center_jitter": 2.0, "search_scale_jitter": 0.2},  # as the teacher's recipe
        "losses": {"feat_normalise": normalise},
        "train": {"epochs": args.steps / STEPS_PER_EPOCH, "pairs_per_epoch": STEPS_PER_EPOCH * args.batch,
                  "batch_size": args.batch, "workers": 1, "device": "cpu", "seed": seed,
                  "checkpoint_every": 100, "tensorboard": False,
                  "optim": {"lr": args.lr, "lr_drop_epoch": 0.8 * args.steps / STEPS_PER_EPOCH}},
    })


def evaluate(model: str, folder: Path, workers: int) -> dict:
    bench = BENCHMARKS.get("synthetic-test")
    sequences = run_benchmark(model, bench, folder / "results", workers=workers)
    return evaluate_results(folder / "results", sequences, bench.protocol)["overall"]


def variants(normalise: str | None) -> list[tuple[str, str, str]]:
    """(label, method, feature normalisation) of every trained variant."""
    out = [(m, m, "none") for m in METHODS]
    if normalise:
        out += [(f"{m}+ln", m, normalise) for m in ("distill", "replacement")]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seeds", default="0,1", help="comma-separated seeds; each trains every variant")
    parser.add_argument("--feat-normalise", choices=["layernorm"], default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    teacher = evaluate("tiny", args.out / "eval" / "teacher", args.workers)
    aucs: dict[str, list[float]] = {}
    for seed in seeds:
        for label, method, normalise in variants(args.feat_normalise):
            run = args.out / f"seed{seed}" / label
            student = run_compress(compress_config(method, seed, normalise, args), run)
            aucs.setdefault(label, []).append(evaluate(str(student), run / "eval", args.workers)["auc"])
            print(f"seed {seed} {label}: AUC {aucs[label][-1]:.2f}", flush=True)
    header = ["variant", *(f"AUC seed {s}" for s in seeds), "mean AUC", "retention %"]
    rows = [["teacher", *([teacher["auc"]] * len(seeds)), teacher["auc"], 100.0]]
    rows += [[label, *values, float(np.mean(values)), 100.0 * float(np.mean(values)) / teacher["auc"]]
             for label, values in aucs.items()]
    print(markdown_table(header, rows))
    depth = preset_config("tiny").depth
    append_result(f"Compression ablation: tiny teacher ({depth} blocks) -> {args.layers}-block student, "
                  f"synthetic-test, seeds {args.seeds}", header, rows,
                  notes=f"Same student and budget per seed: {args.steps} steps of batch {args.batch}, AdamW lr "
                        f"{args.lr} (x0.1 for the last 20%), progressive schedule over the run; protocol: lasot. "
                        "`+ln`: feature mimicking on per-token LayerNorm-normalised features.")


if __name__ == "__main__":
    main()
