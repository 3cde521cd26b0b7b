from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.compress.config import CompressConfig
from edgetrack.compress.run import run_compress
from edgetrack.models import save_model
from edgetrack.train.checkpoint import differing_keys, run_key

SMALL = ["--epochs", "1", "--pairs-per-epoch", "4", "--batch-size", "2", "--workers", "0", "--device", "cpu",
         "--set", "data.synthetic_sequences=2", "--set", "data.synthetic_length=10"]


@pytest.fixture
def teacher(tmp_path, micro_model) -> str:
    return str(save_model(micro_model, tmp_path / "teacher"))


def _compress(teacher: str, out, *extra: str) -> int:
    return run(["compress", "--teacher", teacher, "--out", str(out), *SMALL, *extra])


def test_resume_with_other_layers_is_refused_naming_the_key(tmp_path, teacher, capsys) -> None:
    out = tmp_path / "run"
    assert _compress(teacher, out, "--layers", "2") == 0
    capsys.readouterr()
    assert _compress(teacher, out, "--layers", "3") == 2
    err = capsys.readouterr().err
    assert "layers: 2 -> 3" in err and "--fresh" in err
    assert read_manifest(out / "student")["config"]["layers"] == 2  # nothing recorded that did not run


def test_new_seed_after_a_finished_run_is_refused_and_fresh_retrains(tmp_path, teacher, capsys) -> None:
    out = tmp_path / "run"
    assert _compress(teacher, out, "--layers", "2") == 0
    assert _compress(teacher, out, "--layers", "2", "--seed", "3") == 2
    assert "train.seed: 0 -> 3" in capsys.readouterr().err
    assert _compress(teacher, out, "--layers", "2", "--seed", "3", "--fresh") == 0
    assert read_manifest(out / "student")["config"]["train"]["seed"] == 3


def test_logging_and_loader_settings_do_not_block_a_resume(tmp_path, teacher) -> None:
    out = tmp_path / "run"
    assert _compress(teacher, out, "--layers", "2") == 0
    assert _compress(teacher, out, "--layers", "2", "--set", "train.log_every=1", "--set",
                     "train.checkpoint_every=7") == 0


def test_pipeline_mode_starts_fresh_on_other_settings(tmp_path, teacher) -> None:
    cfg = CompressConfig.model_validate({"teacher": teacher, "layers": 2, "data": {"synthetic_sequences": 2,
                                         "synthetic_length": 10}, "train": {"epochs": 1, "pairs_per_epoch": 4,
                                                                            "batch_size": 2, "workers": 0,
                                                                            "device": "cpu"}})
    run_compress(cfg, tmp_path)
    student = run_compress(cfg.replace(layers=3), tmp_path, on_mismatch="fresh")
    assert read_manifest(student)["config"]["layers"] == 3


def test_run_key_and_differences() -> None:
    key = run_key({"layers": 2, "train": {"workers": 4, "seed": 0, "optim": {"lr": 1e-3}}}, world_size=1)
    assert key == {"layers": 2, "train.seed": 0, "train.optim.lr": 1e-3, "world_size": 1}
    assert differing_keys(key, {**key, "layers": 3, "x": 1}) == ["layers: 2 -> 3", "x: unset -> 1"]


def test_partial_checkpoints_of_killed_runs_are_removed(tmp_path) -> None:
    from edgetrack.train.checkpoint import load_training_state, save_training_state

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".checkpoint.pt.tmp-{dead.stdout.strip()}-ab12").write_bytes(b"x" * 100)  # kill -9 in torch.save
    live = tmp_path / f".checkpoint.pt.tmp-{os.getppid()}-cd34"  # a writer that still runs
    live.write_bytes(b"y")
    assert load_training_state(tmp_path) is None
    assert list(tmp_path.glob(".checkpoint.pt.*")) == [live]
    save_training_state(tmp_path, {"step": 1})
    assert load_training_state(tmp_path) == {"step": 1}


def test_a_retrained_teacher_in_the_same_folder_is_not_resumed(tmp_path, teacher, capsys) -> None:
    """The run key holds the teacher's weights hash: same path and settings, other weights, is another run."""
    import torch

    from edgetrack.models import create_model

    out = tmp_path / "run"
    assert _compress(teacher, out, "--layers", "2") == 0
    old_sha = read_manifest(out / "student")["parents"]["teacher"]
    retrained = create_model(teacher)
    with torch.no_grad():
        for p in retrained.parameters():
            p.add_(0.01)
    save_model(retrained, teacher)
    capsys.readouterr()
    assert _compress(teacher, out, "--layers", "2") == 2
    err = capsys.readouterr().err
    assert f"teacher_sha256: {old_sha} -> " in err and "--fresh" in err
    assert read_manifest(out / "student")["parents"]["teacher"] == old_sha  # nothing trained on the new teacher
