"""Fault injection on the bundled `tiny`: kill -9 at two points of export, build and calibrate, a full disk
(RLIMIT_FSIZE), a read-only output folder and two writers of one folder. After each: one line and exit 2 (or a
clean re-run), no temp file left, and a re-run gives the uninterrupted run's result."""

from __future__ import annotations

import builtins
import errno
import hashlib
import io
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgetrack.cli.app import run

pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


#: runs the CLI with one function of a module made to wait first, so that a kill point lasting microseconds
#: (between two writes) lasts long enough to be hit every time
PAUSED = ("import sys, time, importlib; module, name = sys.argv.pop(1).split(':'); "
          "m = importlib.import_module(module); f = getattr(m, name); "
          "setattr(m, name, lambda *a, **k: (time.sleep(60), f(*a, **k))[1]); "
          "from edgetrack.cli.app import main; sys.argv[0] = 'edgetrack'; main()")


def _start(*args: str, fsize: int | None = None, pause: str | None = None) -> subprocess.Popen:
    """The CLI in its own process group; `pause` ("module:function") makes that function wait 60 s first."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = ["-c", PAUSED, pause] if pause else ["-m", "edgetrack"]

    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.Popen([sys.executable, *command, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=limit)


def _finish(*args: str, fsize: int | None = None) -> tuple[int, str]:
    proc = _start(*args, fsize=fsize)
    _, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, err


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before the kill point: {proc.stderr.read() if proc.stderr else ''}")
        assert time.monotonic() < deadline, "the kill point was not reached in time"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(TIMEOUT)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hidden(folder: Path) -> list[str]:
    """Temp files, temp folders and locks anywhere below `folder`."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The uninterrupted runs every faulty run is compared with."""
    root = tmp_path_factory.mktemp("straight")
    assert _finish("calibrate", "-m", "tiny", "--samples", "32", "--out", str(root / "c.npz"))[0] == 0
    assert _finish("export", "tiny", "--out", str(root / "x"))[0] == 0
    assert _finish("build", str(root / "x"), "--target", "cpu", "--precision", "fp32", "--out", str(root / "b"))[0] == 0
    return root


def _tmp_of(target: Path, inner: str | None = None) -> Callable[[], bool]:
    """True once a writer of `target` has a temp sibling (holding `inner`, when given)."""
    def ready() -> bool:
        return any((inner is None or (p / inner).is_file()) for p in target.parent.glob(f".{target.name}.tmp-*"))
    return ready


@pytest.mark.parametrize("point", ["temp folder made", "graph written"])
def test_export_killed_then_re_run_gives_the_same_graph_and_no_leftovers(tmp_path, straight, point) -> None:
    out = tmp_path / "x"
    proc = _start("export", "tiny", "--out", str(out))
    _kill_when(proc, _tmp_of(out, None if point == "temp folder made" else "model.onnx"))
    assert not out.exists()
    assert _finish("export", "tiny", "--out", str(out)) == (0, "")
    assert _sha(out / "model.onnx") == _sha(straight / "x" / "model.onnx")
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("point", ["timing", "writing"])
def test_build_killed_then_re_run_gives_the_same_build_and_no_leftovers(tmp_path, straight, point) -> None:
    out = tmp_path / "b"
    args = ("build", str(straight / "x"), "--target", "cpu", "--precision", "fp32", "--out", str(out))
    # "writing": the graph is in the temp folder and the manifest not yet (held there by a pause)
    pause = "edgetrack.deploy.cpu:write_json" if point == "writing" else None
    _kill_when(_start(*args, pause=pause), _tmp_of(out, "model.onnx" if point == "writing" else None))
    assert _finish(*args)[0] == 0
    assert _sha(out / "model.onnx") == _sha(straight / "b" / "model.onnx")
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("after_s", [0.5, 2.0])
def test_calibrate_killed_then_re_run_gives_the_same_set(tmp_path, straight, after_s) -> None:
    out = tmp_path / "c.npz"
    args = ("calibrate", "-m", "tiny", "--samples", "32", "--out", str(out))
    proc = _start(*args)
    start = time.monotonic()
    _kill_when(proc, lambda: time.monotonic() - start > after_s)
    assert _finish(*args)[0] == 0
    assert _sha(out) == _sha(straight / "c.npz")
    assert _hidden(tmp_path) == []


@pytest.mark.parametrize("command", [
    ("export", "tiny", "--out", "{out}/x"),
    ("calibrate", "-m", "tiny", "--samples", "64", "--out", "{out}/c.npz"),
    ("models", "import", "tiny", "--checkpoint", str(ROOT / "edgetrack/models/pretrained/tiny/model.safetensors"),
     "--out", "{out}/m"),
], ids=["export", "calibrate", "models import"])
def test_a_full_disk_gives_one_line_leaves_nothing_and_a_re_run_succeeds(tmp_path, command) -> None:
    args = [a.format(out=tmp_path) for a in command]
    code, err = _finish(*args, fsize=64 * 1024)
    assert code == 2 and "Traceback" not in err, err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.strip().splitlines()[-1]]
    assert "limit" in err or "disk" in err
    assert _hidden(tmp_path) == [] and not Path(args[-1]).exists()
    assert _finish(*args)[0] == 0


def test_a_second_export_into_one_folder_is_refused_while_the_first_writes(tmp_path, capsys) -> None:
    out = tmp_path / "x"
    first = _start("export", "tiny", "--out", str(out))
    _kill_when_not = _tmp_of(out)
    deadline = time.monotonic() + TIMEOUT
    while not _kill_when_not():
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    assert run(["export", "tiny", "--out", str(out)]) == 2
    assert f"in use by process {first.pid}" in capsys.readouterr().err
    _, err = first.communicate(timeout=TIMEOUT)
    assert first.returncode == 0, err
    assert (out / "model.onnx").is_file() and _hidden(tmp_path) == []


@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A folder nobody may write in; as root (who ignores modes) the file system calls under it are refused."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:
        under = lambda path: str(os.fspath(path)).startswith(str(folder))  # noqa: E731
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT

        def refused(path: object) -> PermissionError:
            return PermissionError(errno.EACCES, "Permission denied", os.fspath(path))  # type: ignore[arg-type]

        def mkdir(path, *args, _real=os.mkdir, **kwargs):
            if under(path):
                raise refused(path)
            return _real(path, *args, **kwargs)

        def os_open(path, flags, *args, _real=os.open, **kwargs):
            if under(path) and flags & writes:
                raise refused(path)
            return _real(path, flags, *args, **kwargs)

        def io_open(file, mode="r", *args, _real=io.open, **kwargs):
            if isinstance(file, (str, Path)) and under(file) and set(mode) & set("wax+"):
                raise refused(file)
            return _real(file, mode, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(io, "open", io_open)
        monkeypatch.setattr(builtins, "open", io_open)
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize("command", [
    ["export", "tiny", "--out", "{ro}/x"],
    ["build", "{export}", "--target", "cpu", "--out", "{ro}/b"],
    ["calibrate", "-m", "tiny", "--samples", "2", "--out", "{ro}/c.npz"],
    ["eval", "-m", "tiny", "--out", "{ro}/e"],
    ["compress", "--teacher", "tiny", "--layers", "1", "--out", "{ro}/c"],
    ["pipeline", "run", "pipelines/quickstart.yaml", "--out", "{ro}/p"],
], ids=["export", "build", "calibrate", "eval", "compress", "pipeline"])
def test_a_read_only_out_gives_one_line_naming_it(read_only, straight, capsys, command) -> None:
    argv = [a.format(ro=read_only, export=straight / "x") for a in command]
    assert run(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and str(read_only) in err[-1] and "ermission" in err[-1]
    assert "Traceback" not in "\n".join(err)
