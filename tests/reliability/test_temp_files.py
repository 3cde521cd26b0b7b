"""Temporary files live beside their output, are removed on failure, and dead writers' leftovers are swept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from edgetrack.artifacts import atomic_folder, remove_stale_siblings, scratch_folder, temp_sibling, write_json
from edgetrack.cli.app import run
from edgetrack.errors import ArtifactError
from edgetrack.locks import acquire, release
from edgetrack.models import save_model

pytest.importorskip("onnxruntime")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_stale_temps_of_dead_writers_are_swept_and_live_ones_kept(tmp_path) -> None:
    target = tmp_path / "out"
    dead = tmp_path / f".out.tmp-{_dead_pid()}-aa11"
    dead.mkdir()
    (dead / "model.onnx").write_bytes(b"x" * 1000)
    (tmp_path / f".out.old-{_dead_pid()}").mkdir()
    legacy = tmp_path / ".out.tmp-k2j3h4"  # an older release's name, without a pid
    legacy.mkdir()
    live = tmp_path / f".out.tmp-{os.getppid()}-bb22"
    live.mkdir()
    assert remove_stale_siblings(target) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name]


def test_a_failed_write_leaves_no_temp_file(tmp_path) -> None:
    with pytest.raises(TypeError):
        write_json(tmp_path / "a.json", {"x": object.__new__(type("NoJson", (), {"__str__": None}))})
    with pytest.raises(RuntimeError), atomic_folder(tmp_path / "f") as folder:
        (folder / "half").write_text("x")
        raise RuntimeError("killed")
    with pytest.raises(RuntimeError), scratch_folder(tmp_path / "g") as scratch:
        (scratch / "big").write_bytes(b"0" * 100)
        raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []


def test_temp_names_carry_the_writers_pid(tmp_path) -> None:
    name = temp_sibling(tmp_path / "model.onnx").name
    assert name.startswith(f".model.onnx.tmp-{os.getpid()}-")


def test_a_second_writer_of_one_folder_is_refused_while_the_first_writes(tmp_path, micro_model) -> None:
    out = tmp_path / "m"
    code = ("import sys, time; from edgetrack.locks import acquire; acquire(__import__('pathlib').Path(sys.argv[1]));"
            " print('locked', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ArtifactError, match=f"in use by process {holder.pid}"):
            save_model(micro_model, out)
    finally:
        holder.kill()
        holder.wait()
    save_model(micro_model, out)  # its lock is stale now: taken over
    assert (out / "model.safetensors").is_file()
    release(acquire(out))


def test_export_and_int8_leave_nothing_in_the_system_temp_dir(tmp_path, micro_model, monkeypatch) -> None:
    system_tmp = tmp_path / "systmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    model = save_model(micro_model, tmp_path / "m")
    assert run(["calibrate", "-m", str(model), "--samples", "8", "--out", str(tmp_path / "c.npz")]) == 0
    assert run(["export", str(model), "--out", str(tmp_path / "x"), "--precision", "fp32,int8",
                "--calib", str(tmp_path / "c.npz")]) == 0
    assert run(["build", str(tmp_path / "x"), "--target", "cpu", "--out", str(tmp_path / "b")]) == 0
    assert list(system_tmp.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "c.npz", "m", "systmp", "x"]
