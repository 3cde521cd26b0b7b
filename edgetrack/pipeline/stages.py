"""Stage bookkeeping: a stage is reused when its config and its parents' output hashes are unchanged and its own
outputs are still the files it wrote (sizes and times checked, hashes where a time moved)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgetrack.artifacts import sha256_file, sha256_json, write_json
from edgetrack.locks import folder_lock

#: written last, after the stage's outputs: a stage interrupted before it has no record and runs again
STAGE_RECORD = "stage.json"
#: files whose content changes from run to run without changing what the artifact computes
VOLATILE = ("manifest.json", STAGE_RECORD)


@dataclass(frozen=True)
class StageResult:
    """What a stage left behind: its folder, the hash children key on, and what the report shows."""

    name: str
    folder: Path
    hash: str
    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    reused: bool = False


def folder_hash(folder: Path, pattern: str = "*") -> str:
    """sha256 over the names and contents of the files in `folder` matching `pattern`, timestamps left out."""
    files = sorted(p for p in Path(folder).rglob(pattern) if p.is_file() and p.name not in VOLATILE
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    return sha256_json({str(p.relative_to(folder)): sha256_file(p) for p in files})


def _stage_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name != STAGE_RECORD
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def output_inventory(folder: Path) -> dict[str, list[Any]]:
    """{file below `folder`: [size, mtime_ns, sha256]} of a stage's outputs, recorded when the stage ends."""
    inventory = {}
    for p in _stage_files(folder):
        stat = p.stat()
        inventory[p.relative_to(folder).as_posix()] = [stat.st_size, stat.st_mtime_ns, sha256_file(p)]
    return inventory


def changed_outputs(folder: Path, inventory: Mapping[str, list[Any]]) -> list[str]:
    """The recorded outputs that are gone or differ now: sizes and times first, a hash only when a time moved."""
    changed = []
    for name, (size, mtime_ns, digest) in inventory.items():
        path = folder / name
        try:
            stat = path.stat()
        except OSError:
            changed.append(f"{name} (missing)")
            continue
        if stat.st_size != size or (stat.st_mtime_ns != mtime_ns and sha256_file(path) != digest):
            changed.append(name)
    return changed


def stage_key(name: str, config: Mapping[str, Any], parents: Mapping[str, str]) -> str:
    return sha256_json({"stage": name, "config": dict(config), "parents": dict(parents)})


def read_record(folder: Path) -> dict[str, Any] | None:
    path = folder / STAGE_RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:  # a damaged record only costs a re-run
        return None


def _changed_since(folder: Path, record: Mapping[str, Any]) -> list[str]:
    """What changed among the outputs `record` lists; a record without a valid list (older releases) counts as
    changed, so the stage runs once more and records one."""
    inventory = record.get("files")
    if not isinstance(inventory, dict) or not all(isinstance(v, list) and len(v) == 3 for v in inventory.values()):
        return ["(no record of its output files)"]
    return changed_outputs(folder, inventory)


#: a stage body: writes into the folder, returns (output hash, outputs for the report and for children)
StageFn = Callable[[Path], tuple[str, dict[str, Any]]]


def is_main_process() -> bool:
    """False in the helper processes of a `torchrun` launch (RANK > 0): they train, rank 0 records and reports."""
    return int(os.environ.get("RANK", "0")) == 0


def world_size() -> int:
    """Processes in this launch (1 without torchrun); it sets the global batch, so it keys the training stages."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def run_stage(name: str, folder: Path, config: Mapping[str, Any], parents: Mapping[str, str], body: StageFn,
              announce: Callable[[str], None] = print) -> StageResult:
    """Run `body` unless `folder` holds a record with the same key; either way return the stage's result.

    The stage folder is locked while the stage runs: another process cannot run the same stage into it.
    """
    with folder_lock(folder, enabled=is_main_process(), notice=announce):
        return _run_stage(name, folder, config, parents, body, announce)


def _run_stage(name: str, folder: Path, config: Mapping[str, Any], parents: Mapping[str, str], body: StageFn,
               announce: Callable[[str], None]) -> StageResult:
    key = stage_key(name, config, parents)
    record = read_record(folder)
    if record is not None and record.get("key") == key:
        changed = _changed_since(folder, record)
        if not changed:
            announce(f"{name}: reused ({folder})")
            return StageResult(name, folder, record["hash"], record["outputs"], record["seconds"], reused=True)
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        announce(f"{name}: its outputs changed since it ran ({shown}); running it again")
    announce(f"{name}: running -> {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STAGE_RECORD).unlink(missing_ok=True)
    start = time.perf_counter()
    out_hash, outputs = body(folder)
    seconds = time.perf_counter() - start
    if is_main_process():
        write_json(folder / STAGE_RECORD, {"stage": name, "key": key, "hash": out_hash, "outputs": outputs,
                                           "seconds": seconds, "config": dict(config), "parents": dict(parents),
                                           "files": output_inventory(folder)})
    announce(f"{name}: done in {seconds:.1f} s")
    return StageResult(name, folder, out_hash, outputs, seconds)
