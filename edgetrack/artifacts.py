"""Artifact folders: every stage writes one, with a manifest.json naming its stage, parents and config."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from edgetrack.errors import ArtifactError

MANIFEST = "manifest.json"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def publish(path: str | Path, directory: bool = False) -> None:
    """Give a file or folder made by `tempfile` (private, 0600/0700) the permissions of a normal one.

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


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    publish(tmp)
    os.replace(tmp, path)


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


def remove_stale_siblings(target: Path) -> int:
    """Delete the temporary `.NAME.tmp-*` / `.NAME.old-*` folders that killed writers of `target` left behind.

    They can be as large as the artifact (a gigabyte at OSTrack-256 scale); writers of one output folder hold
    its lock (`edgetrack.locks`), so no live writer owns them.
    """
    stale = [p for pattern in (f".{target.name}.tmp-*", f".{target.name}.old-*") for p in target.parent.glob(pattern)]
    for p in stale:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


#: files that mark a folder as written by edgetrack (an artifact's manifest; a labelled clip's record)
OWN_MARKERS = (MANIFEST, "labels.json")


def check_replaceable(target: Path) -> None:
    """Refuse to replace what edgetrack did not write: a file, or a folder with content but no manifest."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ArtifactError(f"{target} exists and is not a folder; edgetrack will not replace it: choose another "
                            "--out")
    if not target.is_dir() or any((target / m).is_file() for m in OWN_MARKERS):
        return
    try:
        entries = sorted(p.name for p in target.iterdir())
    except OSError as err:
        raise ArtifactError(f"{target} cannot be listed ({err.strerror})") from None
    if entries:
        shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
        raise ArtifactError(f"{target} holds files edgetrack did not write ({shown}); it will not replace them: "
                            "choose another --out, or empty that folder first")


@contextlib.contextmanager
def atomic_folder(target: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces `target`, on error it is removed. A `target` that
    edgetrack did not write (a file, or a folder with content and no manifest) is refused first, never replaced.

    An interrupted stage therefore never leaves a half-written folder under the final name.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise ArtifactError(f"{target} exists; pass --overwrite or choose another --out")
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    publish(tmp, directory=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
