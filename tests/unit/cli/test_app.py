from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgetrack.cli.app import run


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    text = capsys.readouterr().out
    assert "env" in text and "models" in text


def test_models_info_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "info", "ostrack256", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["parameters"] == 92_366_469
    assert info["gmacs"] == pytest.approx(30.91, abs=0.01) and info["depth"] == 12


def test_models_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "list"]) == 0
    text = capsys.readouterr().out
    assert "ostrack256" in text and "tiny" in text


def test_unknown_model_is_one_red_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["models", "info", "ostrak256"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown model 'ostrak256'. Did you mean 'ostrack256'?")
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_debug_shows_the_exception() -> None:
    from edgetrack.errors import RegistryError

    with pytest.raises(RegistryError):
        run(["--debug", "models", "info", "ostrak256"])


def test_env_json_reports_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["env", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    import platform

    import numpy
    import torch

    assert rows["torch"] == torch.__version__ and rows["numpy"] == numpy.__version__
    assert rows["python"].startswith(platform.python_version())
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        assert rows["tensorrt"] == "not installed"


def test_import_is_light() -> None:
    code = (
        "import sys, edgetrack, edgetrack.cli.app, edgetrack.models\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('onnxruntime', 'tensorrt', 'modelopt', 'onnx')]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_console_script_help_runs() -> None:
    proc = subprocess.run([sys.executable, "-m", "edgetrack", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Usage" in proc.stdout


def test_models_import_refuses_a_file_that_is_not_vittracks(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "object_tracking_vittrack_2023sep.onnx"
    fake.write_bytes(b"not the model")
    assert run(["models", "import", "vittrack", "--checkpoint", str(fake), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "is not OpenCV's object_tracking_vittrack_2023sep.onnx" in err and not (tmp_path / "m").exists()


def test_models_import_writes_a_model_folder_every_stage_takes(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import save_file

    from edgetrack.models.factory import build_model, create_model, model_config

    weights = tmp_path / "tiny.safetensors"
    save_file(build_model(model_config("tiny")).state_dict(), str(weights))
    assert run(["models", "import", "tiny", "--checkpoint", str(weights), "--out", str(tmp_path / "m")]) == 0
    assert create_model(tmp_path / "m").cfg.name == "tiny"
