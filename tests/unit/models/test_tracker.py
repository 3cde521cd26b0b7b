from __future__ import annotations

import math

import pytest
import torch

from edgetrack.config.model import ModelConfig
from edgetrack.models import create_model, list_models
from edgetrack.models.layers import ce_keep
from edgetrack.models.profile import count_macs, count_parameters
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO

# OSTrack-256 as released: our parameters plus the unused cls_token (768) and 14x14+1 pos_embed (197 x 768).
OSTRACK256_RELEASED_PARAMS = 92_518_533


def test_presets_listed() -> None:
    assert list_models() == ["mixformerv2_b", "mixformerv2_s", "ostrack256", "ostrack384", "tiny", "vittrack"]
    assert list_models("ostrack*") == ["ostrack256", "ostrack384"]


def test_ostrack256_size_and_output_shapes() -> None:
    model = create_model("ostrack256")
    n = count_parameters(model)
    assert n + 768 + 197 * 768 == OSTRACK256_RELEASED_PARAMS
    assert abs(n / 1e6 - 92.5) / 92.5 < 0.01  # OSTrack-256 holds about 92.5M values
    with torch.no_grad():
        out = model(torch.randn(2, 3, 128, 128), torch.randn(2, 3, 256, 256))
    assert out.score_map.shape == (2, 1, 16, 16)
    assert out.size_map.shape == (2, 2, 16, 16)
    assert out.offset_map.shape == (2, 2, 16, 16)
    assert float(out.score_map.min()) >= 1e-4 and float(out.score_map.max()) <= 1 - 1e-4
    assert float(out.size_map.min()) >= 1e-4 and float(out.size_map.max()) <= 1 - 1e-4


def test_ostrack384_feature_size() -> None:
    cfg = create_model.__globals__["model_config"]("ostrack384")
    assert (cfg.template_size, cfg.search_size, cfg.search_factor, cfg.search_feat) == (192, 384, 5.0, 24)
    with torch.device("meta"):
        model = TrackerModel(cfg)
    out = model(torch.empty(1, 3, 192, 192, device="meta"), torch.empty(1, 3, 384, 384, device="meta"))
    assert out.score_map.shape == (1, 1, 24, 24) and out.size_map.shape == (1, 2, 24, 24)


def test_macs_match_reference() -> None:
    cfg = ModelConfig()
    assert count_macs(cfg) / 1e9 == pytest.approx(30.9, abs=0.05)
    assert count_macs(cfg, ce=True) / 1e9 == pytest.approx(22.6, abs=0.1)
    assert count_macs(cfg.replace(depth=4)) / 1e9 == pytest.approx(11.5, abs=0.05)
    assert count_macs(cfg.replace(depth=2)) / 1e9 == pytest.approx(6.7, abs=0.05)


def test_tiny_preset_shape() -> None:
    model = create_model("tiny")
    cfg = model.cfg
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.template_size, cfg.search_size) == (128, 4, 4, 64, 128)
    assert (cfg.stem, cfg.patch_size) == ("conv", 8)
    out = model(torch.randn(1, 3, 64, 64), torch.randn(1, 3, 128, 128))
    assert out.score_map.shape == (1, 1, 16, 16)
    assert count_macs(cfg) <= 0.5e9


def test_ce_keeps_ostrack_token_counts() -> None:
    b, len_t, len_s, dim = 2, 64, 256, 8
    index = torch.arange(len_s).expand(b, -1)
    tokens = torch.randn(b, len_t + len_s, dim)
    counts = []
    for _ in range(3):
        n = tokens.shape[1]
        attn = torch.rand(b, 3, n, n).softmax(-1)
        tokens, index, removed = ce_keep(attn, tokens, index, len_t, 0.7, template_token=27)
        counts.append(tokens.shape[1] - len_t)
        assert removed is not None and removed.shape[1] + index.shape[1] == n - len_t
    assert counts == [180, 126, 89]


def test_ce_keeps_tokens_most_attended_by_template_centre() -> None:
    len_t, len_s = 4, 6
    tokens = torch.arange(len_t + len_s, dtype=torch.float32).reshape(1, -1, 1)
    attn = torch.zeros(1, 2, len_t + len_s, len_t + len_s)
    attn[0, :, 1, len_t:] = torch.tensor([0.1, 0.9, 0.3, 0.8, 0.0, 0.5])  # centre token is index 1
    kept, index, removed = ce_keep(attn, tokens, torch.arange(len_s)[None], len_t, 0.5, template_token=1)
    assert index.tolist() == [[1, 3, 5]]
    assert removed is not None and sorted(removed[0].tolist()) == [0, 2, 4]
    assert kept[0, len_t:, 0].tolist() == [5.0, 7.0, 9.0]


def test_ce_zero_fills_removed_search_tokens() -> None:
    cfg = MICRO.replace(depth=4, ce_loc=[1, 2], ce_keep_ratio=0.5)
    model = TrackerModel(cfg).eval()
    tokens = model.backbone(torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64))
    search = tokens[0, cfg.template_feat**2:]
    zero_rows = int((search.abs().sum(-1) == 0).sum())
    assert zero_rows == 16 - math.ceil(0.5 * math.ceil(0.5 * 16))


def test_ce_with_keep_ratio_one_equals_plain_forward(micro_model: TrackerModel) -> None:
    z, x = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    plain = micro_model(z, x, ce=False)
    ce_model = TrackerModel(micro_model.cfg.replace(ce_loc=[1, 2], ce_keep_ratio=1.0)).eval()
    ce_model.load_state_dict(micro_model.state_dict())
    with_ce = ce_model(z, x)
    for a, b in zip(plain, with_ce, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_create_model_ce_flag_and_overrides() -> None:
    model = create_model("tiny", ce=True, drop_path=0.1)
    assert model.cfg.ce_loc == (3,)  # of OSTrack's blocks 3, 6, 9, the one that exists in 4 blocks
    assert model.cfg.ce_keep_ratio == 0.7 and model.cfg.drop_path == 0.1


def test_create_model_rejects_unknown_override() -> None:
    from edgetrack.errors import ConfigError

    with pytest.raises(ConfigError, match="Did you mean 'depth'"):
        create_model("tiny", deph=4)
