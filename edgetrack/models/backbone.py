"""One-stream ViT backbone: template and search tokens attend jointly (OSTrack)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from edgetrack.config.model import ModelConfig
from edgetrack.errors import ModelError
from edgetrack.models.blocks import make_block
from edgetrack.models.layers import ConvStem, PatchEmbed, ce_keep, init_vit_weights


class ViTBackbone(nn.Module):
    """Patch embedding (16x16 projection, or a convolutional stem), per-input position embeddings, pre-norm
    blocks of the kind `cfg.block` (`edgetrack.models.blocks`), final LayerNorm.

    With `cfg.ce_loc` set, candidate elimination drops search tokens after the attention of those
    blocks and zero-fills them back after the final norm, as OSTrack does.
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.embed_dim
        # one embedding for template and search; `patch_size` is its overall stride either way
        self.patch_embed = (PatchEmbed(cfg.patch_size, dim) if cfg.stem == "patch"
                            else ConvStem(cfg.patch_size, dim, cfg.stem))
        self.pos_embed_z = nn.Parameter(torch.zeros(1, cfg.template_feat**2, dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, cfg.search_feat**2, dim))
        rates = [cfg.drop_path * i / max(cfg.depth - 1, 1) for i in range(cfg.depth)]  # linear, as OSTrack
        self.blocks = nn.ModuleList(make_block(cfg, rates[i]) for i in range(cfg.depth))
        self.norm = nn.LayerNorm(dim, eps=cfg.norm_eps)
        nn.init.trunc_normal_(self.pos_embed_z, std=0.02)
        nn.init.trunc_normal_(self.pos_embed_x, std=0.02)
        self.apply(init_vit_weights)

    def embed(self, template: Tensor, search: Tensor) -> Tensor:
        """Tokens [template, search] with their position embeddings, before any block."""
        z = self.patch_embed(template) + self.pos_embed_z
        x = self.patch_embed(search) + self.pos_embed_x
        return torch.cat([z, x], dim=1)

    def forward(self, template: Tensor, search: Tensor, ce: bool | None = None) -> Tensor:
        """Normed tokens (B, Nz + Nx, C); `ce` overrides whether candidate elimination runs."""
        tokens = self.embed(template, search)
        use_ce = bool(self.cfg.ce_loc) if ce is None else ce
        if use_ce and self.cfg.block != "vit":
            raise ModelError(f"candidate elimination needs attention maps; '{self.cfg.block}' blocks have none "
                             "(run with ce=False)")
        if not use_ce:
            for blk in self.blocks:
                tokens = blk(tokens)
            return self.norm(tokens)
        return self._forward_ce(tokens)

    def _forward_ce(self, tokens: Tensor) -> Tensor:
        cfg = self.cfg
        len_t, len_s = cfg.template_feat**2, cfg.search_feat**2
        centre = (cfg.template_feat - 1) // 2
        template_token = centre * cfg.template_feat + centre
        b = tokens.shape[0]
        index = torch.arange(len_s, device=tokens.device).expand(b, -1)
        removed: list[Tensor] = []
        ce_loc = cfg.ce_loc or tuple(i for i in (3, 6, 9) if i < cfg.depth)  # OSTrack's when forced on
        for i, blk in enumerate(self.blocks):
            if i not in ce_loc:
                tokens = blk(tokens)
                continue
            tokens, attn = blk.forward_attn(tokens)
            tokens, index, dropped = ce_keep(attn, tokens, index, len_t, cfg.ce_keep_ratio, template_token)
            if dropped is not None:
                removed.append(dropped)
            tokens = blk.forward_mlp(tokens)
        tokens = self.norm(tokens)
        if not removed:
            return tokens
        z, x = tokens[:, :len_t], tokens[:, len_t:]
        c = x.shape[-1]
        order = torch.cat([index, *removed], dim=1)
        padded = torch.cat([x, x.new_zeros(b, len_s - x.shape[1], c)], dim=1)
        restored = torch.zeros_like(padded).scatter_(1, order.unsqueeze(-1).expand(-1, -1, c), padded)
        return torch.cat([z, restored], dim=1)
