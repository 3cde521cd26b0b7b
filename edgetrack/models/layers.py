"""Transformer building blocks with OSTrack's parameter names (attn.qkv, mlp.fc1, norm1, ...)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample during training."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens (B, N, C)."""

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class ConvStem(nn.Module):
    """Strided 3x3 convolutions (stride 2 each) down to an overall stride of `stride`: tokens (B, N, C) on the
    same grid as a `stride` patch embedding. Two kinds:

    - `"conv"`: conv-BN-ReLU layers with channels doubling up to `dim`, then a 1x1 projection to `dim`.
      Overlapping convolutions give a tracker trained from scratch a locality prior that 16x16 patches lack,
      and a finer token grid (stride 8: a 16x16 score map for a 128-pixel search crop).
    - `"conv-hardswish"`: VitTrack's stem: convolutions with biases (its batch norm folded in), HardSwish
      between them, channels doubling so that the last one gives `dim` (3 -> 6 -> 12 -> 24 -> 48 for 48).
    """

    def __init__(self, stride: int, dim: int, kind: str = "conv") -> None:
        super().__init__()
        n = int(math.log2(stride))
        if stride < 2 or 2**n != stride:
            raise ValueError(f"a conv stem needs a power-of-two stride >= 2, not {stride}")
        if kind not in ("conv", "conv-hardswish"):
            raise ValueError(f"unknown conv stem kind '{kind}' (conv, conv-hardswish)")
        widths = stem_channels(stride, dim, kind)
        if kind == "conv":
            self.stem = nn.Sequential(*(
                nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1, bias=False),
                              nn.BatchNorm2d(widths[i + 1]), nn.ReLU(inplace=True))
                for i in range(n)))
            self.proj: nn.Module = nn.Conv2d(widths[-1], dim, kernel_size=1)
        else:
            self.stem = nn.Sequential(*(
                nn.Sequential(nn.Conv2d(widths[i], widths[i + 1], 3, stride=2, padding=1),
                              *([nn.Hardswish()] if i < n - 1 else []))
                for i in range(n)))
            self.proj = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(self.stem(x)).flatten(2).transpose(1, 2)


def stem_channels(stride: int, dim: int, kind: str = "conv") -> list[int]:
    """Channel widths of `ConvStem(stride, dim, kind)`'s strided layers, input channels first."""
    n = int(math.log2(stride))
    if kind == "conv-hardswish":
        return [3] + [max(dim >> (n - 1 - i), 1) for i in range(n)]
    return [3] + [max(dim >> (n - 1 - i), 8) for i in range(n)]


def stem_projects(kind: str) -> bool:
    """Whether a conv stem of `kind` ends with a 1x1 projection to the embedding width."""
    return kind == "conv"


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, need_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """Return the attended tokens and, when asked, the attention map (B, heads, N, N).

        Computed as OSTrack does, softmax((q @ k^T) * scale), so fp32 outputs match its model bit for bit.
        """
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        out = self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))
        return out, attn if need_weights else None

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Queries, keys and values of tokens (B, N, C), each (B, heads, N, C // heads)."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        return q, k, v

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """softmax(q k^T * scale) v with heads merged: (B, Nq, C), before `proj`."""
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        out = attn @ v
        return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)

    def forward_asymmetric(self, x: Tensor, template_len: int) -> Tensor:
        """Asymmetric mixed attention (MixFormerV2): the first `template_len` tokens attend to those tokens only,
        the rest attend to all tokens. The template half is then independent of the rest, so it can be cached."""
        q, k, v = self.heads(x)
        t = template_len
        z = self.attend(q[:, :, :t], k[:, :, :t], v[:, :, :t])
        s = self.attend(q[:, :, t:], k, v)
        return self.proj(torch.cat([z, s], dim=1))

    def forward_memory(self, x: Tensor, k_mem: Tensor, v_mem: Tensor) -> Tensor:
        """Tokens `x` attend to cached keys/values (B, heads, M, C // heads) placed before their own."""
        q, k, v = self.heads(x)
        return self.proj(self.attend(q, torch.cat([k_mem, k], dim=2), torch.cat([v_mem, v], dim=2)))

    def forward_kv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Plain self-attention that also returns its keys and values (what `forward_memory` takes)."""
        q, k, v = self.heads(x)
        return self.proj(self.attend(q, k, v)), k, v


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block; `forward_attn` exposes the attention map for candidate elimination."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, eps: float,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x))[0])
        return x + self.drop_path(self.mlp(self.norm2(x)))

    def forward_attn(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Attention half of the block; returns the residual sum and the attention map."""
        out, attn = self.attn(self.norm1(x), need_weights=True)
        assert attn is not None
        return x + self.drop_path(out), attn

    def forward_mlp(self, x: Tensor) -> Tensor:
        return x + self.drop_path(self.mlp(self.norm2(x)))


def ce_keep(attn: Tensor, tokens: Tensor, global_index: Tensor, len_t: int, keep_ratio: float,
            template_token: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """Candidate elimination: keep the search tokens most attended by the template centre token.

    Returns the kept tokens (template first), their original search indices, and the removed indices.
    """
    len_s = attn.shape[-1] - len_t
    n_keep = math.ceil(keep_ratio * len_s)
    if n_keep == len_s:
        return tokens, global_index, None
    # mean over heads of the centre template token's attention to each search token
    score = attn[:, :, template_token, len_t:].mean(dim=1)
    order = torch.sort(score, dim=1, descending=True).indices
    keep_idx, drop_idx = order[:, :n_keep], order[:, n_keep:]
    search = tokens[:, len_t:]
    kept = search.gather(1, keep_idx.unsqueeze(-1).expand(-1, -1, search.shape[-1]))
    new_tokens = torch.cat([tokens[:, :len_t], kept], dim=1)
    return new_tokens, global_index.gather(1, keep_idx), global_index.gather(1, drop_idx)


def init_vit_weights(m: nn.Module) -> None:
    """ViT initialisation (timm's): truncated-normal linears with zero biases, unit LayerNorms."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
