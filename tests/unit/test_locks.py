from __future__ import annotations

import json
import subprocess
import sys

import pytest

from edgetrack.errors import ArtifactError
from edgetrack.locks import folder_lock, lock_path


def _hold_in_child(folder) -> subprocess.Popen:
    """A second process that takes the lock of `folder`, says so, and waits to be killed."""
    code = ("import sys, time; from edgetrack.locks import folder_lock\n"
            f"with folder_lock({str(folder)!r}):\n    print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_a_second_process_is_refused_naming_the_first(tmp_path) -> None:
    child = _hold_in_child(tmp_path / "run")
    try:
        with pytest.raises(ArtifactError, match=rf"in use by process {child.pid} .*choose another --out"):
            with folder_lock(tmp_path / "run"):
                pass
    finally:
        child.kill()
        child.wait()


def test_the_stale_lock_of_a_killed_process_is_taken_over(tmp_path) -> None:
    child = _hold_in_child(tmp_path / "run")
    child.kill()  # kill -9: no chance to remove its lock
    child.wait()
    assert lock_path(tmp_path / "run").is_file()
    notices: list[str] = []
    with folder_lock(tmp_path / "run", notice=notices.append):
        assert json.loads(lock_path(tmp_path / "run").read_text())["pid"] != child.pid
    assert "stale lock" in notices[0] and str(child.pid) in notices[0]
    assert not lock_path(tmp_path / "run").exists()


def test_locks_are_reentrant_within_a_process_and_released(tmp_path) -> None:
    with folder_lock(tmp_path / "run"):
        with folder_lock(tmp_path / "run"):
            pass
        assert lock_path(tmp_path / "run").is_file()  # the outer holder still has it
    assert not lock_path(tmp_path / "run").exists()


def test_a_torn_lock_file_counts_as_stale(tmp_path) -> None:
    lock_path(tmp_path / "run").write_text("{")
    with folder_lock(tmp_path / "run"):
        pass


def test_two_pipeline_runs_on_one_out_the_second_is_refused(tmp_path) -> None:
    from edgetrack.pipeline.config import PipelineConfig
    from edgetrack.pipeline.run import run_pipeline

    child = _hold_in_child(tmp_path / "out")
    try:
        cfg = PipelineConfig.model_validate({"out": str(tmp_path / "out"), "compress": {"teacher": "tiny"}})
        with pytest.raises(ArtifactError, match="in use by process"):
            run_pipeline(cfg, announce=lambda s: None)
        assert not (tmp_path / "out" / "compress").exists()  # refused before any stage wrote anything
    finally:
        child.kill()
        child.wait()
