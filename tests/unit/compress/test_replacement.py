from __future__ import annotations

import pytest
import torch

from edgetrack.compress import make_student
from edgetrack.compress.losses import focal_loss, giou
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.compress.task import CompressTask
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO


def _pair() -> tuple[TrackerModel, TrackerModel]:
    torch.manual_seed(0)
    teacher = TrackerModel(MICRO.replace(depth=6)).eval()
    return teacher, make_student(teacher, layers=2)


def _batch(b: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    heat = torch.zeros(b, 1, 4, 4)
    heat[:, 0, 2, 1] = 1.0
    return {"template": torch.randn(b, 3, 32, 32, generator=g), "search": torch.randn(b, 3, 64, 64, generator=g),
            "heatmap": heat, "search_box": torch.tensor([[0.2, 0.4, 0.2, 0.2]]).repeat(b, 1)}


def test_all_student_route_equals_standalone_student_bit_for_bit() -> None:
    teacher, student = _pair()
    model = ReplacementModel(teacher, student).eval()
    batch = _batch()
    out, feats = model(batch["template"], batch["search"], [True, True])
    ref = student.eval()(batch["template"], batch["search"])
    for a, b in zip(out, ref, strict=True):
        assert torch.equal(a, b)
    assert len(feats) == 2 and feats[0].shape == (3, 4 + 16, MICRO.embed_dim)


def test_all_teacher_route_equals_teacher_backbone() -> None:
    teacher, student = _pair()
    model = ReplacementModel(teacher, student).eval()
    batch = _batch()
    _, mixed = model(batch["template"], batch["search"], [False, False])
    # the student embedding is a copy of the teacher's, so an all-teacher route reproduces the teacher's features
    _, t_feats = model.teacher_forward(batch["template"], batch["search"])
    for a, b in zip(mixed, t_feats, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("method", ["replacement", "distill", "naive"])
def test_teacher_never_changes_or_gets_gradients(method: str) -> None:
    teacher, student = _pair()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    model = ReplacementModel(teacher, student).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    task = CompressTask(model, method)  # type: ignore[arg-type]
    for route in ([True, False], [False, True], [True, True]):
        losses = task(_batch(), route)
        opt.zero_grad()
        losses["total"].backward()
        opt.step()
    assert not teacher.training
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())
    assert ("feat" in losses) == (method != "naive")


def test_focal_loss_hand_case() -> None:
    pred = torch.tensor([[[[0.5, 0.2]]]])
    target = torch.tensor([[[[1.0, 0.5]]]])
    # positive: -log(0.5) * 0.5^2; negative: -log(0.8) * 0.2^2 * (1 - 0.5)^4; one positive
    expected = -(torch.log(torch.tensor(0.5)) * 0.25 + torch.log(torch.tensor(0.8)) * 0.04 * 0.0625)
    torch.testing.assert_close(focal_loss(pred, target), expected)


def test_giou_hand_case() -> None:
    a = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    g, iou = giou(a, b)
    # inter 1, union 7, hull 9: giou = 1/7 - 2/9
    torch.testing.assert_close(iou, torch.tensor([1 / 7]))
    torch.testing.assert_close(g, torch.tensor([1 / 7 - 2 / 9]))
