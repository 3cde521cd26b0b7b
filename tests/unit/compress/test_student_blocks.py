"""Student block kinds: copy, narrow-mlp and separable students of one teacher."""

from __future__ import annotations

import json

import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.compress import make_student
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.compress.student import kept_hidden_units
from edgetrack.errors import ConfigError
from edgetrack.models import create_model, save_model
from edgetrack.models.blocks import SeparableBlock
from edgetrack.models.layers import Block
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO

Z, X = (32, 32), (64, 64)


@pytest.fixture
def teacher() -> TrackerModel:
    torch.manual_seed(0)
    return TrackerModel(MICRO.replace(depth=8, ce_loc=[3, 6])).eval()


def _inputs(batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(batch, 3, *Z, generator=g), torch.randn(batch, 3, *X, generator=g)


def test_narrow_mlp_at_the_teachers_ratio_is_copy_bit_for_bit(teacher: TrackerModel) -> None:
    copy = make_student(teacher, layers=4).eval()
    narrow = make_student(teacher, layers=4, block="narrow-mlp", mlp_ratio=MICRO.mlp_ratio).eval()
    with torch.no_grad():
        for a, b in zip(copy(*_inputs()), narrow(*_inputs()), strict=True):
            assert torch.equal(a, b)


def test_narrow_mlp_keeps_the_strongest_hidden_units(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=4, block="narrow-mlp", mlp_ratio=1)
    assert student.cfg.mlp_ratio == 1 and student.cfg.block == "vit" and student.cfg.ce_loc == ()
    src, blk = teacher.backbone.blocks[3].mlp, student.backbone.blocks[1].mlp  # stage 2 ends at teacher block 3
    assert blk.fc1.out_features == MICRO.embed_dim
    score = src.fc1.weight.norm(dim=1) * src.fc2.weight.norm(dim=0)
    kept = kept_hidden_units(src, MICRO.embed_dim)
    assert score[kept].min() >= score[[i for i in range(len(score)) if i not in kept]].max()
    assert torch.equal(blk.fc1.weight, src.fc1.weight[kept]) and torch.equal(blk.fc2.weight, src.fc2.weight[:, kept])
    assert torch.equal(student.backbone.blocks[1].attn.qkv.weight, teacher.backbone.blocks[3].attn.qkv.weight)


def test_separable_student_from_a_ce_teacher(teacher: TrackerModel) -> None:
    student = make_student(teacher, layers=4, block="separable", mlp_ratio=2).eval()
    assert (student.cfg.block, student.cfg.mlp_ratio, student.cfg.ce_loc) == ("separable", 2, ())
    assert all(isinstance(b, SeparableBlock) for b in student.backbone.blocks)
    src, blk = teacher.backbone.blocks[7], student.backbone.blocks[3]
    assert torch.equal(blk.norm1.weight, src.norm1.weight)
    assert torch.equal(blk.attn.out_proj.weight, src.attn.proj.weight)
    out = student(*_inputs())
    assert out.score_map.shape == (2, 1, 4, 4) and torch.isfinite(out.size_map).all()


@pytest.mark.parametrize(("block", "ratio"), [("narrow-mlp", 1.0), ("separable", None)])
def test_routes_through_teacher_stages_and_student_blocks(teacher: TrackerModel, block: str,
                                                          ratio: float | None) -> None:
    student = make_student(teacher, layers=4, block=block, mlp_ratio=ratio).eval()
    model = ReplacementModel(teacher, student).eval()
    z, x = _inputs()
    _, teacher_feats = model.teacher_forward(z, x)
    with torch.no_grad():
        for route in ([True] * 4, [True, False, True, False], [False, False, False, True]):
            out, feats = model(z, x, route)
            assert [f.shape for f in feats] == [f.shape for f in teacher_feats]
            if not route[0]:
                torch.testing.assert_close(feats[0], teacher_feats[0])  # teacher stage, same embedding
        alone = student(z, x)
        for a, b in zip(model(z, x, [True] * 4)[0], alone, strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize(("block", "ratio"), [("narrow-mlp", 0.5), ("separable", None)])
def test_student_kind_round_trips_through_its_folder(tmp_path, teacher: TrackerModel, block: str,
                                                     ratio: float | None) -> None:
    student = make_student(teacher, layers=2, block=block, mlp_ratio=ratio).eval()
    folder = save_model(student, tmp_path / block, stage="compress")
    saved = json.loads((folder / "config.json").read_text())
    assert (saved["block"], saved["mlp_ratio"]) == (student.cfg.block, student.cfg.mlp_ratio)
    loaded = create_model(folder)
    with torch.no_grad():
        for a, b in zip(student(*_inputs(1)), loaded(*_inputs(1)), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"block": "seperable"}, "unknown student block 'seperable'. Did you mean 'separable'"),
    ({"block": "narrow-mlp", "mlp_ratio": 0}, "mlp_ratio must be > 0"),
    ({"block": "separable", "mlp_ratio": -1.0}, "mlp_ratio must be > 0"),
    ({"block": "copy", "mlp_ratio": 1.0}, "takes no mlp_ratio"),
    ({"block": "narrow-mlp"}, "needs an mlp_ratio"),
    ({"block": "narrow-mlp", "mlp_ratio": 8.0}, "keeps a subset of the teacher's"),
])
def test_bad_block_choices_are_config_errors(teacher: TrackerModel, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_student(teacher, layers=2, **kwargs)


def test_ostrack256_four_layer_students_run_and_route() -> None:
    torch.manual_seed(0)
    teacher = create_model("ostrack256")
    z, x = torch.randn(1, 3, 128, 128), torch.randn(1, 3, 256, 256)
    for block, ratio, kind in (("narrow-mlp", 1.0, Block), ("separable", None, SeparableBlock)):
        student = make_student(teacher, layers=4, block=block, mlp_ratio=ratio).eval()
        assert all(isinstance(b, kind) for b in student.backbone.blocks)
        with torch.no_grad():
            out, feats = ReplacementModel(teacher, student)(z, x, [True, False, False, True])
        assert out.score_map.shape == (1, 1, 16, 16) and [f.shape for f in feats] == [(1, 320, 768)] * 4


def test_compress_cli_trains_a_separable_student(tmp_path, micro_model) -> None:
    teacher = save_model(micro_model, tmp_path / "teacher")
    code = run(["compress", "--teacher", str(teacher), "--layers", "2", "--block", "separable", "--mlp-ratio", "2",
                "--out", str(tmp_path / "run"), "--epochs", "1", "--pairs-per-epoch", "4", "--batch-size", "2",
                "--workers", "0", "--device", "cpu", "--set", "data.synthetic_sequences=2",
                "--set", "data.synthetic_length=10"])
    assert code == 0
    manifest = read_manifest(tmp_path / "run" / "student")
    assert (manifest["config"]["block"], manifest["config"]["mlp_ratio"]) == ("separable", 2.0)
    assert (manifest["plan"]["block"], manifest["plan"]["mlp_ratio"]) == ("separable", 2.0)
    student = create_model(tmp_path / "run" / "student")
    assert (student.cfg.block, student.cfg.mlp_ratio, student.cfg.depth) == ("separable", 2.0, 2)


def test_compress_cli_refuses_a_ratio_for_copy(tmp_path, capsys) -> None:
    assert run(["compress", "--teacher", "tiny", "--mlp-ratio", "1", "--out", str(tmp_path)]) == 2
    assert "takes no mlp_ratio" in capsys.readouterr().err
