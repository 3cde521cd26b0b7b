"""Parity between an exported ONNX model and its torch source on real crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgetrack.data.crops import preprocess
from edgetrack.models.tracker import TrackerModel


def real_crops(model: TrackerModel, count: int = 4, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Template/search inputs cut by the tracker's own preprocessing from synthetic sequences."""
    from edgetrack.data.synthetic import synthetic_sequence

    cfg = model.cfg
    out = []
    for k in range(count):
        seq = synthetic_sequence(2_000_000 + seed * 100 + k, length=12)
        frames = [i for i in range(1, len(seq)) if seq.visible[i]] or [0]
        z, _ = preprocess(seq.frame(0), seq.boxes[0], cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
        x, _ = preprocess(seq.frame(frames[-1]), seq.boxes[0], cfg.search_factor, cfg.search_size, cfg.mean,
                          cfg.std)
        out.append({"template": z, "search": x})
    return out


def torch_outputs(model: TrackerModel, inputs: dict[str, np.ndarray], fused: bool) -> dict[str, np.ndarray]:
    from edgetrack.export.onnx_export import ExportModule

    module = ExportModule(model, fused).eval()
    with torch.no_grad():
        outs = module(torch.from_numpy(inputs["template"]), torch.from_numpy(inputs["search"]))
    names = ("box", "score") if fused else ("score_map", "size_map", "offset_map")
    return {n: o.numpy() for n, o in zip(names, outs, strict=True)}


def onnx_parity(model: TrackerModel, onnx_path: Path, fused: bool = False, count: int = 4) -> dict[str, float]:
    """Max abs difference per output between ONNX Runtime and torch over `count` real crop pairs."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    runner = OnnxRuntimeBackend(onnx_path)
    worst: dict[str, float] = {}
    for inputs in real_crops(model, count):
        ref = torch_outputs(model, inputs, fused)
        got = runner.infer(inputs)
        for name, value in ref.items():
            worst[name] = max(worst.get(name, 0.0), float(np.abs(got[name] - value).max()))
    return worst
