"""Artifact folders: every stage writes one, with a manifest.json naming its stage, parents and config."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from edgetrack.errors import ArtifactError
from edgetrack.locks import folder_lock, pid_alive

MANIFEST = "manifest.json"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def publish(path: str | Path, directory: bool = False) -> None:
    """Give a file or folder written with private permissions (0600/0700: safetensors, `tempfile`) those of a
    normal one.

    Artifacts are shared and copied to devices: a bundle that only its builder can read is a trap.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_UMASK)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_json(data: Any) -> str:
    """Hash of a JSON-serialisable value, independent of key order."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def package_versions(names: tuple[str, ...] = ("edgetrack", "torch", "numpy", "onnx", "onnxruntime")) -> dict[str, str]:
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def make_manifest(stage: str, config: Mapping[str, Any] | None = None, parents: Mapping[str, str] | None = None,
                  metrics: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A manifest dict; `parents` maps a role (e.g. 'teacher') to the parent's sha256."""
    return {
        "stage": stage,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": dict(config or {}),
        "parents": dict(parents or {}),
        "metrics": dict(metrics or {}),
        "versions": package_versions(),
        "python": platform.python_version(),
        **extra,
    }


def temp_sibling(target: str | Path, suffix: str = "") -> Path:
    """A fresh temporary name beside `target`, `.NAME.tmp-PID-RANDOM`: on the same file system (so a rename
    publishes it) and marked with its writer's pid (so a later run can tell a dead writer's leftover)."""
    target = Path(target)
    return target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (temp file in the same folder, then rename); no temp file survives a failure."""
    path = Path(path)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "x") as f:
            json.dump(data, f, indent=2, sort_keys=True, default=str)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{folder} is not an edgetrack artifact: it has no {MANIFEST}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ArtifactError(f"{path} is not valid JSON ({err}); the artifact is damaged, re-run its stage") from None


def file_hashes(folder: str | Path, names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """{name: sha256} of the files of `folder` among `names`, for a manifest's `files` record."""
    return {n: sha256_file(Path(folder) / n) for n in names if (Path(folder) / n).is_file()}


def recorded_hash(folder: str | Path, name: str) -> str | None:
    """The sha256 that `folder`'s manifest records for file `name` (None when there is no such record)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(files, dict) and isinstance(files.get(name), str):
        return files[name]
    if name == "model.onnx" and isinstance(manifest.get("onnx_sha256"), str):  # exports before `files` existed
        return manifest["onnx_sha256"]
    return None


def verify_file(path: str | Path) -> Path:
    """`path`, after checking it against the sha256 its folder's manifest records; ArtifactError when it differs."""
    path = Path(path)
    want = recorded_hash(path.parent, path.name)
    if want is not None and path.is_file() and sha256_file(path) != want:
        raise ArtifactError(f"{path} does not match the sha256 recorded in {path.parent / MANIFEST}: it was damaged "
                            "or replaced after it was written; re-run the stage that made it")
    return path


def _writer_pid(name: str) -> int | None:
    """The pid in a temp name `.NAME.tmp-PID-...` / `.NAME.old-PID` (None for names without one)."""
    match = re.search(r"\.(?:tmp|old)-(\d+)(?:-|$)", name)
    return int(match.group(1)) if match else None


def remove_stale_siblings(target: Path) -> int:
    """Delete the temporary `.NAME.tmp-*` / `.NAME.old-*` files and folders that dead writers of `target` left.

    They can be as large as the artifact (a gigabyte at OSTrack-256 scale). A name whose pid still runs belongs
    to a live writer and is kept; one without a pid (older releases) is stale, since writers hold the lock.
    """
    stale = [p for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*") for p in target.parent.glob(pattern)
             if (pid := _writer_pid(p.name)) is None or (pid != os.getpid() and not pid_alive(pid))]
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


@contextlib.contextmanager
def scratch_folder(target: str | Path) -> Iterator[Path]:
    """A private working folder beside `target` (not in the system temp dir), removed however the block ends."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(target)
    tmp = temp_sibling(target)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_out_file(path: Path, what: str = "the file to write") -> None:
    """Refuse an output file path that cannot be written as one: an existing folder, or a path under a file."""
    path = Path(path)
    if path.is_dir():
        raise ArtifactError(f"{path} is a folder; --out names {what}")
    _check_parents(path)


def check_out_folder(path: Path) -> None:
    """Refuse a run folder path (compress, train, eval, pipeline) that cannot be one: an existing file, a path
    under a file, or an edgetrack artifact folder (a model, export or build), whose files the run would mix with."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ArtifactError(f"{path} exists and is not a folder: choose another --out")
    kind = folder_kind(path) if path.is_dir() else None
    if kind is not None:
        raise ArtifactError(f"{path} is an edgetrack {kind} folder, not a run folder: choose another --out")
    _check_parents(path)


def _check_parents(path: Path) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ArtifactError(f"cannot write {path}: {parent} is a file, not a folder; choose another --out")
            return


@contextlib.contextmanager
def system_temp_in(folder: Path) -> Iterator[None]:
    """Point `tempfile`'s default folder at `folder` for the block: libraries that write their own temp files
    (ONNX Runtime's quantiser) then write them where edgetrack sweeps them, not in the system temp dir."""
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = before


#: the kind of output folder each manifest `stage` marks; every other stage writes a model folder
KIND_OF_STAGE = {"export": "export", "build": "build", "bundle": "build"}


def folder_kind(folder: Path) -> str | None:
    """What kind of edgetrack output `folder` is (model, export, build, labels), or None if it is none."""
    if (folder / "labels.json").is_file():
        return "labels"
    if (folder / "engine.json").is_file() and not (folder / MANIFEST).is_file():
        return "build"
    try:
        stage = json.loads((folder / MANIFEST).read_text()).get("stage")
    except (OSError, ValueError, AttributeError):
        return None
    return KIND_OF_STAGE.get(stage, "model") if isinstance(stage, str) else None


def check_replaceable(target: Path, kind: str | None = None) -> None:
    """Refuse to replace what edgetrack did not write (a file, or a folder with content but no manifest) and an
    edgetrack output of another kind than `kind` (an export where a model folder goes)."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ArtifactError(f"{target} exists and is not a folder; edgetrack will not replace it: choose another "
                            "--out, or pass --replace")
    if not target.is_dir():
        return
    found = folder_kind(target)
    if found is not None:
        if kind is not None and found != kind:
            raise ArtifactError(f"{target} holds an edgetrack {found} folder, not a {kind} one; edgetrack will not "
                                "replace it: choose another --out, or pass --replace")
        return
    try:
        entries = sorted(p.name for p in target.iterdir())
    except OSError as err:
        raise ArtifactError(f"{target} cannot be listed ({err.strerror})") from None
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise ArtifactError(f"{target} holds files edgetrack did not write ({shown}); it will not replace them: "
                            "choose another --out, empty that folder first, or pass --replace")


@contextlib.contextmanager
def atomic_folder(target: str | Path, kind: str | None = None, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `target`, on error it is removed.

    A `target` that edgetrack did not write (a file, a folder with content and no manifest) or that is an output
    of another `kind` is refused first unless `replace`. The target is locked while it is written, so two
    writers of one folder never delete each other's files; an interrupted stage never leaves a half-written
    folder under the final name.
    """
    target = Path(target)
    if not replace:
        check_replaceable(target, kind)
    target.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(target, allow_file=replace):
        remove_stale_siblings(target)
        tmp = temp_sibling(target)
        tmp.mkdir()  # with the umask's permissions, as any folder the user makes
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if target.is_dir() and not target.is_symlink():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if target.exists() or target.is_symlink():
                target.unlink()  # a file or link the user chose to replace
            os.replace(tmp, target)
