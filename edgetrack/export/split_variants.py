"""Reduced precision for MixFormerV2's split graphs: fp16 per graph, INT8 with each graph calibrated on its inputs.

The template encoder calibrates on the calibration set's template and online-template crops. The search step
calibrates on its search crops together with the template memory that the fp32 encoder computes from the same
sample's templates, so the step's INT8 ranges are those of the memories it meets at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edgetrack.calibration.store import CalibrationSet
from edgetrack.errors import ConfigError
from edgetrack.export.mixformerv2 import ENCODER, ENCODER_INPUTS, STEP, input_shapes, load_spec
from edgetrack.export.precision import to_fp16, to_int8

if TYPE_CHECKING:
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

GRAPHS = (ENCODER, STEP)
PARITY_SAMPLES = 8


def graph_file(folder: str | Path, graph: str, precision: str = "fp32") -> Path:
    """`template_encoder.onnx` for fp32, else `template_encoder.PRECISION.onnx` (likewise for the search step)."""
    return Path(folder) / (graph if precision == "fp32" else f"{Path(graph).stem}.{precision}.onnx")


def _encoder(folder: Path, precision: str = "fp32") -> OnnxRuntimeBackend:
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(graph_file(folder, ENCODER, precision))


def step_calibration(folder: Path, calib: CalibrationSet) -> CalibrationSet:
    """The search step's calibration set: each sample's search crop and its fp32 template memory."""
    encoder = _encoder(folder)
    memory = [encoder.infer({k: calib.arrays[k][i:i + 1] for k in ENCODER_INPUTS})["memory"]
              for i in range(len(calib))]
    return CalibrationSet({"search": calib.arrays["search"], "memory": np.concatenate(memory)})


def _check_calibration(calib: CalibrationSet | None, shapes: dict[str, tuple[int, ...]]) -> CalibrationSet:
    if calib is None:
        raise ConfigError("int8 needs a calibration set: edgetrack calibrate MODEL --out calib.npz (it collects "
                          "template, online-template and search crops for MixFormerV2), then --calib")
    calib.check_inputs({k: shapes[k] for k in ("template", "online_template", "search")}, "this MixFormerV2 model")
    return calib


def parity_samples(calib: CalibrationSet | None, shapes: dict[str, tuple[int, ...]],
                   count: int = PARITY_SAMPLES) -> list[dict[str, np.ndarray]]:
    """Real crops from `calib` (up to `count`), else one seeded noise sample of the encoder and search inputs."""
    names = (*ENCODER_INPUTS, "search")
    if calib is None:
        rng = np.random.default_rng(0)
        return [{k: rng.standard_normal(shapes[k]).astype(np.float32) for k in names}]
    return [{k: calib.arrays[k][i:i + 1].astype(np.float32) for k in names} for i in range(min(count, len(calib)))]


def chain_outputs(folder: Path, precision: str, samples: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    """Memory, side logits and score logit of the two graphs of `precision`, run one after the other per sample."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    encoder, step = _encoder(folder, precision), OnnxRuntimeBackend(graph_file(folder, STEP, precision))
    outs = []
    for sample in samples:
        memory = encoder.infer({k: sample[k] for k in ENCODER_INPUTS})["memory"]
        outs.append({"memory": memory, **step.infer({"search": sample["search"], "memory": memory})})
    return outs


def chain_parity(folder: Path, precision: str, samples: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Max |variant - fp32| per output of the chained graphs over `samples`."""
    worst: dict[str, float] = {}
    for ref, got in zip(chain_outputs(folder, "fp32", samples), chain_outputs(folder, precision, samples),
                        strict=True):
        for name, value in ref.items():
            worst[name] = max(worst.get(name, 0.0), float(np.abs(value - got[name]).max()))
    return worst


def make_split_variants(folder: Path, precisions: list[str], calib: CalibrationSet | None,
                        shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, dict[str, float]]:
    """Write each graph's fp16 / int8 file next to its fp32 one; return the chained parity against fp32.

    `shapes` are the graphs' input shapes by name (default: read from the fp32 export's spec).
    """
    shapes = shapes or input_shapes(load_spec(folder))
    report = {}
    for precision in precisions:
        if precision == "fp32":
            continue
        if precision == "fp16":
            for graph in GRAPHS:
                to_fp16(graph_file(folder, graph), graph_file(folder, graph, precision))
        else:
            calib = _check_calibration(calib, shapes)
            to_int8(graph_file(folder, ENCODER), graph_file(folder, ENCODER, precision),
                    CalibrationSet({k: calib.arrays[k] for k in ENCODER_INPUTS}))
            to_int8(graph_file(folder, STEP), graph_file(folder, STEP, precision), step_calibration(folder, calib))
        report[precision] = chain_parity(folder, precision, parity_samples(calib, shapes))
    return report

