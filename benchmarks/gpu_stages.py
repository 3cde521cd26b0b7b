"""Per-stage time of the GPU pre/post-processing kernels vs the numpy reference, on this machine's GPU.

    python -m benchmarks.gpu_stages [--frame 1280x720] [--search 256] [--feat 16] [--runs 200]

Stages: search crop+resize+normalise (numpy on the CPU; CUDA kernel including the frame upload; CUDA kernel
alone on an uploaded frame) and Hann-argmax decode (numpy; CUDA kernel plus the 32-byte read-back). GPU times
are wall-clock per call with a stream synchronisation, so they include launch overhead. Needs cuda-python and
an NVIDIA GPU; on a CPU-only machine it says so and exits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable

import numpy as np

from benchmarks.results_md import append_result, markdown_table
from edgetrack.data.crops import crop_and_resize, crop_geometry, normalize
from edgetrack.eval.latency import time_calls
from edgetrack.runtime.cuda import api
from edgetrack.runtime.decode import decode, hann2d

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def median_ms(fn: Callable[[], object], runs: int, warmup: int = 10) -> float:
    return statistics.median(time_calls(fn, runs, warmup))


def crop_rows(args: argparse.Namespace, stream: api.Stream) -> list[list[object]]:
    from edgetrack.runtime.cuda.pipeline import DevicePreprocessor

    width, height = (int(v) for v in args.frame.split("x"))
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    crop = crop_geometry((width * 0.4, height * 0.4, width * 0.1, height * 0.12), 4.0, args.search)
    pre = DevicePreprocessor(MEAN, STD, stream)
    dst = api.DeviceBuffer(3 * args.search * args.search * 4)

    def kernel_only() -> None:
        pre.crop(crop, dst.ptr)
        stream.synchronize()

    def upload_and_kernel() -> None:
        pre(image, crop, dst.ptr)
        stream.synchronize()

    cpu = median_ms(lambda: normalize(crop_and_resize(image, crop), MEAN, STD), args.runs)
    with_upload = median_ms(upload_and_kernel, args.runs)
    alone = median_ms(kernel_only, args.runs)
    return [["crop numpy (CPU)", cpu, 1.0], ["crop CUDA, frame upload + kernel", with_upload, cpu / with_upload],
            ["crop CUDA, kernel only", alone, cpu / alone]]


def decode_rows(args: argparse.Namespace, stream: api.Stream) -> list[list[object]]:
    from edgetrack.runtime.cuda.pipeline import DeviceDecoder

    rng = np.random.default_rng(1)
    f = args.feat
    score, size, offset = (rng.random((1, c, f, f), dtype=np.float32) for c in (1, 2, 2))
    window = hann2d(f)
    buffers = [api.DeviceBuffer.from_array(a) for a in (score, size, offset)]
    dec = DeviceDecoder(f, stream)
    cpu = median_ms(lambda: decode(score, size, offset, window), args.runs)
    gpu = median_ms(lambda: dec(*(b.ptr for b in buffers)), args.runs)
    return [["decode numpy (CPU)", cpu, 1.0], ["decode CUDA kernel + read-back", gpu, cpu / gpu]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frame", default="1280x720", help="frame size WxH")
    parser.add_argument("--search", type=int, default=256, help="search crop size")
    parser.add_argument("--feat", type=int, default=16, help="score map size")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print the table without appending to RESULTS.md")
    args = parser.parse_args()
    ok, why = api.cuda_available()
    if not ok:
        sys.exit(f"gpu_stages needs an NVIDIA GPU through cuda-python, which this machine lacks: {why}")
    name, cc, memory = api.device_properties(args.device)
    api.use_device(args.device)
    stream = api.Stream()
    rows = crop_rows(args, stream) + decode_rows(args, stream)
    header = ["variant", "median ms", "speed-up vs CPU"]
    print(markdown_table(header, rows))
    if not args.no_write:
        append_result(f"GPU pre/post-processing stages on {name} (compute {cc}, {memory:.0f} GiB)", header, rows,
                      notes=f"Frame {args.frame}, search {args.search}, feature map {args.feat}; GPU: {name}. "
                            "Times include a stream synchronisation per call.")


if __name__ == "__main__":
    main()
