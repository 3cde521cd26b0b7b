"""Weights of OpenCV's VitTrack read out of its ONNX file (`object_tracking_vittrack_2023sep.onnx`).

The file stores the linear layers and the batch-norm-folded convolutions under numeric initializer names, so
each weight is found by its place in the graph:

- stem: the chain of Conv nodes that starts at the `template` input, in order;
- blocks: each MatMul whose output is added to a named bias (`blocks.{i}.attn.qkv.bias`, ...); ONNX stores
  (in, out) matrices, PyTorch's Linear (out, in);
- head: walking back from each named `box_head.conv5_{branch}` through its Relu/Conv chain.

Biases, norms, position embeddings and `box_head.conv5_*` keep their PyTorch names. OpenCV feeds the network
BGR crops, so the stem's first convolution has its input channels reversed here (the `vittrack` preset takes
RGB with ImageNet's constants reversed to match). Only the one known file is accepted, by its sha256: another
export of "a VitTrack" may be laid out differently and would load wrong weights silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from edgetrack.artifacts import sha256_file
from edgetrack.errors import CheckpointError

VITTRACK_SHA256 = "2990f0b7cd44d92afa48cd97db6de7be113fc1d9594fddb74e2725c10478e91d"
VITTRACK_FILE = "object_tracking_vittrack_2023sep.onnx"
_DEPTH, _STEM_LAYERS, _HEAD_LAYERS = 3, 4, 4
_LINEARS = ("attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2")


class _Graph:
    """Producer/consumer lookups over an ONNX graph and its initializers as numpy arrays."""

    def __init__(self, model: Any) -> None:
        from onnx import numpy_helper

        self.nodes = list(model.graph.node)
        self.init = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.producer = {out: n for n in self.nodes for out in n.output}

    def consumers(self, name: str) -> list[Any]:
        return [n for n in self.nodes if name in n.input]

    def weight(self, node: Any) -> np.ndarray:
        """The one initializer input of `node`."""
        found = [self.init[i] for i in node.input if i in self.init]
        if len(found) != 1:
            raise _layout(f"{node.op_type} node {node.name or node.output[0]} has {len(found)} weight inputs")
        return found[0]


def read_vittrack_onnx(path: str | Path) -> dict[str, Tensor]:
    """Our state dict (keys of the `vittrack` preset) from OpenCV's VitTrack ONNX file at `path`."""
    path = Path(path)
    digest = sha256_file(path)
    if digest != VITTRACK_SHA256:
        raise CheckpointError(
            f"{path} is not OpenCV's {VITTRACK_FILE} (sha256 {digest[:16]}..., expected {VITTRACK_SHA256[:16]}...): "
            "edgetrack reads VitTrack weights from that exact file only; get it from opencv_zoo "
            "models/object_tracking_vittrack")
    try:
        import onnx
    except ImportError:
        raise CheckpointError("reading VitTrack's ONNX file needs the onnx package: pip install 'edgetrack[onnx]'") \
            from None
    graph = _Graph(onnx.load(str(path)))
    state: dict[str, np.ndarray] = {}
    state.update(_stem(graph))
    state.update(_blocks(graph))
    state.update(_head(graph))
    state.update(_named(graph))
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}


def _layout(what: str) -> CheckpointError:
    return CheckpointError(f"VitTrack ONNX layout not as expected: {what}")


def _stem(graph: _Graph) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    name = "template"
    for i in range(_STEM_LAYERS):
        convs = [n for n in graph.consumers(name) if n.op_type == "Conv"]
        node = convs[0] if convs else None
        while node is None:  # step over the activation between two convolutions
            nxt = graph.consumers(name)
            if len(nxt) != 1 or nxt[0].op_type not in ("HardSwish", "Conv"):
                raise _layout(f"stem layer {i} not found after '{name}'")
            node = nxt[0] if nxt[0].op_type == "Conv" else None
            name = nxt[0].output[0]
        weight, bias = (graph.init[node.input[1]], graph.init[node.input[2]])
        if i == 0:
            weight = weight[:, ::-1]  # BGR (OpenCV's crops) -> RGB (ours)
        out[f"backbone.patch_embed.stem.{i}.0.weight"] = weight
        out[f"backbone.patch_embed.stem.{i}.0.bias"] = bias
        name = node.output[0]
    return out


def _blocks(graph: _Graph) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    bias_of = {}
    for node in graph.nodes:
        if node.op_type == "Add":
            named = [i for i in node.input if i.startswith("blocks.") and i.endswith(".bias")]
            other = [i for i in node.input if i not in named]
            if len(named) == 1 and len(other) == 1:
                bias_of[named[0]] = graph.producer.get(other[0])
    for i in range(_DEPTH):
        for layer in _LINEARS:
            key = f"blocks.{i}.{layer}"
            matmul = bias_of.get(f"{key}.bias")
            if matmul is None or matmul.op_type != "MatMul":
                raise _layout(f"no MatMul feeds {key}.bias")
            out[f"backbone.{key}.weight"] = graph.weight(matmul).T
    return out


def _head(graph: _Graph) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for branch in ("ctr", "offset", "size"):
        node = next((n for n in graph.nodes if n.op_type == "Conv" and n.input[1] == f"box_head.conv5_{branch}.weight"),
                    None)
        if node is None:
            raise _layout(f"no box_head.conv5_{branch}")
        for layer in range(_HEAD_LAYERS, 0, -1):
            relu = graph.producer.get(node.input[0])
            conv = graph.producer.get(relu.input[0]) if relu is not None and relu.op_type == "Relu" else None
            if conv is None or conv.op_type != "Conv":
                raise _layout(f"head branch {branch}: layer {layer} is not Conv -> Relu")
            out[f"box_head.conv{layer}_{branch}.0.weight"] = graph.init[conv.input[1]]
            out[f"box_head.conv{layer}_{branch}.0.bias"] = graph.init[conv.input[2]]
            node = conv
    return out


def _named(graph: _Graph) -> dict[str, np.ndarray]:
    """Initializers that keep their PyTorch names: norms, biases, position embeddings, the 1x1 head convs."""
    out: dict[str, np.ndarray] = {}
    for name, value in graph.init.items():
        if name.startswith(("blocks.", "norm.", "pos_embed_")):
            out[f"backbone.{name}"] = value
        elif name.startswith("box_head."):
            out[name] = value
    return out
