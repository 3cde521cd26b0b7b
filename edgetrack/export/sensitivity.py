"""Which weight layers an INT8 graph keeps in floating point: leave-one-out sensitivity on the calibration crops.

The INT8 graph is quantised once with every layer, then once more per weight layer (Conv, Gemm, MatMul with a
weight; nodes sharing one weight, such as the template and search stems, are one layer, named by its weight)
with that layer alone left in floating point. A layer's sensitivity is how much closer the decoded
boxes come to the fp32 graph's on the calibration crops when it is left out: the mean L1 distance (normalised
crop coordinates) between the boxes both graphs decode, Hann window applied, as the tracker decodes them. The
`count` most sensitive layers stay in floating point. Only the calibration crops, the user's own domain, are
used: no annotation, no benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgetrack.artifacts import scratch_folder
from edgetrack.calibration.store import CalibrationSet
from edgetrack.errors import ConfigError
from edgetrack.runtime.decode import decode, hann2d

#: calibration crops the boxes are compared on (the first ones; the quantiser calibrates on all of them)
COMPARE_SAMPLES = 128


def weight_layers(path: Path) -> dict[str, list[str]]:
    """The layers INT8 could keep in float: weight name -> the Conv, Gemm and MatMul nodes multiplying by it (kept
    together: a weight shared by a quantised and a float node would leave the float one reading INT8 weights)."""
    import onnx

    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    layers: dict[str, list[str]] = {}
    for node in graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in weights:
            layers.setdefault(node.input[1], []).append(node.name)
    return layers


def decoded_boxes(path: Path, samples: list[dict[str, np.ndarray]]) -> np.ndarray:
    """(N, 4) normalised boxes the tracker would decode from `path`'s outputs on each sample."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    backend = OnnxRuntimeBackend(path)
    boxes = []
    for inputs in samples:
        out = backend.infer(inputs)
        window = hann2d(out["score_map"].shape[-1])
        boxes.append(decode(out["score_map"], out["size_map"], out["offset_map"], window)[0])
    backend.close()
    return np.array(boxes)


def box_error(reference: np.ndarray, boxes: np.ndarray) -> float:
    """Mean L1 distance between two graphs' decoded boxes over the same samples."""
    return float(np.abs(reference - boxes).sum(axis=1).mean())


def most_sensitive(src: Path, calib: CalibrationSet, count: int,
                   quantise: Callable[[Path, Path, list[str]], Path],
                   progress: Callable[[str], None] | None = None) -> tuple[list[str], dict[str, float]]:
    """The `count` layers (weight names) of `src` to keep in float, and every layer's box error when it alone is
    kept in float (with "all" the error of the fully quantised graph). `quantise(src, dst, nodes)` writes one INT8
    graph keeping `nodes` in float; `float_nodes` turns layers into their nodes."""
    layers = weight_layers(src)
    if not 0 < count <= len(layers):
        raise ConfigError(f"--int8-float-layers takes 1 to {len(layers)} (the weight layers of {src.name}); "
                          f"got {count}")
    samples = [{k: v[i:i + 1].astype(np.float32) for k, v in calib.arrays.items()}
               for i in range(min(COMPARE_SAMPLES, len(calib)))]
    reference = decoded_boxes(src, samples)
    errors: dict[str, float] = {}
    with scratch_folder(src) as tmp:
        for step, layer in enumerate(["all", *layers]):
            if progress:
                progress(f"INT8 sensitivity {step}/{len(layers)}: {layer}")
            variant = quantise(src, tmp / "variant.onnx", [] if layer == "all" else layers[layer])
            errors[layer] = box_error(reference, decoded_boxes(variant, samples))
    chosen = sorted(layers, key=lambda name: errors[name])[:count]
    return chosen, errors


def float_nodes(src: Path, layers: list[str]) -> list[str]:
    """The node names of the named layers (weight names) of `src`."""
    nodes = weight_layers(src)
    return [node for layer in layers for node in nodes[layer]]
