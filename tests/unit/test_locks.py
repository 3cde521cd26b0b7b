from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from edgetrack import locks
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


def _dead_pid() -> int:
    """The pid of a process that has exited."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def _write_stale_lock(folder) -> int:
    """A lock of a dead process on this host, as kill -9 leaves it; returns its pid."""
    pid = _dead_pid()
    lock_path(folder).write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "command": "killed",
                                             "started": "2025-01-01T00:00:00+00:00"}))
    return pid


def test_two_takers_of_one_stale_lock_never_both_hold_it(tmp_path, monkeypatch) -> None:
    """B finds the dead holder's lock stale; before B acts, A takes it over. B must leave A's lock and be refused."""
    folder = tmp_path / "run"
    _write_stale_lock(folder)
    first: list[subprocess.Popen] = []
    real_is_stale = locks._is_stale

    def a_takes_over_meanwhile(info):
        stale = real_is_stale(info)
        if stale and not first:  # B has read the stale lock and judged it: now A runs its whole take-over
            first.append(_hold_in_child(folder))
        return stale

    monkeypatch.setattr(locks, "_is_stale", a_takes_over_meanwhile)
    notices: list[str] = []
    try:
        with pytest.raises(ArtifactError, match="in use by process") as refused:
            with folder_lock(folder, notice=notices.append):
                pass
        (a,) = first
        assert f"in use by process {a.pid} " in str(refused.value)
        assert json.loads(lock_path(folder).read_text())["pid"] == a.pid  # A's lock left in place
        assert notices == []  # B took nothing over
    finally:
        for child in first:
            child.kill()
            child.wait()


def test_a_stale_lock_released_meanwhile_is_simply_created(tmp_path, monkeypatch) -> None:
    """The lock B judged stale is gone when B acts (another taker came and went): B creates its own, no take-over."""
    folder = tmp_path / "run"
    _write_stale_lock(folder)
    real_is_stale = locks._is_stale

    def gone_meanwhile(info):
        lock_path(folder).unlink(missing_ok=True)
        return real_is_stale(info)

    monkeypatch.setattr(locks, "_is_stale", gone_meanwhile)
    notices: list[str] = []
    with folder_lock(folder, notice=notices.append):
        assert json.loads(lock_path(folder).read_text())["pid"] == os.getpid()
    assert notices == [] and not lock_path(folder).exists()


def test_take_over_leaves_no_guard_or_temp_file_and_ignores_a_dead_takers_guard(tmp_path) -> None:
    folder = tmp_path / "run"
    pid = _write_stale_lock(folder)
    guard = lock_path(folder).with_name(lock_path(folder).name + ".takeover")
    guard.write_text("")  # a taker killed inside its guard: the flock died with it, the file stays
    dead_temp = lock_path(folder).with_name(f"{lock_path(folder).name}.tmp-{pid}-ab12")
    dead_temp.write_text("{")  # a writer killed between writing its lock and linking it
    notices: list[str] = []
    with folder_lock(folder, notice=notices.append):
        held = json.loads(lock_path(folder).read_text())
        assert (held["pid"], held["host"]) == (os.getpid(), socket.gethostname())
    assert len(notices) == 1 and f"process {pid} is no longer running" in notices[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_compress_is_refused_while_another_process_holds_its_out(tmp_path, micro_model) -> None:
    from edgetrack.compress.config import CompressConfig
    from edgetrack.compress.run import run_compress
    from edgetrack.models import save_model

    teacher = save_model(micro_model, tmp_path / "teacher")
    cfg = CompressConfig.model_validate({"teacher": str(teacher), "layers": 2,
                                         "data": {"synthetic_sequences": 2, "synthetic_length": 10},
                                         "train": {"epochs": 1, "pairs_per_epoch": 4, "batch_size": 2, "workers": 0,
                                                   "device": "cpu"}})
    child = _hold_in_child(tmp_path / "run")
    try:
        with pytest.raises(ArtifactError, match=f"in use by process {child.pid} "):
            run_compress(cfg, tmp_path / "run")
        assert not (tmp_path / "run").exists()  # refused before a checkpoint or student was written
    finally:
        child.kill()
        child.wait()


def test_eval_is_refused_while_another_process_holds_its_results(tmp_path, monkeypatch) -> None:
    from edgetrack.data.synthetic import synthetic_sequence
    from edgetrack.eval import run as eval_run
    from edgetrack.eval.benchmarks import BENCHMARKS
    from edgetrack.eval.run import run_benchmark

    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [synthetic_sequence(7400, length=5)])
    results = tmp_path / "results"
    child = _hold_in_child(results)
    try:
        with pytest.raises(ArtifactError, match=f"in use by process {child.pid} "):
            run_benchmark("opencv:kcf", BENCHMARKS.get("synthetic-test"), results)
        assert not results.exists()  # no tracker.json claimed, no sequence tracked
    finally:
        child.kill()
        child.wait()
