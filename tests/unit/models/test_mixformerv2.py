from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from edgetrack.config.model import ModelConfig
from edgetrack.errors import CheckpointError, ModelError, TrackingError
from edgetrack.models import create_model, save_model
from edgetrack.models.checkpoint import read_state_dict
from edgetrack.models.mixformerv2 import MixFormerV2Model, sincos_pos_embed_2d
from edgetrack.models.profile import count_parameters
from edgetrack.runtime.decode_distribution import decode_distribution
from edgetrack.runtime.decode_distribution_torch import distribution_boxes, distribution_scores

#: a MixFormerV2 small enough for fast tests: 2 blocks, 64 wide, 2x2 template and 4x4 search grids, 16 bins
MICRO_MIX = ModelConfig(name="micro-mix", family="mixformerv2", template_size=32, search_size=64, embed_dim=64,
                        depth=2, num_heads=4, mlp_ratio=2.0, head_bins=16)

#: the released MixFormerV2-B state dict (lib/models/mixformer2_vit in MCG-NJU/MixFormerV2): parameters counted
#: from the official model definition
MIXFORMERV2_B_RELEASED_PARAMS = 58_855_201

#: per-block keys of the release, with shapes in terms of the width C and the MLP width H
BLOCK_KEYS = {
    "norm1.weight": ("C",), "norm1.bias": ("C",),
    "attn.qkv.weight": ("3C", "C"), "attn.qkv.bias": ("3C",),
    "attn.proj.weight": ("C", "C"), "attn.proj.bias": ("C",),
    "norm2.weight": ("C",), "norm2.bias": ("C",),
    "mlp.fc1.weight": ("H", "C"), "mlp.fc1.bias": ("H",),
    "mlp.fc2.weight": ("C", "H"), "mlp.fc2.bias": ("C",),
}
#: the other keys: S and T are the search and template token counts, K the bins per side
OTHER_KEYS = {
    "backbone.pos_embed_s": ("1", "S", "C"), "backbone.pos_embed_t": ("1", "T", "C"),
    "backbone.reg_tokens": ("1", "4", "C"), "backbone.pos_embed_reg": ("1", "4", "C"),
    "backbone.patch_embed.proj.weight": ("C", "3", "16", "16"), "backbone.patch_embed.proj.bias": ("C",),
    "box_head.layers.0.0.weight": ("C", "C"), "box_head.layers.0.0.bias": ("C",),
    "box_head.layers.0.1.weight": ("C",), "box_head.layers.0.1.bias": ("C",),
    "box_head.layers.1.0.weight": ("K", "C"), "box_head.layers.1.0.bias": ("K",),
    "box_head.layers.1.1.weight": ("K",), "box_head.layers.1.1.bias": ("K",),
    "score_head.layers.0.0.weight": ("C", "C"), "score_head.layers.0.0.bias": ("C",),
    "score_head.layers.1.weight": ("1", "C"), "score_head.layers.1.bias": ("1",),
}
#: (preset, blocks, C, H, S, T, K) as in experiments/mixformer2_vit_online/*.yaml
RELEASES = [("mixformerv2_b", 8, 768, 3072, 18 * 18, 8 * 8, 96), ("mixformerv2_s", 4, 768, 768, 14 * 14, 7 * 7, 96)]


def release_shapes(depth: int, c: int, h: int, s: int, t: int, k: int) -> dict[str, tuple[int, ...]]:
    sizes = {"C": c, "3C": 3 * c, "H": h, "S": s, "T": t, "K": k}

    def shape(dims: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(sizes[d] if d in sizes else int(d) for d in dims)

    out = {key: shape(dims) for key, dims in OTHER_KEYS.items()}
    for i in range(depth):
        out.update({f"backbone.blocks.{i}.{key}": shape(dims) for key, dims in BLOCK_KEYS.items()})
    return out


def inputs(cfg: ModelConfig, batch: int = 1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t, s = cfg.template_size, cfg.search_size
    return (torch.randn(batch, 3, t, t, generator=g), torch.randn(batch, 3, s, s, generator=g),
            torch.randn(batch, 3, t, t, generator=g))


def micro_model(seed: int = 0) -> MixFormerV2Model:
    torch.manual_seed(seed)
    return MixFormerV2Model(MICRO_MIX).eval()


@pytest.mark.parametrize("release", RELEASES, ids=[r[0] for r in RELEASES])
def test_release_state_dict_loads_strictly(tmp_path: Path, release: tuple) -> None:
    preset, *dims = release
    g = torch.Generator().manual_seed(1)
    state = {k: torch.randn(shape, generator=g) for k, shape in release_shapes(*dims).items()}
    path = tmp_path / f"{preset}.pth.tar"
    torch.save({"net": state, "epoch": 300}, path)
    assert read_state_dict(path)[1] == "mixformerv2"
    model = create_model(preset, checkpoint=path)  # strict: a missing, extra or reshaped key would raise
    loaded = model.state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_parameter_counts() -> None:
    assert count_parameters(create_model("mixformerv2_b")) == MIXFORMERV2_B_RELEASED_PARAMS
    assert abs(count_parameters(create_model("mixformerv2_s")) / 1e6 - 16.2) < 0.05  # the paper's 16.2M


def test_forward_shapes_and_split_equals_full_forward() -> None:
    model = micro_model()
    t, s, ot = inputs(MICRO_MIX, batch=2)
    with torch.no_grad():
        out = model(t, s, ot)
        memory = model.template_memory(t, ot)
        split = model.track_search(s, memory)
    assert out.side_logits.shape == (2, 4, 16) and out.score_logit.shape == (2, 1)
    assert memory.shape == (2, 2, 2, 4, 2 * 4, 16)  # blocks, k/v, batch, heads, both templates' tokens, head dim
    torch.testing.assert_close(split.side_logits, out.side_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(split.score_logit, out.score_logit, rtol=0, atol=1e-5)


def test_template_tokens_ignore_search_and_prediction_tokens() -> None:
    model = micro_model()
    t, s, ot = inputs(MICRO_MIX)
    other = torch.randn_like(s)
    with torch.no_grad():
        a, b = model.backbone(t, s, ot), model.backbone(t, other, ot)
        out_a, out_b = model(t, s, ot), model(t, other, ot)
    n_t = 2 * MICRO_MIX.template_feat**2
    assert torch.equal(a[:, :n_t], b[:, :n_t])  # templates attend to templates only
    assert (a[:, n_t:] - b[:, n_t:]).abs().max() > 1e-3  # search and prediction tokens do see the search
    assert (out_a.side_logits - out_b.side_logits).abs().max() > 1e-4


def test_online_template_changes_the_prediction() -> None:
    model = micro_model()
    t, s, ot = inputs(MICRO_MIX)
    with torch.no_grad():
        same = model(t, s)  # online template defaults to the template
        assert torch.equal(same.side_logits, model(t, s, t).side_logits)
        assert (model(t, s, ot).side_logits - same.side_logits).abs().max() > 1e-4


def test_sincos_position_embedding_layout() -> None:
    pos = sincos_pos_embed_2d(16, 3)[0]  # 4 frequencies per quarter
    assert pos.shape == (9, 16)
    token = 1 * 3 + 2  # row 1, column 2
    omega = 1.0 / 10000 ** (np.arange(4) / 4)
    np.testing.assert_allclose(pos[token, :4], np.sin(2 * omega), atol=1e-6)  # column first
    np.testing.assert_allclose(pos[token, 4:8], np.cos(2 * omega), atol=1e-6)
    np.testing.assert_allclose(pos[token, 8:12], np.sin(1 * omega), atol=1e-6)  # then row
    np.testing.assert_allclose(pos[token, 12:], np.cos(1 * omega), atol=1e-6)
    with pytest.raises(ModelError, match="divisible by 4"):
        sincos_pos_embed_2d(6, 2)


def test_decode_hand_computed_distributions() -> None:
    off = -1e4  # exp(off) is 0 in float64: a bin with no mass
    logits = np.array([[[0.0, 0.0, off, off],   # l: half on bins 0 and 1 -> 0.5 / 4
                        [off, off, off, 0.0],   # r: all on bin 3 -> 3 / 4
                        [0.0, off, off, off],   # t: all on bin 0 -> 0
                        [off, off, 0.0, 0.0]]])  # b: half on bins 2 and 3 -> 2.5 / 4
    box, score = decode_distribution(logits, np.array([[0.0]]))
    np.testing.assert_allclose(box, [(0.125 + 0.75) / 2, 0.625 / 2, 0.75 - 0.125, 0.625], atol=1e-12)
    assert score == 0.5
    g = torch.Generator().manual_seed(3)
    rand = torch.randn(1, 4, 96, generator=g) * 3
    box_np, score_np = decode_distribution(rand.numpy(), np.array([[1.5]]))
    np.testing.assert_allclose(distribution_boxes(rand)[0].numpy(), box_np, atol=1e-6)
    assert abs(float(distribution_scores(torch.tensor([[1.5]]))[0]) - score_np) < 1e-6
    assert abs(score_np - 1 / (1 + math.exp(-1.5))) < 1e-12


def test_decode_refuses_bad_outputs() -> None:
    with pytest.raises(TrackingError, match=r"\(1, 4, bins\)"):
        decode_distribution(np.zeros((1, 3, 8)), np.zeros((1, 1)))
    with pytest.raises(TrackingError, match="NaN"):
        decode_distribution(np.full((1, 4, 8), np.nan), np.zeros((1, 1)))
    with pytest.raises(TrackingError, match="score logit"):
        decode_distribution(np.zeros((1, 4, 8)), np.zeros((1, 2)))


def test_save_and_reload_round_trip(tmp_path: Path) -> None:
    model = micro_model(seed=4)
    folder = save_model(model, tmp_path / "mix")
    again = create_model(folder)
    assert isinstance(again, MixFormerV2Model) and again.cfg == model.cfg
    t, s, ot = inputs(MICRO_MIX, seed=5)
    with torch.no_grad():
        assert torch.equal(model(t, s, ot).side_logits, again(t, s, ot).side_logits)
        assert torch.equal(model(t, s, ot).score_logit, again(t, s, ot).score_logit)


def test_wrong_family_and_memory_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mix.pth.tar"
    torch.save({"net": micro_model().state_dict()}, path)
    with pytest.raises(CheckpointError, match=r"a mixformerv2 checkpoint; load it with a mixformerv2 preset "
                                              r"\(mixformerv2_b, mixformerv2_s\)"):
        create_model("tiny", checkpoint=path)
    model = micro_model()
    t, s, ot = inputs(MICRO_MIX)
    with pytest.raises(ModelError, match="memory has 1 blocks"):
        model.track_search(s, model.template_memory(t, ot)[:1])
