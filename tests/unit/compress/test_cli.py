from __future__ import annotations

import json

import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.models import create_model

SMALL = ["--epochs", "1", "--pairs-per-epoch", "8", "--batch-size", "4", "--workers", "0", "--device", "cpu",
         "--set", "data.synthetic_sequences=3", "--set", "data.synthetic_length=20"]


@pytest.mark.slow
def test_compress_tiny_end_to_end_writes_a_loadable_student(tmp_path) -> None:
    code = run(["compress", "--teacher", "tiny", "--random-teacher", "--layers", "2", "--out", str(tmp_path), *SMALL])
    assert code == 0
    student_dir = tmp_path / "student"
    manifest = read_manifest(student_dir)
    assert manifest["stage"] == "compress" and manifest["config"]["layers"] == 2
    assert len(manifest["parents"]["teacher"]) in (6, 64)  # 'random' or a sha256
    assert manifest["plan"]["stages"] == [[0, 1], [2, 3]]
    student = create_model(student_dir)
    assert student.cfg.depth == 2
    out = student(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 128, 128))
    assert out.score_map.shape == (1, 1, 16, 16)
    assert (tmp_path / "checkpoint.pt").is_file()


def test_teacher_without_weights_is_refused(tmp_path, capsys) -> None:
    code = run(["compress", "--teacher", "ostrack256", "--out", str(tmp_path), *SMALL])
    assert code == 2
    err = capsys.readouterr().err
    assert "has no weights" in err and "--teacher-weights" in err


def test_unknown_setting_is_refused(tmp_path, capsys) -> None:
    code = run(["compress", "--set", "train.epoch=3", "--out", str(tmp_path)])
    assert code == 2
    assert "Did you mean 'train.epochs'" in capsys.readouterr().err


def test_evaluation_split_cannot_be_trained_on(tmp_path, capsys) -> None:
    code = run(["compress", "--teacher", "tiny", "--random-teacher", "--data", "synthetic-test",
                "--out", str(tmp_path), *SMALL])
    assert code == 2
    assert "evaluation set" in capsys.readouterr().err


def test_compress_config_file(tmp_path) -> None:
    from edgetrack.cli.options import resolve
    from edgetrack.compress.config import CompressConfig

    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"layers": 3, "train": {"epochs": 7}}))
    cfg = resolve(CompressConfig, path, ["train.batch_size=2"], {"layers": None, "method": "distill"})
    assert (cfg.layers, cfg.train.epochs, cfg.train.batch_size, cfg.method) == (3, 7, 2, "distill")
    assert cfg.train.optim.lr == pytest.approx(4e-5) and cfg.schedule.p_init == 0.5
