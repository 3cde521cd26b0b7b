"""An offline check of an INT8 ONNX graph against TensorRT's rules for explicit (Q/DQ) quantisation.

TensorRT's ONNX parser and builder accept a Q/DQ network only when (TensorRT developer guide, "Working with
Quantized Types"; ONNX parser operator support for QuantizeLinear / DequantizeLinear):

- DequantizeLinear takes signed INT8 (or FP8 / INT4) inputs: UINT8 is refused, and an INT32 bias behind a
  DequantizeLinear fails at parse;
- every QuantizeLinear has a zero point (without one its output is UINT8), and zero points are 0 (TensorRT
  quantisation is symmetric) and INT8;
- INT8 weights lie in [-127, 127]: the symmetric range, whose -128 TensorRT does not represent;
- activations are quantised per tensor (a scalar scale); weights may be per channel, on the output-channel
  axis of the layer that consumes them (Conv: 0, ConvTranspose: 1, MatMul: the last axis of B, Gemm: 1, or 0
  with transB);
- every QuantizeLinear feeds DequantizeLinear nodes only, and a quantised op (Conv, MatMul, Gemm) with a
  dequantised weight also gets a dequantised activation, so that TensorRT can fuse the pair into an INT8
  layer; its bias stays in floating point.

`check_qdq` lists every violation; `require_trt_qdq` raises with them. `export` runs it on every INT8 variant.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.errors import EdgetrackError

QUANTISED_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


class QDQError(EdgetrackError):
    """An INT8 ONNX graph that TensorRT would refuse to parse or build."""


def _eight_bit_types() -> set[int]:
    """The quantised types TensorRT dequantises: signed INT8, FP8 and INT4 (never the unsigned ones)."""
    from onnx import TensorProto

    names = ("INT8", "FLOAT8E4M3FN", "FLOAT8E5M2", "INT4")
    return {getattr(TensorProto, n) for n in names if hasattr(TensorProto, n)}


def _type_name(dtype: int) -> str:
    from onnx import TensorProto

    return TensorProto.DataType.Name(dtype)


def _attr(node: Any, name: str, default: int) -> int:
    return next((int(a.i) for a in node.attribute if a.name == name), default)


class _Graph:
    """Initializers, producers and consumers of one ONNX graph."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        g = model.graph
        self.inits = {i.name: i for i in g.initializer}
        self.values = {name: numpy_helper.to_array(t) for name, t in self.inits.items()}
        self.nodes = list(g.node)
        for n in self.nodes:  # Constant nodes hold initializers too
            if n.op_type == "Constant" and n.attribute:
                self.values[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
                self.inits.setdefault(n.output[0], n.attribute[0].t)
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)


def _weight_axis(user: Any, input_index: int, rank: int) -> int | None:
    """The output-channel axis TensorRT expects for a per-channel weight at `input_index` of `user`."""
    if user.op_type == "Conv" and input_index == 1:
        return 0
    if user.op_type == "ConvTranspose" and input_index == 1:
        return 1
    if user.op_type == "MatMul" and input_index == 1:
        return rank - 1
    if user.op_type == "Gemm" and input_index == 1:
        return 0 if _attr(user, "transB", 0) else 1
    return None


def _check_dq(g: _Graph, node: Any, eight_bit: set[int]) -> Iterable[str]:
    x = node.input[0]
    where = f"DequantizeLinear '{node.name or node.output[0]}'"
    if x in g.inits:
        dtype = g.inits[x].data_type
        if dtype not in eight_bit:
            yield (f"{where} dequantises initializer '{x}' of type {_type_name(dtype)}: TensorRT accepts only "
                   "signed INT8 (or FP8/INT4) inputs; quantise weights to INT8 and keep biases in floating point")
        elif g.values[x].dtype == np.int8 and np.any(g.values[x] == -128):
            yield (f"{where} dequantises INT8 weight '{x}' holding -128; TensorRT's symmetric INT8 range is "
                   "[-127, 127]")
    elif g.producer.get(x) is None or g.producer[x].op_type != "QuantizeLinear":
        yield f"{where} dequantises '{x}', which is neither a constant nor a QuantizeLinear output"
    yield from _check_zero_point(g, node, where)
    scale = g.values.get(node.input[1])
    if scale is None:
        yield f"{where} has a scale that is not a constant"
        return
    if scale.size > 1:
        if x not in g.inits:
            yield f"{where} dequantises an activation per channel; TensorRT needs per-tensor activation scales"
            return
        axis = _attr(node, "axis", 1) % g.values[x].ndim
        for user in g.consumers.get(node.output[0], []):
            want = _weight_axis(user, list(user.input).index(node.output[0]), g.values[x].ndim)
            if want is not None and axis != want:
                yield (f"{where} has per-channel scales on axis {axis}, but {user.op_type} '{user.name}' needs its "
                       f"output-channel axis {want}")
    if np.any(scale <= 0) or not np.all(np.isfinite(scale)):
        yield f"{where} has a scale that is not positive and finite"


def _check_zero_point(g: _Graph, node: Any, where: str) -> Iterable[str]:
    if len(node.input) < 3 or not node.input[2]:
        return
    zp = g.values.get(node.input[2])
    if zp is None:
        yield f"{where} has a zero point that is not a constant"
        return
    if np.any(zp != 0):
        yield f"{where} has a non-zero zero point; TensorRT quantisation is symmetric (zero point 0)"
    dtype = g.inits[node.input[2]].data_type
    if dtype not in _eight_bit_types():
        yield f"{where} has a {_type_name(dtype)} zero point; TensorRT needs signed INT8 (or FP8) quantisation"


def _check_q(g: _Graph, node: Any) -> Iterable[str]:
    where = f"QuantizeLinear '{node.name or node.output[0]}'"
    if len(node.input) < 3 or not node.input[2]:
        yield (f"{where} has no zero point, so its output is UINT8; TensorRT needs an INT8 zero point of 0 on "
               "every QuantizeLinear")
    yield from _check_zero_point(g, node, where)
    scale = g.values.get(node.input[1])
    if scale is not None and scale.size > 1 and node.input[0] not in g.inits:
        yield f"{where} quantises an activation per channel; TensorRT needs per-tensor activation scales"
    others = [u.op_type for u in g.consumers.get(node.output[0], []) if u.op_type != "DequantizeLinear"]
    if others:
        yield f"{where} feeds {sorted(set(others))} directly; a QuantizeLinear must feed DequantizeLinear only"


def _dequantised(g: _Graph, name: str) -> bool:
    p = g.producer.get(name)
    return p is not None and p.op_type == "DequantizeLinear"


def _check_op(g: _Graph, node: Any) -> Iterable[str]:
    if len(node.input) < 2 or not _dequantised(g, node.input[1]):
        return
    where = f"{node.op_type} '{node.name or node.output[0]}'"
    if not _dequantised(g, node.input[0]):
        yield f"{where} has an INT8 weight but a floating-point input: TensorRT cannot fuse it into an INT8 layer"
    if node.op_type in ("Conv", "ConvTranspose", "Gemm") and len(node.input) > 2 and _dequantised(g, node.input[2]):
        yield f"{where} has a dequantised bias; keep biases in floating point"


def check_qdq(model: Any) -> list[str]:
    """Every way `model` (an onnx.ModelProto) breaks TensorRT's Q/DQ rules; empty when it has none."""
    g = _Graph(model)
    eight_bit = _eight_bit_types()
    problems: list[str] = []
    for node in g.nodes:
        if node.op_type == "DequantizeLinear":
            problems.extend(_check_dq(g, node, eight_bit))
        elif node.op_type == "QuantizeLinear":
            problems.extend(_check_q(g, node))
        elif node.op_type in QUANTISED_OPS:
            problems.extend(_check_op(g, node))
    return problems


def require_trt_qdq(path: str | Path) -> None:
    """Raise QDQError listing the violations when the ONNX file at `path` breaks TensorRT's Q/DQ rules."""
    import onnx

    problems = check_qdq(onnx.load(str(path)))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise QDQError(f"{path} is not an INT8 graph TensorRT can build ({len(problems)} problems): {shown}")
