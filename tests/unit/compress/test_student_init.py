"""Student initialisation against a teacher whose every weight is random, norms and biases included.

A freshly built model has LayerNorm weights of one and zero biases, so a student that copied no norm or took
the wrong bias rows would still equal such a teacher; here every tensor is distinct, so each copy is checked.
"""

from __future__ import annotations

import pytest
import torch

from edgetrack.compress import make_student
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO

TEACHER_DEPTH, LAYERS = 8, 4
STAGE_LAST = (1, 3, 5, 7)  # the last teacher block of each of the 4 even stages of 8 blocks


@pytest.fixture
def teacher() -> TrackerModel:
    """A teacher with every parameter drawn at random (LayerNorm weights and all biases too)."""
    torch.manual_seed(0)
    model = TrackerModel(MICRO.replace(depth=TEACHER_DEPTH)).eval()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2 + 1.0)
    return model


def _state_equal(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_a_copy_student_takes_every_tensor_of_its_stage_blocks_and_the_rest(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=LAYERS)
    for j, i in enumerate(STAGE_LAST):
        _state_equal(student.backbone.blocks[j], teacher.backbone.blocks[i])
    for name in ("patch_embed", "norm"):
        _state_equal(getattr(student.backbone, name), getattr(teacher.backbone, name))
    assert torch.equal(student.backbone.pos_embed_z, teacher.backbone.pos_embed_z)
    assert torch.equal(student.backbone.pos_embed_x, teacher.backbone.pos_embed_x)
    _state_equal(student.box_head, teacher.box_head)


def _strongest_by_hand(fc1: torch.Tensor, fc2: torch.Tensor, keep: int) -> list[int]:
    """The `keep` hidden units with the largest |fc1 row| x |fc2 column|, in ascending order."""
    fc1, fc2 = fc1.detach(), fc2.detach()
    scores = [float(fc1[u].norm() * fc2[:, u].norm()) for u in range(fc1.shape[0])]
    return sorted(sorted(range(len(scores)), key=lambda u: -scores[u])[:keep])


def test_a_narrow_student_keeps_the_rows_biases_and_norms_of_its_strongest_units(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=LAYERS, block="narrow-mlp", mlp_ratio=1)
    for j, i in enumerate(STAGE_LAST):
        src, blk = teacher.backbone.blocks[i], student.backbone.blocks[j]
        kept = _strongest_by_hand(src.mlp.fc1.weight, src.mlp.fc2.weight, MICRO.embed_dim)
        assert kept != list(range(MICRO.embed_dim))  # a real selection, not the first units
        assert torch.equal(blk.mlp.fc1.weight, src.mlp.fc1.weight[kept])
        assert torch.equal(blk.mlp.fc1.bias, src.mlp.fc1.bias[kept])  # each bias stays with its unit's row
        assert torch.equal(blk.mlp.fc2.weight, src.mlp.fc2.weight[:, kept])
        assert torch.equal(blk.mlp.fc2.bias, src.mlp.fc2.bias)
        for name in ("norm1", "norm2", "attn"):
            _state_equal(getattr(blk, name), getattr(src, name))


def test_a_narrow_mlp_computes_the_teachers_kept_units_by_hand(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=LAYERS, block="narrow-mlp", mlp_ratio=1)
    src, blk = teacher.backbone.blocks[3].mlp, student.backbone.blocks[1].mlp
    kept = _strongest_by_hand(src.fc1.weight, src.fc2.weight, MICRO.embed_dim)
    x = torch.randn(2, 5, MICRO.embed_dim, generator=torch.Generator().manual_seed(4))
    hidden = torch.nn.functional.gelu(x @ src.fc1.weight[kept].T + src.fc1.bias[kept])
    with torch.no_grad():
        torch.testing.assert_close(blk(x), hidden @ src.fc2.weight[:, kept].T + src.fc2.bias)


def test_a_separable_student_takes_the_teachers_norms_and_mlp(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=LAYERS, block="separable")
    for j, i in enumerate(STAGE_LAST):
        src, blk = teacher.backbone.blocks[i], student.backbone.blocks[j]
        for name in ("norm1", "norm2", "mlp"):
            _state_equal(getattr(blk, name), getattr(src, name))
        assert torch.equal(blk.attn.out_proj.weight, src.attn.proj.weight)
        assert torch.equal(blk.attn.out_proj.bias, src.attn.proj.bias)


def test_a_full_width_narrow_student_tracks_exactly_as_the_copy(teacher: TrackerModel) -> None:
    copy = make_student(teacher, layers=LAYERS).eval()
    narrow = make_student(teacher, layers=LAYERS, block="narrow-mlp", mlp_ratio=MICRO.mlp_ratio).eval()
    g = torch.Generator().manual_seed(1)
    z, x = torch.randn(1, 3, 32, 32, generator=g), torch.randn(1, 3, 64, 64, generator=g)
    with torch.no_grad():
        for a, b in zip(copy(z, x), narrow(z, x), strict=True):
            assert torch.equal(a, b)
