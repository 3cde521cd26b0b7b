"""Precision is an ONNX step: fp16 conversion and INT8 Q/DQ quantisation from a calibration set.

INT8 uses NVIDIA ModelOpt when the `quant` extra is installed, otherwise ONNX Runtime's `quantize_static`
(QDQ, symmetric, per-channel weights, biases left in floating point). Only MatMul, Gemm and Conv are quantised:
LayerNorm, Softmax, GELU and the head's sigmoid outputs stay in floating point. Either way the result must pass
`qdq_check.require_trt_qdq` (TensorRT's Q/DQ rules), or the export is refused.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from edgetrack.artifacts import scratch_folder, system_temp_in
from edgetrack.calibration.store import CalibrationSet
from edgetrack.errors import ConfigError, MissingDependencyError
from edgetrack.export.qdq_check import require_trt_qdq

PRECISIONS = ("fp32", "fp16", "int8")
INT8_OPS = ("MatMul", "Gemm", "Conv")
# ops kept in fp32 inside fp16 models: reductions and exponentials that overflow or lose precision in fp16
FP16_BLOCKED = ["LayerNormalization", "ReduceMean", "Pow", "Sqrt", "Softmax", "Sigmoid", "Erf"]


def parse_precisions(text: str) -> list[str]:
    """'fp32,int8' -> ['fp32', 'int8']; fp32 is always produced first (the others are made from it)."""
    wanted = [p.strip().lower() for p in text.split(",") if p.strip()]
    bad = [p for p in wanted if p not in PRECISIONS]
    if bad:
        raise ConfigError(f"unknown precision {bad}; choose from {', '.join(PRECISIONS)}")
    return ["fp32"] + [p for p in PRECISIONS[1:] if p in wanted]


def to_fp16(src: Path, dst: Path) -> Path:
    """fp16 weights and activations with fp32 inputs/outputs and overflow-prone ops kept in fp32."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, op_block_list=FP16_BLOCKED)
    onnx.save(model, str(dst))
    return dst


class _Reader:
    """ONNX Runtime CalibrationDataReader over a CalibrationSet, one sample per call."""

    def __init__(self, calib: CalibrationSet) -> None:
        self.calib = calib
        self._it: Iterator[dict[str, np.ndarray]] = self._samples()

    def _samples(self) -> Iterator[dict[str, np.ndarray]]:
        for i in range(len(self.calib)):
            yield {k: v[i:i + 1].astype(np.float32) for k, v in self.calib.arrays.items()}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = self._samples()


def int8_backend() -> str:
    return "modelopt" if importlib.util.find_spec("modelopt") is not None else "onnxruntime"


#: how activation ranges are set from the calibration crops (ONNX Runtime's calibrators): the observed extremes,
#: the 99.99th percentile of |x| (an outlier-robust extreme), or the threshold minimising the KL divergence
INT8_RANGES = ("minmax", "percentile", "entropy")


def check_ranges(ranges: str) -> str:
    if ranges not in INT8_RANGES:
        raise ConfigError(f"--int8-ranges {ranges}: choose {', '.join(INT8_RANGES)}")
    return ranges


def to_int8(src: Path, dst: Path, calib: CalibrationSet, backend: str | None = None, ranges: str = "minmax",
            attention: bool = True, float_layers: Sequence[str] = ()) -> Path:
    """Q/DQ INT8 ONNX calibrated on `calib` with the `ranges` rule, checked against TensorRT's Q/DQ rules (QDQError
    when it breaks one). `attention=False` keeps the attention products (MatMuls of two activations, q k^T and
    attn v) in floating point and quantises only the layers with weights. ModelOpt chooses its own ranges and
    layers: it takes only the defaults. `float_layers` names further nodes to keep in floating point
    (`export.sensitivity`)."""
    backend = backend or int8_backend()
    check_ranges(ranges)
    if backend == "modelopt" and (ranges != "minmax" or not attention or float_layers):
        raise ConfigError("--int8-ranges, --no-int8-attention and --int8-float-layers need the onnxruntime "
                          "quantiser; ModelOpt sets its own ranges and layers")
    with scratch_folder(dst) as tmp, system_temp_in(tmp):  # the quantisers' own temp files stay beside dst
        if backend == "modelopt":
            _int8_modelopt(src, dst, calib, tmp)
        else:
            exclude = [*([] if attention else activation_matmuls(src)), *float_layers]
            _int8_onnxruntime(src, dst, calib, ranges, exclude)
    require_trt_qdq(dst)
    return dst


def activation_matmuls(path: Path) -> list[str]:
    """Names of the MatMul nodes whose two inputs are both activations (attention's q k^T and attn v)."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    return [n.name for n in graph.node if n.op_type == "MatMul" and not set(n.input) & weights]


def _int8_onnxruntime(src: Path, dst: Path, calib: CalibrationSet, ranges: str = "minmax",
                      exclude: list[str] | None = None) -> Path:
    try:
        from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    except ImportError:
        raise MissingDependencyError("onnxruntime", "onnx", "INT8 quantisation") from None
    method = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
              "entropy": CalibrationMethod.Entropy}
    root = logging.getLogger()
    level = root.level
    # quantize_static logs a generic "consider pre-processing" hint on the root logger for every model; the graph
    # here is already simplified by onnxslim, so the hint is noise in every export's output
    root.setLevel(max(level, logging.ERROR))
    try:
        quantize_static(str(src), str(dst), _Reader(calib), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=list(INT8_OPS), calibrate_method=method[ranges],
                        nodes_to_exclude=list(exclude or []),
                        # TensorRT dequantises only 8-bit tensors: INT32 biases would fail at parse
                        extra_options={"ActivationSymmetric": True, "WeightSymmetric": True, "QuantizeBias": False})
    finally:
        root.setLevel(level)
    return dst


def _int8_modelopt(src: Path, dst: Path, calib: CalibrationSet, tmp: Path) -> Path:
    from modelopt.onnx.quantization import quantize

    copy = tmp / "model.onnx"  # ModelOpt rewrites its input in place: give it a copy
    shutil.copy(src, copy)
    data = tmp / "calib.npz"
    np.savez(data, **calib.arrays)
    quantize(onnx_path=str(copy), quantize_mode="int8", calibration_data_path=str(data),
             calibration_eps=["cpu"], output_path=str(dst), op_types_to_exclude=list(FP16_BLOCKED))
    return dst
