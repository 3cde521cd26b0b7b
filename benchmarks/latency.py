"""Latency of teacher vs students, torch vs ONNX Runtime, fp32 vs int8, batch 1 on this machine.

    python -m benchmarks.latency [--teacher ostrack256] [--layers 4 2] [--runs 30] [--int8]

Random weights: speed does not depend on the values. Median and p90 ms, FPS, and ratios from the same run.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.results_md import append_result, markdown_table
from edgetrack.calibration.store import CalibrationSet
from edgetrack.compress.student import make_student
from edgetrack.eval.latency import time_calls
from edgetrack.export.onnx_export import export_onnx
from edgetrack.export.precision import to_int8
from edgetrack.models import create_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend


def inputs_for(model: TrackerModel) -> dict[str, np.ndarray]:
    c = model.cfg
    rng = np.random.default_rng(0)
    return {"template": rng.standard_normal((1, 3, c.template_size, c.template_size), dtype=np.float32),
            "search": rng.standard_normal((1, 3, c.search_size, c.search_size), dtype=np.float32)}


def variants(args: argparse.Namespace, tmp: Path) -> list[tuple[str, TrackerModel, Path]]:
    torch.manual_seed(0)
    teacher = create_model(args.teacher)
    models = [("teacher", teacher)] + [(f"student-{n}", make_student(teacher, n).eval()) for n in args.layers]
    out = []
    for name, model in models:
        path = tmp / f"{name}.onnx"
        export_onnx(model, path)
        out.append((name, model, path))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default="ostrack256")
    parser.add_argument("--layers", type=int, nargs="+", default=[4, 2])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: all cores)")
    parser.add_argument("--int8", action="store_true", help="also time INT8 Q/DQ models (ONNX Runtime)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch (eager) timings")
    parser.add_argument("--device", default="cpu", help="cuda: time torch fp32 and fp16 on the GPU instead "
                        "(synchronised per call; no ONNX Runtime)")
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        gpu_main(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    rows, base = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, path in variants(args, Path(tmp)):
            feeds = inputs_for(model)
            runs: list[tuple[str, Callable[[], object]]] = []
            if not args.no_torch:
                tz, tx = torch.from_numpy(feeds["template"]), torch.from_numpy(feeds["search"])
                runs.append(("torch fp32", lambda m=model, a=tz, b=tx: m(a, b)))
            ort = OnnxRuntimeBackend(path, threads=args.threads)
            runs.append(("onnxruntime fp32", lambda r=ort, f=feeds: r.infer(f)))
            if args.int8:
                calib = CalibrationSet({k: np.repeat(v, 16, axis=0) + np.random.default_rng(1).standard_normal(
                    (16, *v.shape[1:]), dtype=np.float32) * 0.1 for k, v in feeds.items()})
                q = to_int8(path, Path(tmp) / f"{name}.int8.onnx", calib, backend="onnxruntime")
                r8 = OnnxRuntimeBackend(q, threads=args.threads)
                runs.append(("onnxruntime int8", lambda r=r8, f=feeds: r.infer(f)))
            for runtime, fn in runs:
                with torch.inference_mode():
                    times = time_calls(fn, args.runs)
                med = statistics.median(times)
                p90 = float(np.percentile(times, 90))
                base.setdefault(runtime, med if name == "teacher" else None)
                speedup = base[runtime] / med if base.get(runtime) else 1.0
                rows.append([f"{name} ({runtime})", med, p90, 1e3 / med, speedup])
                print(f"{name:12s} {runtime:18s} median {med:8.1f} ms  p90 {p90:8.1f} ms")
    header = ["variant", "median ms", "p90 ms", "FPS", "speed-up vs teacher"]
    print(markdown_table(header, rows))
    append_result(f"Latency, batch 1, teacher {args.teacher} vs students (random weights)", header, rows,
                  notes=f"{args.runs} timed runs after 3 warm-up runs; threads: {args.threads or 'all'}; "
                        "speed-up is against the teacher in the same runtime, measured in this run.")


def gpu_runs(model: TrackerModel, feeds: dict[str, np.ndarray], device: str) -> list[tuple[str, Callable]]:
    """torch fp32 and fp16 forward passes on the GPU, each ending in a synchronise so the time is the GPU's."""
    runs: list[tuple[str, Callable[[], object]]] = []
    for label, dtype in (("torch-cuda fp32", torch.float32), ("torch-cuda fp16", torch.float16)):
        m = copy.deepcopy(model).to(device=device, dtype=dtype)  # one copy per dtype: .to() works in place
        tz, tx = (torch.from_numpy(feeds[k]).to(device=device, dtype=dtype) for k in ("template", "search"))

        def step(m: TrackerModel = m, a: torch.Tensor = tz, b: torch.Tensor = tx) -> None:
            m(a, b)
            torch.cuda.synchronize()

        runs.append((label, step))
        with torch.inference_mode():
            time_calls(step, 1)  # first fp16 call compiles kernels; keep it out of the next runtime's warm-up
    return runs


def gpu_main(args: argparse.Namespace) -> None:
    """Teacher vs students on the GPU in torch, fp32 and fp16; appended to RESULTS.md with the GPU named."""
    torch.manual_seed(0)
    teacher = create_model(args.teacher).eval()
    models = [("teacher", teacher)] + [(f"student-{n}", make_student(teacher, n).eval()) for n in args.layers]
    rows, base = [], {}
    for name, model in models:
        feeds = inputs_for(model)
        for runtime, fn in gpu_runs(model, feeds, args.device):
            with torch.inference_mode():
                times = time_calls(fn, args.runs, warmup=10)
            med, p90 = statistics.median(times), float(np.percentile(times, 90))
            base.setdefault(runtime, med if name == "teacher" else None)
            rows.append([f"{name} ({runtime})", med, p90, 1e3 / med, base[runtime] / med if base[runtime] else 1.0])
            print(f"{name:12s} {runtime:18s} median {med:8.2f} ms  p90 {p90:8.2f} ms")
    header = ["variant", "median ms", "p90 ms", "FPS", "speed-up vs teacher"]
    print(markdown_table(header, rows))
    gpu = torch.cuda.get_device_name(torch.device(args.device))
    append_result(f"GPU latency, batch 1, teacher {args.teacher} vs students on {gpu} (random weights)", header,
                  rows, notes=f"Device: {gpu}, torch {torch.__version__}. {args.runs} timed forward passes after 10 "
                              "warm-up ones, each followed by torch.cuda.synchronize(); eager mode, no CUDA graphs.")


if __name__ == "__main__":
    main()
