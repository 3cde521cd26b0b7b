"""One process per output folder: a lock file that names its holder, stale locks of dead processes taken over.

Two runs writing one folder would mix their stage records, checkpoints and reports, and both would exit 0.
`folder_lock(folder)` creates the lock file `.NAME.lock` beside the folder (outside it, so that a stage which
replaces its folder atomically keeps its lock) with O_EXCL, holding the holder's pid, host, command and start
time; a second process is refused with a message naming the first. A lock whose process no longer runs (same
host, pid gone) is stale and is taken over with a notice. Locks are re-entrant within a process, so a pipeline
can hold its run folder while each stage locks its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edgetrack.errors import ArtifactError

_held: dict[Path, int] = {}  # lock path -> nesting depth in this process


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _holder(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_stale(info: dict[str, Any] | None) -> bool:
    """A lock is stale when its holder ran on this host and is gone; unreadable locks (torn writes) too."""
    if info is None or not isinstance(info.get("pid"), int):
        return True
    return info.get("host") == socket.gethostname() and not pid_alive(info["pid"])


def _create(path: Path) -> bool:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:300],
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        json.dump(info, f)
    return True


def lock_path(folder: Path) -> Path:
    """Where the lock of `folder` lives: `.NAME.lock` in its parent."""
    folder = Path(folder).resolve()
    return folder.parent / f".{folder.name}.lock"


def acquire(folder: Path, notice: Callable[[str], None] | None = None, allow_file: bool = False) -> Path:
    """Take the lock of `folder` (created if needed) or raise ArtifactError naming the process that holds it.

    A `folder` that exists as a file is refused (unless `allow_file`: a writer about to replace it).
    """
    if not allow_file and Path(folder).exists() and not Path(folder).is_dir():
        raise ArtifactError(f"{folder} exists and is not a folder: choose another --out")
    path = lock_path(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ArtifactError(f"cannot make the folder {folder}: part of that path is a file; choose another --out"
                            ) from None
    if path in _held:
        _held[path] += 1
        return path
    for _ in range(3):  # a stale lock removed by two processes at once: the loser retries
        if _create(path):
            _held[path] = 1
            return path
        info = _holder(path)
        if info is not None and info.get("pid") == os.getpid() and info.get("host") == socket.gethostname():
            _held[path] = 1  # left by this very process (a fork's parent, or an earlier failed release)
            return path
        if not _is_stale(info):
            assert info is not None
            raise ArtifactError(f"{folder} is in use by process {info['pid']} on {info.get('host')} "
                                f"(`{info.get('command', '?')}`, since {info.get('started', '?')}); wait for it to "
                                f"finish or choose another --out. If that process is gone, delete {path}")
        if notice:
            who = f"process {info['pid']}" if info and "pid" in info else "an unreadable lock"
            notice(f"taking over the stale lock of {folder} ({who} is no longer running)")
        path.unlink(missing_ok=True)
    raise ArtifactError(f"could not lock {folder}: another process keeps taking it; retry")


def release(path: Path) -> None:
    depth = _held.get(path, 0)
    if depth > 1:
        _held[path] = depth - 1
        return
    _held.pop(path, None)
    info = _holder(path)
    if info is not None and info.get("pid") == os.getpid():
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def folder_lock(folder: str | Path, enabled: bool = True, notice: Callable[[str], None] | None = None,
                allow_file: bool = False) -> Iterator[None]:
    """Hold the lock of `folder` for the duration of the block (a no-op when not `enabled`, e.g. DDP helpers)."""
    if not enabled:
        yield
        return
    path = acquire(Path(folder), notice, allow_file)
    try:
        yield
    finally:
        release(path)
