"""Export a MixFormerV2 model as two ONNX graphs: a template encoder and a per-frame search step.

Template tokens attend only to template tokens, so every block's template keys/values depend on the two
templates alone. `template_encoder.onnx` computes them once per template update (the export-friendly form of the
original's per-block `qkv_mem`); `search_step.onnx` takes the search crop and that memory and gives the head's
raw outputs, which `edgetrack.runtime.decode_distribution` decodes. Both have static shapes, opset 17.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ArtifactError, ConfigError, ModelError
from edgetrack.export.onnx_export import OPSET, require_onnx
from edgetrack.models.mixformerv2 import MixFormerV2Model

ENCODER, STEP, SPEC = "template_encoder.onnx", "search_step.onnx", "mixformerv2_spec.json"
ENCODER_INPUTS, ENCODER_OUTPUTS = ("template", "online_template"), ("memory",)
STEP_INPUTS, STEP_OUTPUTS = ("search", "memory"), ("side_logits", "score_logit")


class TemplateEncoder(nn.Module):
    """(template, online template) -> per-block template keys/values, batch first: (B, depth, 2, heads, 2 Nt,
    head_dim), so that calibration sets, INT8 tools and engine profiles see the batch on axis 0 as for any input."""

    def __init__(self, model: MixFormerV2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, template: Tensor, online_template: Tensor) -> Tensor:
        return self.model.template_memory(template, online_template).permute(2, 0, 1, 3, 4, 5)


class SearchStep(nn.Module):
    """(search, memory) -> (side logits (1, 4, bins), score logit (1, 1))."""

    def __init__(self, model: MixFormerV2Model) -> None:
        super().__init__()
        self.model = model

    def forward(self, search: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        out = self.model.track_search(search, memory.permute(1, 2, 0, 3, 4, 5))
        return out.side_logits, out.score_logit


def input_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every exported graph's input shapes (batch 1) by input name."""
    t, s = cfg.template_size, cfg.search_size
    n_t = 2 * cfg.template_feat**2
    return {"template": (1, 3, t, t), "online_template": (1, 3, t, t), "search": (1, 3, s, s),
            "memory": (1, cfg.depth, 2, cfg.num_heads, n_t, cfg.embed_dim // cfg.num_heads)}


def example_inputs(model: MixFormerV2Model) -> dict[str, np.ndarray]:
    """Zero inputs of every exported graph's shapes (batch 1), keyed by input name."""
    return {k: np.zeros(v, np.float32) for k, v in input_shapes(model.cfg).items()}


def _export(module: nn.Module, args: tuple[Tensor, ...], path: Path, inputs: tuple[str, ...],
            outputs: tuple[str, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape arithmetic are expected and harmless
        with torch.no_grad():
            torch.onnx.export(module.eval(), args, str(path), input_names=list(inputs), output_names=list(outputs),
                              opset_version=OPSET, dynamo=False)


def export_mixformerv2(model: MixFormerV2Model, folder: str | Path) -> Path:
    """Write the template encoder, the search step and their processing spec into `folder`; return it."""
    if not isinstance(model, MixFormerV2Model):
        raise ModelError(f"export_mixformerv2 expects a MixFormerV2Model, got {type(model).__name__}")
    require_onnx()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval().cpu()
    ex = {k: torch.from_numpy(v) for k, v in example_inputs(model).items()}
    _export(TemplateEncoder(model), (ex["template"], ex["online_template"]), out / ENCODER, ENCODER_INPUTS,
            ENCODER_OUTPUTS)
    _export(SearchStep(model), (ex["search"], ex["memory"]), out / STEP, STEP_INPUTS, STEP_OUTPUTS)
    (out / SPEC).write_text(json.dumps(model.cfg.to_dict(), indent=2) + "\n")
    return out


def load_spec(folder: str | Path) -> ModelConfig:
    """The model config an export folder was written with (its processing constants)."""
    path = Path(folder) / SPEC
    if not path.is_file():
        raise ArtifactError(f"{folder} has no {SPEC}; it is not a MixFormerV2 export (export_mixformerv2 writes it)")
    try:
        return build_config(ModelConfig, json.loads(path.read_text()))
    except (json.JSONDecodeError, ConfigError) as err:
        raise ArtifactError(f"{path} is not a valid model config ({err}); export again") from None


def split_parity(model: MixFormerV2Model, folder: str | Path, seed: int = 0) -> dict[str, float]:
    """Max |ONNX Runtime - torch| of each exported graph's outputs on random inputs."""
    from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend

    rng = np.random.default_rng(seed)
    ex = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in example_inputs(model).items()}
    folder = Path(folder)
    with torch.no_grad():
        memory = TemplateEncoder(model)(torch.from_numpy(ex["template"]), torch.from_numpy(ex["online_template"]))
        ex["memory"] = memory.numpy()
        expected = {"memory": memory, **dict(zip(STEP_OUTPUTS, SearchStep(model)(
            torch.from_numpy(ex["search"]), memory), strict=True))}
    got = {**OnnxRuntimeBackend(folder / ENCODER).infer({k: ex[k] for k in ENCODER_INPUTS}),
           **OnnxRuntimeBackend(folder / STEP).infer({k: ex[k] for k in STEP_INPUTS})}
    return {k: float(np.abs(got[k] - v.numpy()).max()) for k, v in expected.items()}
