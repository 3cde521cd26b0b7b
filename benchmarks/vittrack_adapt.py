"""VitTrack (3 blocks) -> 2-block students with and without the user's unlabeled clips.

Students train on synthetic-train only, or on synthetic-train mixed 1:1 with pseudo-labelled clips (labels from
the teacher itself, or from OpenCV's NanoTrack), by ground truth only (naive) or by replacement training, over
several seeds; a narrow-mlp student shows what a cheaper block keeps. Evaluated on a folder of real sequences
(never trained or tuned on) and on synthetic-test, next to OpenCV's own VitTrack and NanoTrack.

    python -m benchmarks.vittrack_adapt --weights vittrack_2023sep.onnx --real ../shared/real \
        --unlabeled ../shared/unlabeled --nanotrack nanotrack_v2_backbone.onnx,nanotrack_v2_head.onnx
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from benchmarks.vittrack_students import STEPS_PER_EPOCH, scores
from edgetrack.compress.config import CompressConfig
from edgetrack.compress.run import run_compress
from edgetrack.config.base import build_config
from edgetrack.models.factory import create_model, model_config, save_model
from edgetrack.models.profile import count_macs


def variants(args: argparse.Namespace) -> list[dict[str, str]]:
    """(data, labels, method, block) of every student row."""
    rows = [{"data": "synthetic", "labels": "-", "method": m, "block": "copy"} for m in ("naive", "replacement")]
    for labels in ("teacher", "nanotrack") if args.nanotrack else ("teacher",):
        rows += [{"data": "synthetic+unlabeled", "labels": labels, "method": m, "block": "copy"}
                 for m in ("naive", "replacement")]
    rows.append({"data": "synthetic+unlabeled", "labels": "teacher", "method": "replacement", "block": "narrow-mlp"})
    return rows


def student_config(teacher: Path, v: dict[str, str], seed: int, args: argparse.Namespace) -> CompressConfig:
    data: dict[str, object] = {"datasets": ["synthetic-train"], "synthetic_sequences": 400}
    if v["data"] == "synthetic+unlabeled":
        data["datasets"] = ["synthetic-train", f"unlabeled:{args.unlabeled}"]
        if v["labels"] == "nanotrack":
            data["labeler"] = f"opencv:nanotrack={args.nanotrack}"
    block = {"block": "narrow-mlp", "mlp_ratio": 2.0} if v["block"] == "narrow-mlp" else {}
    return build_config(CompressConfig, {
        "teacher": str(teacher), "layers": 2, "method": v["method"], "drop_path": 0.0, "data": data, **block,
        "train": {"epochs": args.steps / STEPS_PER_EPOCH, "pairs_per_epoch": STEPS_PER_EPOCH * args.batch,
                  "batch_size": args.batch, "workers": 1, "device": "cpu", "seed": seed,
                  "checkpoint_every": 50, "tensorboard": False,
                  "optim": {"lr": args.lr, "lr_drop_epoch": 0.8 * args.steps / STEPS_PER_EPOCH}},
    })


def run_name(v: dict[str, str], seed: int) -> str:
    return f"{v['data']}-{v['labels']}-{v['method']}-{v['block']}-s{seed}".replace("+", "_")


def gmacs(model: str) -> float:
    return count_macs(model_config(model)) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, required=True, help="OpenCV's VitTrack ONNX file")
    parser.add_argument("--real", type=Path, required=True, help="folder of real sequences (evaluation only)")
    parser.add_argument("--unlabeled", type=Path, required=True, help="folder of unlabeled clips (NAME/img, init.txt)")
    parser.add_argument("--nanotrack", default=None, help="BACKBONE.onnx,HEAD.onnx of OpenCV's NanoTrack (labeler)")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=4e-4)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/vittrack-adapt"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    teacher = args.out / "teacher"
    if not (teacher / "config.json").is_file():
        save_model(create_model("vittrack", checkpoint=args.weights), teacher, stage="import")

    header = ["variant", "data", "labels", "block", "seed", "GMACs", "AUC real", "AUC synthetic-test"]
    rows: list[list[object]] = [["teacher", "-", "-", "copy", "-", gmacs(str(teacher)),
                                 *scores(str(teacher), args.out / "eval" / "teacher", args)]]
    baselines = [f"opencv:vittrack={args.weights}"] + ([f"opencv:nanotrack={args.nanotrack}"] if args.nanotrack else [])
    for spec in baselines:
        name = spec.split("=")[0]
        rows.append([name, "-", "-", "-", "-", "-", *scores(spec, args.out / "eval" / name.replace(":", "-"), args)])
    print(markdown_table(header, rows), flush=True)
    for v in variants(args):
        for seed in (int(s) for s in args.seeds.split(",")):
            run = args.out / run_name(v, seed)
            start = time.perf_counter()
            student = run_compress(student_config(teacher, v, seed, args), run)
            rows.append([v["method"], v["data"], v["labels"], v["block"], seed, gmacs(str(student)),
                         *scores(str(student), run / "eval", args)])
            print(f"{run.name}: real {rows[-1][6]:.2f}, synthetic-test {rows[-1][7]:.2f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(markdown_table(header, rows))
    summary = summarise(rows)
    print(markdown_table(SUMMARY_HEADER, summary))
    notes = (f"Teacher: OpenCV's VitTrack (3 blocks). 2-block students start from the teacher's blocks and train "
             f"{args.steps} steps of batch {args.batch} (AdamW lr {args.lr}, x0.1 for the last 20%). "
             f"`synthetic+unlabeled`: synthetic-train and the clips of `{args.unlabeled}` mixed 1:1 by pairs, the "
             f"clips pseudo-labelled by `labels` (teacher: the teacher's own tracking; nanotrack: "
             f"`opencv:nanotrack`), confident frames only. `AUC real`: mean over the sequences of `{args.real}` "
             f"(evaluation only, never trained or tuned on).")
    append_result(f"VitTrack -> 2-block students from unlabeled clips, {args.real.name} and synthetic-test",
                  header, rows, notes=notes)
    append_result("VitTrack -> 2-block students from unlabeled clips: mean over seeds", SUMMARY_HEADER, summary,
                  notes="`% teacher real`: the mean real AUC as a share of the teacher's, in the same run.")


SUMMARY_HEADER = ["variant", "data", "labels", "block", "seeds", "AUC real", "% teacher real", "AUC synthetic-test"]


def summarise(rows: list[list[object]]) -> list[list[object]]:
    """Mean real and synthetic AUC per (method, data, labels, block) over seeds, with the share of the teacher."""
    teacher_real = float(rows[0][6])  # type: ignore[arg-type]
    groups: dict[tuple[object, ...], list[list[object]]] = {}
    for row in rows[1:]:
        if row[4] != "-":
            groups.setdefault(tuple(row[:4]), []).append(row)
    summary: list[list[object]] = [["teacher", "-", "-", "copy", "-", teacher_real, 100.0, float(rows[0][7])]]  # type: ignore[arg-type]
    for key, group in groups.items():
        real = float(np.mean([r[6] for r in group]))  # type: ignore[misc]
        synth = float(np.mean([r[7] for r in group]))  # type: ignore[misc]
        summary.append([*key, len(group), real, 100.0 * real / teacher_real, synth])
    return summary


if __name__ == "__main__":
    main()
