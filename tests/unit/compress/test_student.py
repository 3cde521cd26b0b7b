from __future__ import annotations

import pytest
import torch

from edgetrack.compress import StagePlan, make_student
from edgetrack.errors import ConfigError
from edgetrack.models import create_model, save_model
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO


@pytest.fixture
def teacher12() -> TrackerModel:
    torch.manual_seed(0)
    return TrackerModel(MICRO.replace(depth=12, ce_loc=[3, 6, 9])).eval()


def test_even_and_uneven_plans() -> None:
    assert [list(s) for s in StagePlan(12, 4).stages] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert StagePlan(12, 4).last_blocks == [2, 5, 8, 11]
    assert StagePlan(12, 4).first_blocks == [0, 3, 6, 9]
    uneven = StagePlan(12, 8)
    assert uneven.sizes == (2, 2, 2, 2, 1, 1, 1, 1) and sum(uneven.sizes) == 12
    assert StagePlan.from_sizes([5, 4, 3]).last_blocks == [4, 8, 11]
    assert StagePlan(12, 12).last_blocks == list(range(12))


@pytest.mark.parametrize(("teacher", "student", "sizes"), [(12, 13, ()), (12, 0, ()), (12, 3, (5, 5, 1))])
def test_bad_plans_are_refused(teacher: int, student: int, sizes: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError):
        StagePlan(teacher, student, sizes)


def _blocks_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_four_block_student_copies_stage_last_blocks(teacher12: TrackerModel) -> None:
    student = make_student(teacher12, layers=4)
    assert student.cfg.depth == 4 and student.cfg.ce_loc == ()
    for j, i in enumerate([2, 5, 8, 11]):
        assert _blocks_equal(student.backbone.blocks[j], teacher12.backbone.blocks[i])
    for name in ("patch_embed", "norm"):
        assert _blocks_equal(getattr(student.backbone, name), getattr(teacher12.backbone, name))
    assert torch.equal(student.backbone.pos_embed_x, teacher12.backbone.pos_embed_x)
    assert _blocks_equal(student.box_head, teacher12.box_head)
    assert all(p.requires_grad for p in student.parameters())


def test_eight_block_student_and_stage_first(teacher12: TrackerModel) -> None:
    student = make_student(teacher12, layers=8)
    assert student.cfg.depth == 8
    assert _blocks_equal(student.backbone.blocks[4], teacher12.backbone.blocks[8])
    first = make_student(teacher12, layers=4, init="stage-first")
    assert _blocks_equal(first.backbone.blocks[1], teacher12.backbone.blocks[3])
    with pytest.raises(ConfigError, match="unknown student init"):
        make_student(teacher12, layers=4, init="middle")  # type: ignore[arg-type]


def test_full_depth_student_equals_teacher_without_ce(teacher12: TrackerModel) -> None:
    student = make_student(teacher12, layers=12).eval()
    z, x = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    for a, b in zip(student(z, x), teacher12(z, x, ce=False), strict=True):
        assert torch.equal(a, b)


def test_student_round_trips_through_folder(tmp_path, teacher12: TrackerModel) -> None:
    student = make_student(teacher12, layers=4).eval()
    folder = save_model(student, tmp_path / "student", stage="compress")
    loaded = create_model(folder)
    z, x = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 64, 64)
    for a, b in zip(student(z, x), loaded(z, x), strict=True):
        assert torch.equal(a, b)
