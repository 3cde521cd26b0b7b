"""Every file is checked before it is trusted: damaged weights, ONNX and calibration sets give one clear line."""

from __future__ import annotations

import shutil

import pytest

from edgetrack.cli.app import run
from edgetrack.errors import ArtifactError, CheckpointError
from edgetrack.models import create_model, save_model
from edgetrack.runtime.tracker import Tracker

DAMAGE = {
    "empty": lambda data: b"",
    "truncated": lambda data: data[: len(data) // 2],
    "garbage": lambda data: b"\x00\x01 not a safetensors file " * 10,
}


@pytest.fixture
def model_dir(tmp_path, micro_model):
    return save_model(micro_model, tmp_path / "m")


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_weights_in_a_model_folder_are_one_artifact_error(model_dir, kind: str) -> None:
    weights = model_dir / "model.safetensors"
    weights.write_bytes(DAMAGE[kind](weights.read_bytes()))
    with pytest.raises(ArtifactError, match="model.safetensors"):
        create_model(model_dir)
    with pytest.raises(ArtifactError, match="model.safetensors"):
        Tracker.from_artifact(model_dir)


def test_replaced_weights_fail_the_recorded_hash(tmp_path, model_dir, micro_model) -> None:
    other = save_model(micro_model, tmp_path / "other")
    shutil.copy(other / "config.json", model_dir / "config.json")
    weights = model_dir / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # still a valid file, but not the one the manifest recorded
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match the sha256 recorded"):
        create_model(model_dir)


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_single_file_checkpoint(tmp_path, model_dir, kind: str) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(DAMAGE[kind]((model_dir / "model.safetensors").read_bytes()))
    with pytest.raises(CheckpointError, match="w.safetensors is not a readable safetensors file"):
        create_model("tiny", checkpoint=path)


def test_cli_gives_one_line_and_exit_2_for_truncated_weights(model_dir, tmp_path, capsys) -> None:
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    assert run(["eval", "--model", str(model_dir), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.safetensors" in err and "Traceback" not in err and len(err.splitlines()) <= 3
    assert run(["compress", "--teacher", str(model_dir), "--out", str(tmp_path / "c")]) == 2
    assert "model.safetensors does not match the sha256" in capsys.readouterr().err
    loose = tmp_path / "teacher.safetensors"
    loose.write_bytes(weights.read_bytes())
    assert run(["compress", "--teacher", "tiny", "--teacher-weights", str(loose), "--out", str(tmp_path / "d")]) == 2
    assert "teacher.safetensors is not a readable safetensors file" in capsys.readouterr().err


def test_corrupt_calibration_set_never_advises_unpickling(tmp_path) -> None:
    from edgetrack.calibration.store import CalibrationSet

    path = tmp_path / "c.npz"
    path.write_bytes(b"garbage" * 20)
    with pytest.raises(ArtifactError) as info:
        CalibrationSet.load(path)
    assert "c.npz" in str(info.value) and "pickle" not in str(info.value).lower()


def test_bundle_refuses_a_corrupt_onnx(tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    import torch

    from edgetrack.deploy.run import run_build
    from edgetrack.export.run import run_export
    from edgetrack.models.tracker import TrackerModel
    from tests.conftest import MICRO
    from tests.unit.deploy.test_bundle import NO_GPU

    torch.manual_seed(0)
    model_dir = save_model(TrackerModel(MICRO).eval(), tmp_path / "m")
    export_dir = run_export(str(model_dir), tmp_path / "x", precisions=["fp32", "fp16"])
    onnx = export_dir / "model.fp16.onnx"
    onnx.write_bytes(onnx.read_bytes()[:-50])
    with pytest.raises(ArtifactError, match="model.fp16.onnx does not match the sha256"):
        run_build(export_dir, "jetson-orin-nano", "fp16", tmp_path / "b", host=NO_GPU)
    assert not (tmp_path / "b").exists()
    (export_dir / "model.onnx").write_bytes(b"junk")
    with pytest.raises(ArtifactError, match="model.onnx does not match"):
        Tracker.from_artifact(export_dir)
