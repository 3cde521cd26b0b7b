"""MixFormerV2 (family `mixformerv2`): a one-stream ViT with four prediction tokens and MLP heads.

Tokens are `[template, online template, search, 4 prediction tokens]`. Template and search carry fixed 2-D
sin-cos position embeddings (both templates share one), the prediction tokens a learnt one. Attention is
asymmetric: template tokens attend to template tokens only, search and prediction tokens to everything, so
the template half of every block depends on the templates alone and its keys/values can be computed once per
template update (`template_memory`) and reused for every frame (`track_search`). There is no final norm.

The box head maps each prediction token (left, right, top, bottom, in that order) to logits over `head_bins`
bins spanning the search crop; the score head averages one logit over the four tokens. Decoding (softmax,
expectation, sigmoid) lives in `edgetrack.runtime.decode_distribution`. Parameter names are those of the
official release (state dict under `net`), so its checkpoints load strictly.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from edgetrack.config.model import ModelConfig
from edgetrack.errors import ModelError
from edgetrack.models.layers import Block, PatchEmbed, init_vit_weights

NUM_PRED_TOKENS = 4  # left, right, top, bottom
SIDES = ("l", "r", "t", "b")


class MixOutput(NamedTuple):
    """Raw head outputs; `edgetrack.runtime.decode_distribution` turns them into a box and a score."""

    side_logits: Tensor  # (B, 4, bins), sides in token order l, r, t, b
    score_logit: Tensor  # (B, 1), before the sigmoid


def sincos_pos_embed_2d(dim: int, grid: int) -> Tensor:
    """(1, grid*grid, dim) fixed embedding: the first half encodes the column, the second the row, each as
    [sin(p * w_k), cos(p * w_k)] with w_k = 10000^(-k / (dim/4)) (MAE's layout, which MixFormerV2 uses)."""
    if dim % 4:
        raise ModelError(f"a 2-D sin-cos position embedding needs a width divisible by 4, not {dim}")
    quarter = dim // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                                indexing="ij")

    def one_axis(pos: Tensor) -> Tensor:
        angles = pos.reshape(-1, 1) * omega[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)

    return torch.cat([one_axis(cols), one_axis(rows)], dim=1).float()[None]


class MixBlock(Block):
    """The shared pre-norm ViT block with asymmetric mixed attention over `template_len` leading tokens."""

    def __init__(self, cfg: ModelConfig, template_len: int, drop_path: float = 0.0) -> None:
        super().__init__(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps, drop_path)
        self.template_len = template_len

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn.forward_asymmetric(self.norm1(x), self.template_len))
        return self.forward_mlp(x)

    def forward_kv(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Template tokens only: the block's output and the keys/values search tokens will attend to."""
        out, k, v = self.attn.forward_kv(self.norm1(z))
        return self.forward_mlp(z + self.drop_path(out)), k, v

    def forward_memory(self, x: Tensor, k_mem: Tensor, v_mem: Tensor) -> Tensor:
        """Search and prediction tokens, attending to cached template keys/values and to themselves."""
        x = x + self.drop_path(self.attn.forward_memory(self.norm1(x), k_mem, v_mem))
        return self.forward_mlp(x)


class MixFormerV2Backbone(nn.Module):
    """Patch embedding, fixed position embeddings, prediction tokens, asymmetric blocks; no final norm."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.embed_dim
        self.len_t, self.len_s = cfg.template_feat**2, cfg.search_feat**2
        self.patch_embed = PatchEmbed(cfg.patch_size, dim)
        rates = [cfg.drop_path * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]  # linear, as the original
        self.blocks = nn.ModuleList(MixBlock(cfg, 2 * self.len_t, rates[i]) for i in range(cfg.depth))
        # fixed, as in the original; still parameters (requires_grad False) because its checkpoints store them
        self.pos_embed_s = nn.Parameter(sincos_pos_embed_2d(dim, cfg.search_feat), requires_grad=False)
        self.pos_embed_t = nn.Parameter(sincos_pos_embed_2d(dim, cfg.template_feat), requires_grad=False)
        self.reg_tokens = nn.Parameter(torch.zeros(1, NUM_PRED_TOKENS, dim))
        self.pos_embed_reg = nn.Parameter(torch.zeros(1, NUM_PRED_TOKENS, dim))
        self.norm = nn.Identity()  # no final norm; named so stage-wise code can treat every family alike
        self.apply(init_vit_weights)
        nn.init.trunc_normal_(self.reg_tokens, std=0.02)

    def templates(self, template: Tensor, online_template: Tensor) -> Tensor:
        """Template tokens [template, online template] with their (shared) position embedding."""
        return torch.cat([self.patch_embed(template) + self.pos_embed_t,
                          self.patch_embed(online_template) + self.pos_embed_t], dim=1)

    def search_tokens(self, search: Tensor) -> Tensor:
        """Search tokens with their position embedding, followed by the four prediction tokens."""
        x = self.patch_embed(search) + self.pos_embed_s
        reg = (self.reg_tokens + self.pos_embed_reg).expand(x.shape[0], -1, -1)
        return torch.cat([x, reg], dim=1)

    def embed(self, template: Tensor, search: Tensor, online_template: Tensor | None = None) -> Tensor:
        """All tokens before any block; the online template defaults to the template (a tracker's first frame)."""
        online = template if online_template is None else online_template
        return torch.cat([self.templates(template, online), self.search_tokens(search)], dim=1)

    def forward(self, template: Tensor, search: Tensor, online_template: Tensor | None = None) -> Tensor:
        tokens = self.embed(template, search, online_template)
        for blk in self.blocks:
            tokens = blk(tokens)
        return tokens

    def template_memory(self, template: Tensor, online_template: Tensor) -> Tensor:
        """Keys and values of the template tokens at every block: (depth, 2, B, heads, 2 * Nt, head_dim)."""
        z = self.templates(template, online_template)
        memory = []
        for blk in self.blocks:
            z, k, v = blk.forward_kv(z)
            memory.append(torch.stack([k, v]))
        return torch.stack(memory)

    def forward_search(self, search: Tensor, memory: Tensor) -> Tensor:
        """Search and prediction tokens after the last block, given `template_memory`'s output."""
        if memory.shape[0] != len(self.blocks):
            raise ModelError(f"template memory has {memory.shape[0]} blocks; this model has {len(self.blocks)}")
        x = self.search_tokens(search)
        for blk, kv in zip(self.blocks, memory, strict=True):
            x = blk.forward_memory(x, kv[0], kv[1])
        return x


class DistributionHead(nn.Module):
    """One MLP shared by the four prediction tokens: Linear-LN-ReLU, Linear-LN -> logits over the bins."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim), nn.ReLU()),
                                    nn.Sequential(nn.Linear(dim, bins), nn.LayerNorm(bins)))

    def forward(self, tokens: Tensor) -> Tensor:
        return self.layers(tokens)


class ScoreHead(nn.Module):
    """Linear-ReLU-Linear to one logit per prediction token, averaged over the four tokens."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Sequential(nn.Linear(dim, dim), nn.ReLU()), nn.Linear(dim, 1))

    def forward(self, tokens: Tensor) -> Tensor:
        return self.layers(tokens).mean(dim=1)


class MixFormerV2Model(nn.Module):
    """`forward(template, search, online_template=None) -> MixOutput(side_logits, score_logit)`.

    Inputs are normalised RGB crops: templates (B, 3, T, T), search (B, 3, S, S). `template_memory` and
    `track_search` split the same computation into a per-template-update and a per-frame part.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        if cfg.stem != "patch" or cfg.block != "vit":
            raise ModelError(f"MixFormerV2 models use the 16x16 patch stem and ViT blocks; got stem '{cfg.stem}', "
                             f"block '{cfg.block}'")
        self.cfg = cfg
        self.backbone = MixFormerV2Backbone(cfg)
        self.box_head = DistributionHead(cfg.embed_dim, cfg.head_bins)
        self.score_head = ScoreHead(cfg.embed_dim)

    def forward(self, template: Tensor, search: Tensor, online_template: Tensor | None = None) -> MixOutput:
        return self.head(self.backbone(template, search, online_template))

    def head(self, tokens: Tensor) -> MixOutput:
        """Both heads on the last four tokens (the prediction tokens)."""
        reg = tokens[:, -NUM_PRED_TOKENS:]
        return MixOutput(self.box_head(reg), self.score_head(reg))

    def template_memory(self, template: Tensor, online_template: Tensor) -> Tensor:
        """Per-block template keys/values; recompute only when a template changes."""
        return self.backbone.template_memory(template, online_template)

    def track_search(self, search: Tensor, memory: Tensor) -> MixOutput:
        """The per-frame part: equals `forward(template, search, online_template)` for the memory's templates."""
        return self.head(self.backbone.forward_search(search, memory))
