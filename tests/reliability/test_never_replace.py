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
