#!/usr/bin/env bash
# GPU checks in one go, for a machine with an NVIDIA GPU, PyTorch with CUDA and cuda-python:
# the GPU tests (CUDA crop/decode kernels vs the numpy reference, torch-CUDA preprocessing and tracking, the
# TensorRT tests where TensorRT is installed), then per-stage kernel timings, teacher vs student latency in
# torch on the GPU, and end-to-end tracker latency; the benchmarks append to benchmarks/RESULTS.md.
#   bash benchmarks/gpu_checks.sh [LOG_DIR]
set -uo pipefail
log=${1:-.}
mkdir -p "$log"
python3 - <<'PY' 2>&1 | tee "$log/gpu.txt"
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
PY
status=0
python3 -m pytest -q -p no:cacheprovider -rs tests/unit/runtime tests/gpu 2>&1 | tee "$log/pytest.txt" || status=1
python3 -m benchmarks.gpu_stages 2>&1 | tee "$log/gpu_stages.txt" || status=1
python3 -m benchmarks.latency --device cuda --runs 100 2>&1 | tee "$log/latency_cuda.txt" || status=1
for device in cuda cpu; do
    python3 -m edgetrack bench tiny --device $device --runs 200 --warmup 20 --json > "$log/bench_tiny_$device.json" || status=1
done
exit $status
