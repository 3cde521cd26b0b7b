from __future__ import annotations

import typing

import pytest
import torch
from torch import nn

from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError, ModelError
from edgetrack.models import create_model, save_model
from edgetrack.models.blocks import BLOCKS, SeparableAttention, SeparableBlock
from edgetrack.models.layers import Attention
from edgetrack.models.profile import _head_macs, _stem_macs, count_macs
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO

SEPARABLE = MICRO.replace(block="separable")


def test_registry_covers_every_config_block_kind() -> None:
    kinds = typing.get_args(ModelConfig.model_fields["block"].annotation)
    assert set(BLOCKS.names()) == set(kinds) == {"vit", "separable"}
    assert all(isinstance(b, SeparableBlock) for b in TrackerModel(SEPARABLE).backbone.blocks)


def test_separable_attention_is_mobilevit_v2_maths() -> None:
    attn = SeparableAttention(8)
    x = torch.randn(2, 5, 8)
    with torch.no_grad():
        out = attn(x)
        w, b = attn.qkv_proj.weight, attn.qkv_proj.bias
        q, k, v = x @ w[:1].T + b[:1], x @ w[1:9].T + b[1:9], x @ w[9:].T + b[9:]
        # one softmax over the 5 tokens per sample; context: the score-weighted sum of keys
        scores = torch.exp(q) / torch.exp(q).sum(dim=1, keepdim=True)
        context = torch.stack([sum(scores[i, n] * k[i, n] for n in range(5)) for i in range(2)])[:, None]
        expected = attn.out_proj(torch.relu(v) * context)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)


def test_separable_output_is_permutation_equivariant_over_tokens() -> None:
    # attention over the whole sequence, template and search tokens alike: reordering tokens reorders outputs
    block = SeparableBlock(16, 2.0, 1e-6).eval()
    x, perm = torch.randn(1, 12, 16), torch.randperm(12)
    with torch.no_grad():
        torch.testing.assert_close(block(x)[:, perm], block(x[:, perm]), rtol=1e-5, atol=1e-6)


def test_zero_query_init_from_vit_attention_averages_the_keys() -> None:
    vit = Attention(8, num_heads=2)
    sep = SeparableAttention(8)
    sep.load_from_attention(vit)
    assert torch.equal(sep.qkv_proj.weight[1:], vit.qkv.weight[8:])
    assert torch.equal(sep.qkv_proj.bias[1:], vit.qkv.bias[8:])
    assert torch.equal(sep.out_proj.weight, vit.proj.weight) and not sep.qkv_proj.weight[0].any()
    x = torch.randn(1, 6, 8)
    with torch.no_grad():
        _, k, v = vit.qkv(x).split(8, dim=-1)
        expected = vit.proj(torch.relu(v) * k.mean(dim=1, keepdim=True))
        torch.testing.assert_close(sep(x), expected, rtol=1e-5, atol=1e-6)


def test_separable_model_refuses_candidate_elimination() -> None:
    with pytest.raises(ConfigError, match="candidate elimination.*separable"):
        build_config(ModelConfig, {**SEPARABLE.to_dict(), "ce_loc": [1]})
    model = TrackerModel(SEPARABLE).eval()
    with pytest.raises(ModelError, match="candidate elimination needs attention maps"):
        model(torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64), ce=True)
    assert count_macs(SEPARABLE, ce=True) == count_macs(SEPARABLE)


def _linear_macs(model: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs of every nn.Linear inside the backbone blocks, measured by forward hooks."""
    total = 0

    def hook(m: nn.Linear, args: tuple[torch.Tensor, ...], _: torch.Tensor) -> None:
        nonlocal total
        total += args[0].shape[:-1].numel() * m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in model.backbone.blocks.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model(*inputs)
    for h in handles:
        h.remove()
    return total


def test_separable_macs_match_the_layers_run() -> None:
    cfg = SEPARABLE.replace(mlp_ratio=2.0)
    model = TrackerModel(cfg).eval()
    tokens = cfg.template_feat**2 + cfg.search_feat**2
    blocks = count_macs(cfg) - _stem_macs(cfg, tokens) - _head_macs(cfg)
    elementwise = cfg.depth * 2 * tokens * cfg.embed_dim  # keys x scores, ReLU(values) x context
    assert blocks == _linear_macs(model, torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)) + elementwise
    assert count_macs(cfg) < count_macs(MICRO.replace(mlp_ratio=2.0))  # no N x N attention


def test_separable_model_folder_round_trip(tmp_path) -> None:
    model = TrackerModel(SEPARABLE).eval()
    loaded = create_model(save_model(model, tmp_path / "sep"))
    assert loaded.cfg.block == "separable"
    z, x = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(z, x), loaded(z, x), strict=True):
            assert torch.equal(a, b)
