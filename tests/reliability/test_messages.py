"""Honest messages: an error says what the input really is and what to do, never advice edgetrack does not take."""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import pytest
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.deploy.run import run_build
from edgetrack.export.run import run_export
from edgetrack.models.factory import build_model, save_model
from edgetrack.train.checkpoint import NAME
from tests.conftest import MICRO
from tests.unit.deploy.test_bundle import NO_GPU
from tests.unit.models.test_mixformerv2 import MICRO_MIX

#: a 2-step compress / train run (4 pairs, batch 2) on two short synthetic sequences
SMALL = ["--epochs", "1", "--pairs-per-epoch", "4", "--batch-size", "2", "--workers", "0", "--device", "cpu",
         "--set", "data.synthetic_sequences=2", "--set", "data.synthetic_length=10",
         "--set", "train.tensorboard=false"]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The CLI's stderr, asserted to be exactly one `error:` line."""
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def micro_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return save_model(build_model(MICRO).eval(), tmp_path_factory.mktemp("micro") / "m")


@pytest.fixture(scope="module")
def micro_export(tmp_path_factory: pytest.TempPathFactory, micro_folder: Path) -> Path:
    pytest.importorskip("onnxruntime")
    return run_export(str(micro_folder), tmp_path_factory.mktemp("export") / "x", precisions=["fp32", "fp16"])


# --- 1. a deploy bundle is built on the device -------------------------------------------------------------------

def test_bench_of_a_jetson_bundle_says_to_build_on_the_device_or_bench_the_onnx(tmp_path, micro_export,
                                                                                capsys) -> None:
    bundle = run_build(micro_export, "jetson-orin-nano", "fp16", tmp_path / "b", host=NO_GPU, log=lambda _: None)
    assert read_manifest(bundle)["stage"] == "bundle"
    assert run(["bench", str(bundle), "--runs", "1", "--warmup", "0", "--json"]) == 2
    line = one_error_line(capsys)
    assert "torch weights" not in line
    assert f"{bundle} is a deploy bundle for jetson-orin-nano" in line and "built on the device" in line
    assert "python3 build_engine.py" in line and "--backend onnxruntime" in line
    assert f"export folder {micro_export}" in line and "model.fp16.onnx" in line
    assert run(["bench", str(bundle), "--backend", "onnxruntime", "--runs", "1", "--warmup", "0", "--json"]) == 2
    assert "python3 build_engine.py" in one_error_line(capsys)


# --- 2. export prints the files it wrote -------------------------------------------------------------------------

def test_mixformerv2_export_prints_the_two_graphs_it_wrote(tmp_path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model_dir = save_model(build_model(MICRO_MIX).eval(), tmp_path / "m")
    out = tmp_path / "x"
    assert run(["export", str(model_dir), "--out", str(out), "--precision", "fp32,fp16"]) == 0
    text = capsys.readouterr().out
    printed = re.findall(r"\S+\.onnx", text)
    assert "model.onnx" not in text and all(Path(p).is_file() for p in printed)
    assert sorted(Path(p).name for p in printed) == sorted(
        ["template_encoder.onnx", "search_step.onnx", "template_encoder.fp16.onnx", "search_step.fp16.onnx"])
    assert read_manifest(out)["config"]["graphs"] == ["template_encoder.onnx", "search_step.onnx"]


# --- 3. a file given where a folder is expected ------------------------------------------------------------------

def test_track_with_the_onnx_file_asks_for_its_folder(tmp_path, micro_export, capsys) -> None:
    onnx = micro_export / "model.onnx"
    assert run(["track", str(tmp_path / "clip.mp4"), "--model", str(onnx), "--init", "1,1,10,10"]) == 2
    line = one_error_line(capsys)
    assert "not found" not in line
    assert f"{onnx} is a file; pass the folder that holds it (with its io_spec.json), e.g. {micro_export}" in line


def test_bench_with_the_safetensors_file_asks_for_its_folder(micro_folder, capsys) -> None:
    weights = micro_folder / "model.safetensors"
    assert run(["bench", str(weights), "--runs", "1", "--warmup", "0", "--json"]) == 2
    line = one_error_line(capsys)
    assert f"{weights} is a file; pass its folder" in line and str(micro_folder) in line


def test_a_file_named_like_a_preset_is_not_taken_for_one(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("weights").write_bytes(b"x")
    assert run(["bench", "weights", "--runs", "1", "--warmup", "0", "--json"]) == 2
    assert "weights is a file; pass its folder" in one_error_line(capsys)


def test_a_missing_path_still_says_folder_not_found(tmp_path, capsys) -> None:
    assert run(["bench", str(tmp_path / "nope" / "model.onnx"), "--json"]) == 2
    assert "folder not found" in one_error_line(capsys)


# --- 4. refused pickles: never torch's advice to unpickle unrestricted ---------------------------------------------

class Scripted(torch.nn.Module):
    """A module to save as a TorchScript archive."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class Settings:
    """A training-settings object, as OSTrack pickles next to its weights: not a tensor."""


class Evil:
    """Makes a folder when unpickled without restrictions."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return os.mkdir, (str(self.marker),)


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_a_torchscript_checkpoint_is_refused_without_weights_only_advice(tmp_path, capsys) -> None:
    path = tmp_path / "scripted.pth"
    torch.jit.save(torch.jit.script(Scripted()), str(path))
    assert run(["models", "import", "ostrack256", "--checkpoint", str(path), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert "weights_only" not in line.replace(" ", "_").lower() and "trusted source" not in line
    assert "TorchScript" in line and "safetensors" in line and not (tmp_path / "o").exists()


def test_a_pickle_with_other_objects_is_read_without_running_them(tmp_path, capsys) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "release.pth"
    torch.save({"model": {"w": torch.zeros(1)}, "obj": collections.OrderedDict, "cfg": Settings(),
                "evil": Evil(marker)}, path)
    assert run(["models", "import", "ostrack256", "--checkpoint", str(path), "--out", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert "weights_only" not in line.replace(" ", "_").lower() and str(path) in line
    assert not marker.exists()


def test_a_training_checkpoint_with_objects_is_refused_in_edgetracks_words(tmp_path, micro_folder, capsys) -> None:
    out, marker = tmp_path / "run", tmp_path / "ran"
    out.mkdir()
    torch.save({"step": 1, "cfg": Settings(), "evil": Evil(marker)}, out / NAME)
    assert run(["compress", "--teacher", str(micro_folder), "--out", str(out), "--layers", "2", *SMALL]) == 2
    line = one_error_line(capsys)
    assert "weights_only" not in line.replace(" ", "_").lower() and "trusted source" not in line
    assert f"cannot resume from {out / NAME}" in line and "other than tensors" in line and "start over" in line
    assert not marker.exists()


# --- 5. a re-run with nothing left to train keeps the recorded losses ------------------------------------------------

def _compress(teacher: Path, out: Path) -> int:
    return run(["compress", "--teacher", str(teacher), "--out", str(out), "--layers", "2", *SMALL])


def test_rerun_of_a_finished_compress_keeps_the_final_losses(tmp_path, micro_folder) -> None:
    out = tmp_path / "run"
    assert _compress(micro_folder, out) == 0
    first = read_manifest(out / "student")["metrics"]["final_losses"]
    assert "total" in first and "seconds" in first
    assert _compress(micro_folder, out) == 0  # resumes at the last step: nothing left to train
    assert read_manifest(out / "student")["metrics"]["final_losses"] == first


def test_rerun_from_a_checkpoint_without_losses_keeps_the_manifests(tmp_path, micro_folder) -> None:
    out = tmp_path / "run"
    assert _compress(micro_folder, out) == 0
    first = read_manifest(out / "student")["metrics"]["final_losses"]
    state = torch.load(out / NAME, weights_only=True)
    state.pop("losses", None)  # as checkpoints written before losses were recorded
    torch.save(state, out / NAME)
    assert _compress(micro_folder, out) == 0
    assert read_manifest(out / "student")["metrics"]["final_losses"] == first


def test_rerun_of_a_finished_train_keeps_the_final_losses(tmp_path, micro_folder) -> None:
    out = tmp_path / "run"
    args = ["train", "--model", str(micro_folder), "--out", str(out), *SMALL]
    assert run(args) == 0
    first = read_manifest(out / "model")["metrics"]["final_losses"]
    assert "total" in first
    assert run(args) == 0
    assert read_manifest(out / "model")["metrics"]["final_losses"] == first
