"""Fault injection: kill -9 in the middle of compress, eval and pipeline runs, then re-run and compare with a run
that was never interrupted; damaged artifacts of every kind; two runs on one output folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_split
from edgetrack.eval.results import read_result
from edgetrack.eval.run import track_sequence
from edgetrack.locks import lock_path
from edgetrack.models import create_model, save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.tracker import Tracker
from tests.conftest import MICRO

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def _edgetrack(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "edgetrack", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool]) -> None:
    """SIGKILL `proc` as soon as `ready()` holds (the run is mid-way); fail if it finished first."""
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the kill point: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the kill point was not reached in time")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(TIMEOUT)


def _finish(*args: str) -> None:
    proc = _edgetrack(*args)
    _, err = proc.communicate(timeout=TIMEOUT * 2)
    assert proc.returncode == 0, err


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(TrackerModel(MICRO).eval(), tmp_path_factory.mktemp("teacher") / "micro")


def _compress_args(teacher: Path, out: Path) -> list[str]:
    return ["compress", "--teacher", str(teacher), "--layers", "2", "--epochs", "1", "--pairs-per-epoch", "48",
            "--batch-size", "2", "--workers", "0", "--device", "cpu", "--out", str(out),
            "--set", "data.synthetic_sequences=4", "--set", "data.synthetic_length=20",
            "--set", "train.checkpoint_every=4", "--set", "train.tensorboard=false"]


def _same_weights(a: Path, b: Path) -> None:
    sa, sb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def test_compress_killed_mid_run_resumes_to_the_uninterrupted_weights(tmp_path, teacher) -> None:
    _finish(*_compress_args(teacher, tmp_path / "straight"))
    proc = _edgetrack(*_compress_args(teacher, tmp_path / "killed"))
    _kill_when(proc, lambda: (tmp_path / "killed" / "checkpoint.pt").is_file())
    assert not (tmp_path / "killed" / "student").exists()
    _finish(*_compress_args(teacher, tmp_path / "killed"))  # the stale lock of the killed run is taken over
    _same_weights(tmp_path / "straight" / "student", tmp_path / "killed" / "student")


def test_eval_killed_mid_run_resumes_with_the_same_boxes(tmp_path, teacher) -> None:
    out = tmp_path / "eval"
    args = ["eval", "--model", str(teacher), "--out", str(out)]
    results = out / "synthetic-test"

    def some_done() -> bool:  # box files: each is written after its timing file, so count what the check counts
        return len(list(results.glob("*/results/synth-*[0-9].txt"))) >= 3

    _kill_when(_edgetrack(*args), some_done)
    done_before = {p.name for p in results.glob("*/results/synth-*[0-9].txt")}
    assert 3 <= len(done_before) < 50
    _finish(*args)
    (folder,) = [p for p in results.iterdir() if p.is_dir()]
    sequences = synthetic_split("synthetic-test")
    tracker = Tracker.from_model(create_model(teacher))
    for seq in (sequences[0], sequences[len(done_before) + 2], sequences[-1]):  # before and after the kill
        boxes, _ = track_sequence(tracker, seq)
        np.testing.assert_array_equal(read_result(folder / "results", seq.name), np.trunc(boxes))


def _pipeline_file(tmp_path: Path, teacher: Path, steps: int = 24, layers: int = 2) -> Path:
    path = tmp_path / f"p{steps}-{layers}.yaml"
    path.write_text(f"""
name: faults
out: {tmp_path / "run"}
compress:
  teacher: {teacher}
  layers: {layers}
  data: {{datasets: [synthetic-train], synthetic_sequences: 4, synthetic_length: 20}}
  train: {{epochs: 1, pairs_per_epoch: {2 * steps}, batch_size: 2, workers: 0, device: cpu, tensorboard: false,
          checkpoint_every: 4}}
calibrate: {{samples: 8}}
export: {{precisions: [fp32]}}
build: {{target: cpu}}
eval: null
bench: null
""")
    return path


def test_pipeline_killed_in_compress_resumes_to_the_uninterrupted_student(tmp_path, teacher) -> None:
    file = _pipeline_file(tmp_path, teacher)
    _kill_when(_edgetrack("pipeline", "run", str(file)), lambda: (tmp_path / "run" / "compress" /
                                                                   "checkpoint.pt").is_file())
    _finish("pipeline", "run", str(file))
    assert (tmp_path / "run" / "report.md").is_file()
    _finish(*_compress_args(teacher, tmp_path / "straight"))
    _same_weights(tmp_path / "straight" / "student", tmp_path / "run" / "compress" / "student")


def test_a_second_pipeline_on_the_same_out_is_refused_while_the_first_runs(tmp_path, teacher, capsys) -> None:
    first = _edgetrack("pipeline", "run", str(_pipeline_file(tmp_path, teacher, steps=400)))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not lock_path(tmp_path / "run").is_file():
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        code = run(["pipeline", "run", str(_pipeline_file(tmp_path, teacher, steps=24, layers=3))])
        assert code == 2
        assert f"in use by process {first.pid}" in capsys.readouterr().err
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(TIMEOUT)


DAMAGES = {
    "model.safetensors": lambda p: p.write_bytes(p.read_bytes()[:64]),
    "config.json": lambda p: p.write_text("{not json"),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_every_damaged_model_file_gives_one_line_and_exit_2(tmp_path, teacher, name: str, capsys) -> None:
    folder = tmp_path / "m"
    save_model(create_model(teacher), folder)
    DAMAGES[name](folder / name)
    code = run(["eval", "--model", str(folder), "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err and len(errors) == 1 and name in errors[0], err


def test_every_damaged_export_file_gives_one_line_and_exit_2(tmp_path, teacher, capsys) -> None:
    pytest.importorskip("onnxruntime")
    assert run(["export", str(teacher), "--out", str(tmp_path / "x")]) == 0
    for name, damage in (("model.onnx", lambda p: p.write_bytes(p.read_bytes()[:-10])),
                         ("io_spec.json", lambda p: p.write_text("[]"))):
        copy = tmp_path / f"x-{name}"
        subprocess.run(["cp", "-r", str(tmp_path / "x"), str(copy)], check=True)
        damage(copy / name)
        capsys.readouterr()
        assert run(["build", str(copy), "--target", "cpu", "--out", str(tmp_path / f"b-{name}")]) == 2, name
        err = capsys.readouterr().err.strip()
        assert name in err and "Traceback" not in err, err
