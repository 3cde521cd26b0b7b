"""Export a tracker to ONNX (opset 17, static shapes or a free batch axis) with an optional in-graph post-process."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from edgetrack.errors import ConfigError, MissingDependencyError
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.decode_torch import decode_torch
from edgetrack.runtime.io_spec import IOSpec

OPSET = 17


def hann_window(n: int) -> Tensor:
    """(1, 1, n, n) outer product of 0.5 * (1 - cos(2 pi k / (n + 1))), k = 1..n (OSTrack's inference)."""
    k = torch.arange(1, n + 1, dtype=torch.float64)
    w = 0.5 * (1 - torch.cos(2 * torch.pi * k / (n + 1)))
    return (w[:, None] * w[None, :]).float()[None, None]


class ExportModule(nn.Module):
    """What goes into the graph: the model without candidate elimination, optionally with the decode.

    Fused outputs are `box` (1, 4) normalised cx, cy, w, h and `score` (1,), equal to the numpy decoder's.
    """

    def __init__(self, model: TrackerModel, fused: bool = False) -> None:
        super().__init__()
        self.model, self.fused = model, fused
        self.register_buffer("window", hann_window(model.cfg.search_feat))

    def forward(self, template: Tensor, search: Tensor) -> tuple[Tensor, ...]:
        out = self.model(template, search, ce=False)
        if not self.fused:
            return tuple(out)
        return decode_torch(out.score_map, out.size_map, out.offset_map, self.window)


def require_onnx() -> None:
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise MissingDependencyError("onnx", "onnx", "ONNX export") from None


def export_onnx(model: TrackerModel, path: str | Path, fused: bool = False, dynamic_batch: bool = False) -> IOSpec:
    """Write `model` (eval mode, no CE) to `path`; return its IOSpec. `dynamic_batch` frees the batch axis of every
    input and output, so one call runs several targets (the fused post-process decodes one target, so not both)."""
    require_onnx()
    if fused and dynamic_batch:
        raise ConfigError("--fuse-postprocess decodes one target per call; export with one of it and "
                          "--dynamic-batch, not both")
    cfg = model.cfg
    module = ExportModule(model, fused).eval().cpu()
    spec = IOSpec.from_model_config(cfg, fused=fused, dynamic_batch=dynamic_batch)
    names = [t.name for t in (*spec.inputs, *spec.outputs)]
    axes = {name: {0: "batch"} for name in names} if dynamic_batch else None
    example = tuple(torch.zeros(t.shape) for t in spec.inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic are expected and harmless
        with torch.no_grad():
            torch.onnx.export(module, example, str(path), input_names=[t.name for t in spec.inputs],
                              output_names=[t.name for t in spec.outputs], opset_version=OPSET, dynamo=False,
                              dynamic_axes=axes)
    return spec
