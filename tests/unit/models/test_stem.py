from __future__ import annotations

import pytest
import torch
from torch import nn

from edgetrack.config.model import ModelConfig
from edgetrack.models.layers import ConvStem
from edgetrack.models.profile import _stem_macs
from edgetrack.models.tracker import TrackerModel


def _conv_macs(module: nn.Module, *inputs: torch.Tensor) -> int:
    """MACs of every Conv2d in `module` for one forward pass, counted from the real output shapes."""
    total = 0

    def hook(conv: nn.Conv2d, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        k = conv.kernel_size[0] * conv.kernel_size[1] * conv.in_channels // conv.groups
        total += out[0].numel() * k

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        module(*inputs)
    for h in handles:
        h.remove()
    return total


def test_conv_stem_gives_the_patch_grid_and_counted_macs() -> None:
    torch.manual_seed(0)
    stem = ConvStem(8, 128).eval()
    x = torch.randn(2, 3, 128, 128)
    tokens = stem(x)
    assert tokens.shape == (2, 16 * 16, 128)
    cfg = ModelConfig(template_size=64, search_size=128, stem="conv", patch_size=8, embed_dim=128, num_heads=4)
    measured = _conv_macs(stem, x[:1]) + _conv_macs(stem, torch.randn(1, 3, 64, 64))
    assert _stem_macs(cfg, cfg.template_feat**2 + cfg.search_feat**2) == measured


def test_conv_stem_model_has_a_16x16_score_map_for_a_128_search() -> None:
    cfg = ModelConfig(template_size=64, search_size=128, stem="conv", patch_size=8, embed_dim=64, depth=1,
                      num_heads=2, head_channels=16)
    out = TrackerModel(cfg).eval()(torch.randn(1, 3, 64, 64), torch.randn(1, 3, 128, 128))
    assert out.score_map.shape == (1, 1, 16, 16)


@pytest.mark.parametrize("stride", [1, 6, 12])
def test_conv_stem_refuses_a_stride_that_is_not_a_power_of_two(stride: int) -> None:
    with pytest.raises(ValueError, match="power-of-two"):
        ModelConfig(template_size=48, search_size=96, stem="conv", patch_size=stride)


def test_hardswish_stem_is_vittracks_and_its_macs_are_counted() -> None:
    torch.manual_seed(0)
    stem = ConvStem(16, 48, "conv-hardswish").eval()
    widths = [m.out_channels for m in stem.modules() if isinstance(m, nn.Conv2d)]
    acts = [type(m).__name__ for m in stem.modules() if isinstance(m, (nn.Hardswish, nn.ReLU, nn.BatchNorm2d))]
    assert widths == [6, 12, 24, 48] and acts == ["Hardswish"] * 3
    x = torch.randn(1, 3, 256, 256)
    assert stem(x).shape == (1, 256, 48)
    cfg = ModelConfig(stem="conv-hardswish", patch_size=16, embed_dim=48, num_heads=1)
    measured = _conv_macs(stem, x) + _conv_macs(stem, torch.randn(1, 3, 128, 128))
    assert _stem_macs(cfg, cfg.template_feat**2 + cfg.search_feat**2) == measured
