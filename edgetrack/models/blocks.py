"""Backbone block kinds named by `ModelConfig.block`: OSTrack's pre-norm ViT block (`vit`) and SMAT's separable
self-attention block (`separable`), a CompressTracker student layer whose attention costs linear time in tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edgetrack.config.model import ModelConfig
from edgetrack.models.layers import Attention, Block, DropPath, Mlp
from edgetrack.registry import Registry

BlockFactory = Callable[[ModelConfig, float], nn.Module]
BLOCKS: Registry[BlockFactory] = Registry("block")


class SeparableAttention(nn.Module):
    """MobileViTv2's separable (linear) self-attention, as SMAT uses it, on tokens (B, N, C).

    One projection gives a one-channel query, keys and values; the query's softmax over the N tokens weights the
    keys into one context vector; each token's output is ReLU(value) x context, then `out_proj`. Template and
    search tokens share the one softmax, as in SMAT's mixed-attention layers.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.qkv_proj = nn.Linear(dim, 1 + 2 * dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.qkv_proj(x).split([1, self.dim, self.dim], dim=-1)
        scores = q.softmax(dim=1)  # (B, N, 1): a distribution over tokens
        # a weighted sum, not a matmul, as MobileViTv2: ReduceSum stays out of INT8 and the softmax weights stay fp32
        context = (k * scores).sum(dim=1, keepdim=True)
        return self.out_proj(F.relu(v) * context)

    @torch.no_grad()
    def load_from_attention(self, attn: Attention) -> None:
        """Initialise from a ViT attention: keys, values and output projection copied, the query zeroed.

        A zero query gives uniform scores, so the layer starts as the mean of the teacher's keys gating its values.
        """
        c = self.dim
        weight, bias = attn.qkv.weight, attn.qkv.bias
        self.qkv_proj.weight.zero_()
        self.qkv_proj.bias.zero_()
        self.qkv_proj.weight[1:].copy_(weight[c:])  # teacher rows: [q | k | v], each C wide
        if bias is not None:
            self.qkv_proj.bias[1:].copy_(bias[c:])
        self.out_proj.load_state_dict(attn.proj.state_dict())


class SeparableBlock(nn.Module):
    """Pre-norm residual block: separable self-attention, then the MLP, with OSTrack's norm/mlp key names."""

    def __init__(self, dim: int, mlp_ratio: float, eps: float, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SeparableAttention(dim)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


def _vit(cfg: ModelConfig, drop_path: float) -> nn.Module:
    return Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, drop_path)


def _separable(cfg: ModelConfig, drop_path: float) -> nn.Module:
    return SeparableBlock(cfg.embed_dim, cfg.mlp_ratio, cfg.norm_eps, drop_path)


BLOCKS.add("vit", _vit)
BLOCKS.add("separable", _separable)


def make_block(cfg: ModelConfig, drop_path: float = 0.0) -> nn.Module:
    """One backbone block of the kind `cfg.block`."""
    return BLOCKS.get(cfg.block)(cfg, drop_path)
