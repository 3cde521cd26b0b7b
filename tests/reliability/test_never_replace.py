"""`--out` never destroys what edgetrack did not write: a user's file, or a folder holding the user's files."""

from __future__ import annotations

import pytest

from edgetrack.cli.app import run
from edgetrack.models import save_model
from edgetrack.models.factory import bundled_weights

pytest.importorskip("onnxruntime")
TINY = bundled_weights("tiny")


@pytest.fixture
def model_dir(tmp_path, micro_model):
    return save_model(micro_model, tmp_path / "m")


def _users_folder(path):
    (path / "sub").mkdir(parents=True)
    (path / "notes.txt").write_text("mine")
    (path / "sub" / "data.csv").write_text("1,2")
    return path


@pytest.mark.parametrize("command", [
    lambda m, out: ["export", str(m), "--out", str(out)],
    lambda m, out: ["models", "import", "tiny", "--checkpoint", str(TINY / "model.safetensors"), "--out", str(out)],
], ids=["export", "models import"])
def test_a_users_folder_or_file_is_refused_and_left_as_it_was(tmp_path, model_dir, capsys, command) -> None:
    folder = _users_folder(tmp_path / "mine")
    assert run(command(model_dir, folder)) == 2
    assert "holds files edgetrack did not write (notes.txt, sub)" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "sub" / "data.csv").read_text() == "1,2"
    file = tmp_path / "report.pdf"
    file.write_text("keep")
    assert run(command(model_dir, file)) == 2
    assert "is not a folder; edgetrack will not replace it" in capsys.readouterr().err
    assert file.read_text() == "keep" and not list(tmp_path.glob(".report.pdf.old-*"))


def test_build_refuses_a_users_folder(tmp_path, model_dir, capsys) -> None:
    assert run(["export", str(model_dir), "--out", str(tmp_path / "x")]) == 0
    folder = _users_folder(tmp_path / "mine")
    assert run(["build", str(tmp_path / "x"), "--target", "cpu", "--out", str(folder)]) == 2
    assert "did not write" in capsys.readouterr().err and (folder / "notes.txt").is_file()


def test_an_edgetrack_output_and_an_empty_folder_are_replaced(tmp_path, model_dir) -> None:
    out = tmp_path / "x"
    assert run(["export", str(model_dir), "--out", str(out)]) == 0
    assert run(["export", str(model_dir), "--out", str(out)]) == 0  # its own earlier output: replaced
    (tmp_path / "empty").mkdir()
    assert run(["export", str(model_dir), "--out", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "model.onnx").is_file()


def test_an_edgetrack_folder_of_another_kind_is_refused_unless_replace(tmp_path, model_dir, capsys) -> None:
    assert run(["export", str(model_dir), "--out", str(model_dir)]) == 2  # a model folder is not an export
    assert "holds an edgetrack model folder, not a export one" in capsys.readouterr().err
    assert (model_dir / "model.safetensors").is_file()
    export = tmp_path / "x"
    assert run(["export", str(model_dir), "--out", str(export)]) == 0
    assert run(["models", "import", "tiny", "--checkpoint", str(TINY / "model.safetensors"),
                "--out", str(export)]) == 2
    assert "holds an edgetrack export folder, not a model one" in capsys.readouterr().err
    assert (export / "model.onnx").is_file()


def test_replace_replaces_a_users_file_or_folder_when_asked(tmp_path, model_dir) -> None:
    folder = _users_folder(tmp_path / "mine")
    assert run(["export", str(model_dir), "--out", str(folder), "--replace"]) == 0
    assert (folder / "model.onnx").is_file() and not (folder / "notes.txt").exists()
    file = tmp_path / "report.pdf"
    file.write_text("old")
    assert run(["export", str(model_dir), "--out", str(file), "--replace"]) == 0
    assert (file / "model.onnx").is_file()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp or lock left


@pytest.mark.parametrize("command", [
    ["compress", "--teacher", "tiny", "--layers", "1", "--epochs", "1", "--out", "{file}"],
    ["train", "--epochs", "1", "--out", "{file}"],
    ["eval", "-m", "tiny", "--out", "{file}"],
    ["calibrate", "-m", "tiny", "--samples", "2", "--out", "{file}/c.npz"],
    ["calibrate", "-m", "tiny", "--samples", "2", "--out", "{folder}"],
    ["pipeline", "run", "pipelines/quickstart.yaml", "--out", "{file}"],
], ids=["compress", "train", "eval", "calibrate-under-a-file", "calibrate-into-a-folder", "pipeline"])
def test_run_folders_refuse_a_file_or_folder_out_with_one_line(tmp_path, capsys, command) -> None:
    file, folder = tmp_path / "afile", tmp_path / "adir"
    file.write_text("keep")
    folder.mkdir()
    argv = [a.format(file=file, folder=folder) for a in command]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "error:" in err
    assert file.read_text() == "keep"


@pytest.mark.parametrize("command", [
    ["compress", "--teacher", "tiny", "--layers", "1", "--out", "{artifact}"],
    ["train", "--out", "{artifact}"],
    ["eval", "-m", "tiny", "--out", "{artifact}"],
    ["pipeline", "run", "pipelines/quickstart.yaml", "--out", "{artifact}"],
], ids=["compress", "train", "eval", "pipeline"])
def test_a_run_folder_is_never_an_artifact_folder(model_dir, capsys, command) -> None:
    before = sorted(p.name for p in model_dir.iterdir())
    assert run([a.format(artifact=model_dir) for a in command]) == 2
    assert "is an edgetrack model folder, not a run folder" in capsys.readouterr().err
    assert sorted(p.name for p in model_dir.iterdir()) == before
