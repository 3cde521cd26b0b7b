"""One process per output folder: a lock file that names its holder, stale locks of dead processes taken over.

Two runs writing one folder would mix their stage records, checkpoints and reports, and both would exit 0.
`folder_lock(folder)` creates the lock file `.NAME.lock` beside the folder (outside it, so that a stage which
replaces its folder atomically keeps its lock), holding the holder's pid, host, command, start time and a random
token; a second process is refused with a message naming the first. A lock whose process no longer runs (same
host, pid gone) is stale and is taken over with a notice. Locks are re-entrant within a process, so a pipeline
can hold its run folder while each stage locks its own.

Race-free by construction:

- A lock appears complete: its content is written to a temp file that is then hard-linked to the lock's name
  (`os.link` fails when the name exists, like O_EXCL), so a reader never sees a half-written lock of a live
  holder and takes it for a torn, stale one.
- A stale lock is removed only by the process holding its take-over guard (`.NAME.lock.takeover`, an flock the
  kernel releases when its holder dies), and only if the lock still has the very bytes found stale. Two
  processes that both found the same dead holder cannot both take over: the second finds the first's fresh
  lock instead of the stale one, leaves it alone and is refused. (Renaming the lock away first would not do:
  the rename moves whatever lock is there by then, a live holder's included, and putting it back races.)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import secrets
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


def _read(path: Path) -> bytes | None:
    """The bytes of lock `path`; None when there is none (released, or taken over, meanwhile)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b""  # unreadable: counts as torn, hence stale


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(raw or b"")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _holder(path: Path) -> dict[str, Any] | None:
    return _parse(_read(path))


def _is_stale(info: dict[str, Any] | None) -> bool:
    """A lock is stale when its holder ran on this host and is gone; unreadable locks (torn writes) too."""
    if info is None or not isinstance(info.get("pid"), int):
        return True
    return info.get("host") == socket.gethostname() and not pid_alive(info["pid"])


def _is_mine(info: dict[str, Any] | None) -> bool:
    return info is not None and info.get("pid") == os.getpid() and info.get("host") == socket.gethostname()


def _lock_info() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)[:300],
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "token": secrets.token_hex(8)}  # tells apart two locks of one pid (a take-over compares bytes)


_TEMP = re.compile(r"\.tmp-(\d+)-[0-9a-f]+$")


def _remove_dead_temps(path: Path) -> None:
    """Delete lock temp files (`.NAME.lock.tmp-PID-HEX`) of writers killed between writing and linking them."""
    for p in path.parent.glob(f"{path.name}.tmp-*"):
        match = _TEMP.search(p.name)
        if match and int(match.group(1)) != os.getpid() and not pid_alive(int(match.group(1))):
            p.unlink(missing_ok=True)


def _publish(tmp: Path, path: Path) -> bool:
    """Give the complete file `tmp` the name `path` unless that exists; False when it does."""
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: exclusive create, then write (a brief torn window)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(tmp.read_bytes())
        return True


def _create(path: Path) -> bool:
    """Create lock `path` naming this process, complete at once; False when a lock is there."""
    info = _lock_info()
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        tmp.write_text(json.dumps(info))
        if not _publish(tmp, path):
            return False
    finally:
        tmp.unlink(missing_ok=True)
    return _parse(_read(path)) == info  # re-read: we hold it only if the lock there is the one we wrote


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _lock_guard(guard: Path) -> int | None:
    """An fd holding the flock of the guard file now at `guard`; None where the file system has no flock."""
    while True:
        fd = os.open(guard, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # ENOLCK, EOPNOTSUPP on some network mounts: the byte check alone must do there
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, guard):
            return fd
        os.close(fd)  # locked a guard its holder had already deleted: take the new one


@contextlib.contextmanager
def _takeover_guard(path: Path) -> Iterator[None]:
    """Hold the take-over guard of lock `path` (`.NAME.lock.takeover`), waiting for another taker to finish.

    The guard is an flock, so a taker that dies releases it; its holder deletes the file before unlocking, and
    a waiter that locked a deleted file (the inode check) opens the new one, so two takers never both hold it.
    """
    guard = path.with_name(path.name + ".takeover")
    fd = _lock_guard(guard)
    try:
        yield
    finally:
        guard.unlink(missing_ok=True)  # before unlocking: a waiter then sees another inode and retries
        if fd is not None:
            os.close(fd)


def _take_over(path: Path, stale: bytes) -> bool:
    """Remove lock `path` if it still holds the `stale` bytes; False when another process changed it first."""
    with _takeover_guard(path):
        if _read(path) != stale:
            return False  # taken over (or released) by another process since we read it: never remove that
        path.unlink(missing_ok=True)
    return True


def lock_path(folder: Path) -> Path:
    """Where the lock of `folder` lives: `.NAME.lock` in its parent."""
    folder = Path(folder).resolve()
    return folder.parent / f".{folder.name}.lock"


def _in_use(folder: Path, path: Path, info: dict[str, Any]) -> ArtifactError:
    return ArtifactError(f"{folder} is in use by process {info['pid']} on {info.get('host')} "
                         f"(`{info.get('command', '?')}`, since {info.get('started', '?')}); wait for it to "
                         f"finish or choose another --out. If that process is gone, delete {path}")


def _lock_parent(folder: Path, allow_file: bool) -> Path:
    """The lock path of `folder`, its parent made; refusals for a file where a folder should be."""
    if not allow_file and Path(folder).exists() and not Path(folder).is_dir():
        raise ArtifactError(f"{folder} exists and is not a folder: choose another --out")
    path = lock_path(folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ArtifactError(f"cannot make the folder {folder}: part of that path is a file; choose another --out"
                            ) from None
    return path


def acquire(folder: Path, notice: Callable[[str], None] | None = None, allow_file: bool = False) -> Path:
    """Take the lock of `folder` (created if needed) or raise ArtifactError naming the process that holds it.

    A `folder` that exists as a file is refused (unless `allow_file`: a writer about to replace it).
    """
    path = _lock_parent(folder, allow_file)
    if path in _held:
        _held[path] += 1
        return path
    _remove_dead_temps(path)
    for _ in range(5):  # each round creates, refuses, or sees the lock change (released, taken over): bounded
        if _create(path):
            _held[path] = 1
            return path
        raw = _read(path)
        if raw is None:
            continue  # released since: create again
        info = _parse(raw)
        if _is_mine(info):
            _held[path] = 1  # left by this very process (a fork's parent, or an earlier failed release)
            return path
        if not _is_stale(info):
            assert info is not None
            raise _in_use(folder, path, info)
        if _take_over(path, raw) and notice:
            who = f"process {info['pid']}" if info and "pid" in info else "an unreadable lock"
            notice(f"taking over the stale lock of {folder} ({who} is no longer running)")
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
