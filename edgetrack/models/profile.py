"""Parameter and multiply-accumulate counts of a tracker, computed from its config."""

from __future__ import annotations

import math

import torch
from torch import nn

from edgetrack.config.model import ModelConfig
from edgetrack.families import family_of
from edgetrack.models.layers import stem_channels, stem_projects
from edgetrack.models.mixformerv2 import NUM_PRED_TOKENS as _PRED_TOKENS


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _block_macs(cfg: ModelConfig, n_attn: int, n_mlp: int) -> int:
    dim = cfg.embed_dim
    hidden = int(dim * cfg.mlp_ratio)
    mlp = 2 * n_mlp * dim * hidden
    if cfg.block == "separable":
        linear = n_attn * dim * (1 + 2 * dim) + n_attn * dim * dim  # qkv_proj (query, keys, values) + out_proj
        return linear + 2 * n_attn * dim + mlp  # keys x scores summed, ReLU(values) x context: linear in tokens
    linear = n_attn * dim * 4 * dim  # qkv + proj
    attention = 2 * n_attn * n_attn * dim  # q @ k^T and attn @ v
    return linear + attention + mlp


def _head_macs(cfg: ModelConfig) -> int:
    c = cfg.head_channels
    widths = [cfg.embed_dim, c, c // 2, c // 4, c // 8]
    cells = cfg.search_feat**2
    convs = sum(widths[i] * widths[i + 1] * 9 for i in range(4))
    return cells * (3 * convs + widths[4] * (1 + 2 + 2))


def _stem_macs(cfg: ModelConfig, tokens: int) -> int:
    if cfg.stem == "patch":
        return tokens * 3 * cfg.patch_size**2 * cfg.embed_dim
    widths = stem_channels(cfg.patch_size, cfg.embed_dim, cfg.stem)
    n = len(widths) - 1
    # layer i writes a grid 2**(n - 1 - i) times finer per side than the token grid
    convs = sum(tokens * 4 ** (n - 1 - i) * widths[i] * widths[i + 1] * 9 for i in range(n))
    return convs + (tokens * widths[-1] * cfg.embed_dim if stem_projects(cfg.stem) else 0)


def count_macs(cfg: ModelConfig, ce: bool = False) -> int:
    """MACs of one forward pass (batch 1): patch embedding, blocks (attention included) and head.

    `ce` counts OSTrack's candidate elimination; blocks without attention maps (separable) never run it.
    """
    own_count = family_of(cfg).macs
    if own_count is not None:
        return family_of(cfg).hook("macs")(cfg)
    len_t, len_s = cfg.template_feat**2, cfg.search_feat**2
    patch = _stem_macs(cfg, len_t + len_s)
    total = patch + _head_macs(cfg)
    ce_loc = set(cfg.ce_loc or (3, 6, 9)) if ce and cfg.block == "vit" else set()
    for i in range(cfg.depth):
        n = len_t + len_s
        if i in ce_loc:
            len_s = math.ceil(cfg.ce_keep_ratio * len_s)
        total += _block_macs(cfg, n, len_t + len_s)
    return total


def mixformer_macs(cfg: ModelConfig, search_step: bool = False) -> int:
    """MACs of one forward; `search_step`: only the per-frame part once the template memory is cached."""
    c, hidden = cfg.embed_dim, int(cfg.embed_dim * cfg.mlp_ratio)
    n_t, n_x = 2 * cfg.template_feat**2, cfg.search_feat**2 + _PRED_TOKENS
    rows = n_x if search_step else n_t + n_x  # tokens whose projections and MLP run
    embedded = cfg.search_feat**2 + (0 if search_step else n_t)
    total = embedded * 3 * cfg.patch_size**2 * c
    attention = 2 * n_x * (n_t + n_x) * c + (0 if search_step else 2 * n_t * n_t * c)
    total += cfg.depth * (rows * 4 * c * c + attention + 2 * rows * c * hidden)
    heads = _PRED_TOKENS * (c * c + c * cfg.head_bins) + _PRED_TOKENS * (c * c + c)
    return total + heads


def describe(name_or_path: str) -> dict[str, object]:
    """Size and shape facts of a preset or model folder, without allocating its weights."""
    from edgetrack.models.factory import build_model, model_config  # the factory sits above the profile

    cfg = model_config(name_or_path)
    with torch.device("meta"):
        model = build_model(cfg)
    return {
        "name": cfg.name,
        "parameters": count_parameters(model),
        "gmacs": round(count_macs(cfg) / 1e9, 2),
        "gmacs_ce": round(count_macs(cfg, ce=True) / 1e9, 2),
        "depth": cfg.depth,
        "embed_dim": cfg.embed_dim,
        "num_heads": cfg.num_heads,
        "template": f"{cfg.template_size}x{cfg.template_size} (factor {cfg.template_factor})",
        "search": f"{cfg.search_size}x{cfg.search_size} (factor {cfg.search_factor})",
        "feature_map": f"{cfg.search_feat}x{cfg.search_feat}",
    }
