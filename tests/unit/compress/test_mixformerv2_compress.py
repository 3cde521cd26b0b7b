from __future__ import annotations

import pytest
import torch

from edgetrack.compress.mixformerv2 import MixFormerCompressTask, make_mixformer_student
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.compress.stages import StagePlan
from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError
from edgetrack.models.mixformerv2 import MixFormerV2Model
from tests.unit.models.test_mixformerv2 import MICRO_MIX

TEACHER = build_config(ModelConfig, {**MICRO_MIX.to_dict(), "depth": 4, "mlp_ratio": 4.0})


def teacher() -> MixFormerV2Model:
    torch.manual_seed(0)
    return MixFormerV2Model(TEACHER).eval()


def batch(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t, s = TEACHER.template_size, TEACHER.search_size
    return {"template": torch.randn(2, 3, t, t, generator=g), "search": torch.randn(2, 3, s, s, generator=g),
            "search_box": torch.tensor([[0.3, 0.35, 0.3, 0.25], [0.4, 0.4, 0.2, 0.2]])}


def test_student_is_built_from_the_stage_last_blocks() -> None:
    t = teacher()
    student = make_mixformer_student(t, 2, block="narrow-mlp", mlp_ratio=1.0)
    assert (student.cfg.depth, student.cfg.mlp_ratio, student.cfg.family) == (2, 1.0, "mixformerv2")
    assert student.backbone.blocks[0].mlp.fc1.out_features == 64
    for j, i in enumerate(StagePlan(4, 2).last_blocks):  # blocks 1 and 3
        assert torch.equal(student.backbone.blocks[j].attn.qkv.weight, t.backbone.blocks[i].attn.qkv.weight)
    assert torch.equal(student.backbone.reg_tokens, t.backbone.reg_tokens)
    assert torch.equal(student.box_head.layers[1][0].weight, t.box_head.layers[1][0].weight)
    assert torch.equal(student.score_head.layers[1].bias, t.score_head.layers[1].bias)


def test_replacement_routes_reproduce_teacher_and_student() -> None:
    t = teacher()
    student = make_mixformer_student(t, 2, block="narrow-mlp", mlp_ratio=1.0).eval()
    model = ReplacementModel(t, student)
    b = batch()
    with torch.no_grad():
        all_student, _ = model(b["template"], b["search"], [True, True])
        all_teacher, _ = model(b["template"], b["search"], [False, False])
        assert torch.equal(all_student.side_logits, student(b["template"], b["search"]).side_logits)
        torch.testing.assert_close(all_teacher.side_logits, t(b["template"], b["search"]).side_logits)


def test_losses_train_the_student_only() -> None:
    t = teacher()
    student = make_mixformer_student(t, 2, block="narrow-mlp", mlp_ratio=1.0)
    task = MixFormerCompressTask(ReplacementModel(t, student))
    losses = task(batch(), [True, False])
    assert {"giou", "l1", "track", "pred", "feat", "total"} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    assert student.backbone.blocks[0].attn.qkv.weight.grad is not None
    assert student.box_head.layers[1][0].weight.grad.abs().sum() > 0  # the decoded box reaches every bin's logit
    assert all(p.grad is None for p in t.parameters())


def test_a_full_copy_student_has_no_prediction_gap() -> None:
    t = teacher()
    student = make_mixformer_student(t, 4, block="copy", mlp_ratio=None).eval()
    losses = MixFormerCompressTask(ReplacementModel(t, student))(batch(), [True] * 4)
    # L1, not GIoU: an untrained head can decode right < left, where GIoU is undefined even for equal boxes
    assert float(losses["pred_l1"].detach()) < 1e-6 and float(losses["feat"].detach()) < 1e-10


def test_separable_students_are_refused() -> None:
    with pytest.raises(ConfigError, match="asymmetric ViT attention"):
        make_mixformer_student(teacher(), 2, block="separable")
