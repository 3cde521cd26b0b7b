"""What produced a folder of results: the tracker's files by content hash and its settings.

Result files are reused across runs (a killed evaluation resumes), so they must be keyed by the tracker
that wrote them, not by a folder name: retraining into the same folder, or a pipeline whose student changed,
must never get old boxes scored under new weights. Every results folder holds `tracker.json`, the identity
of the tracker whose boxes it holds; a run whose identity differs discards the old results first. Benchmarks
defined by their data root alone (`folder`) get a results folder per root, so two roots holding sequences
of the same names never share boxes. Within a folder, `sequences.json` keys each sequence's boxes by the
sequence's content (`sequence_key`): an edited first box or a changed frame list is tracked again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import sha256_file, write_json
from edgetrack.data.sequence import Sequence
from edgetrack.eval.benchmarks import Benchmark
from edgetrack.eval.opencv_trackers import is_opencv_spec, parse_spec

IDENTITY_FILE = "tracker.json"
#: files of an artifact folder that decide what it tracks (weights, graph, engine, and their settings)
ARTIFACT_FILES = ("model.safetensors", "config.json", "model.onnx", "model.fp32.onnx", "io_spec.json",
                  "model.engine", "engine.json",
                  # MixFormerV2's split export / cpu build, and the engines of its split TensorRT build
                  "template_encoder.onnx", "search_step.onnx", "mixformerv2_spec.json",
                  "template_encoder/model.engine", "template_encoder/engine.json",
                  "search_step/model.engine", "search_step/engine.json")


def _files(paths: list[Path], root: Path | None = None) -> dict[str, str]:
    """{name (path below `root` when given): sha256} of the files that exist."""
    return {(p.relative_to(root).as_posix() if root else p.name): sha256_file(p) for p in paths if p.is_file()}


def tracker_identity(model: str, device: str = "cpu") -> dict[str, Any]:
    """The identity of the tracker `model` names: kind, content hashes of its files, device."""
    if is_opencv_spec(model):
        import cv2

        spec = parse_spec(model)
        return {"kind": "opencv", "tracker": spec.name, "files": _files(list(spec.files)),
                "opencv": cv2.__version__}
    path = Path(model)
    if path.is_dir():
        return {"kind": "artifact", "files": _files([path / n for n in ARTIFACT_FILES], path), "device": device}
    from edgetrack.models.factory import bundled_weights

    folder = bundled_weights(model)
    return {"kind": "preset", "name": model, "files": _files([folder / "model.safetensors", folder / "config.json"]),
            "device": device}


def model_label(model: str) -> str:
    """A short, file-safe name for a tracker argument: preset name, `opencv-NAME`, or the folder's last two parts.

    Two folders with the same last two parts (`/a/x/student`, `/b/x/student`) get different labels: a short
    hash of the resolved path is appended, so they never share a results folder.
    """
    if is_opencv_spec(model):
        return parse_spec(model).label
    path = Path(model)
    if not path.is_dir():
        return str(model).replace("/", "-").replace(" ", "_") or "model"
    parts = [p for p in path.resolve().parts[-2:] if p not in (".", "/")]
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:6]
    return "-".join(parts).replace(" ", "_") + f"-{digest}"


def benchmark_label(bench: Benchmark, data_root: str | Path | None) -> str:
    """The results folder name of a benchmark: its name, and for a per-root benchmark the root's name and hash."""
    if not bench.per_root or data_root is None:
        return bench.name
    root = Path(data_root).expanduser().resolve()
    # the hash of the resolved path tells apart two roots of the same name; the name is for people
    digest = hashlib.sha256(str(root).encode()).hexdigest()[:6]
    return f"{bench.name}-{root.name.replace(' ', '_')}-{digest}"


def _read_record(path: Path) -> dict[str, Any] | None:
    """The identity recorded in `path`; None when absent or unreadable (then the results count as unknown)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def claim_results(results_dir: Path, identity: dict[str, Any], notice: Callable[[str], None] | None = None) -> int:
    """Make `results_dir` hold results of `identity` only; returns how many sequences' stale results were discarded.

    Results without a `tracker.json` (written by an older edgetrack, or by hand) have no provenance and are
    discarded too.
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    record = results_dir / IDENTITY_FILE
    old = _read_record(record)
    stale = [] if old == identity else sorted(p for p in results_dir.glob("*.txt"))
    sequences = sum(not p.name.endswith("_time.txt") for p in stale)
    if stale and notice:
        why = "were written by a different tracker" if old is not None else "have no record of their tracker"
        changed = sorted(k for k in set(old or {}) | set(identity) if (old or {}).get(k) != identity.get(k))
        detail = f" (changed: {', '.join(changed)})" if old is not None else ""
        notice(f"results of {sequences} sequences in {results_dir} {why}{detail}; discarding them and tracking again")
    for p in stale:
        p.unlink()
    if old != identity:
        write_json(record, identity)
    return sequences


SEQUENCE_KEYS_FILE = "sequences.json"


def sequence_key(seq: Sequence) -> str:
    """What a sequence's tracked boxes depend on besides the tracker: its first box and its frames (file names,
    sizes and modification times; the pixels for in-memory frames). Metrics are computed from the current
    ground truth at every evaluation, so an edit of a later box needs no re-tracking, an edit of the first does."""
    digest = hashlib.sha256()
    digest.update(np.asarray(seq.init_box, dtype=np.float64).tobytes())
    digest.update(str(len(seq)).encode())
    if isinstance(seq.frames, np.ndarray):
        digest.update(np.ascontiguousarray(seq.frames).tobytes())
    elif not callable(seq.frames):  # image files
        for path in seq.frames:
            stat = Path(path).stat()
            digest.update(f"{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def read_sequence_keys(results_dir: Path) -> dict[str, str]:
    """{sequence name: key} of the results in `results_dir` ({} when none are recorded)."""
    return {k: v for k, v in (_read_record(results_dir / SEQUENCE_KEYS_FILE) or {}).items() if isinstance(v, str)}


def record_sequence_key(results_dir: Path, name: str, key: str) -> None:
    write_json(results_dir / SEQUENCE_KEYS_FILE, {**read_sequence_keys(results_dir), name: key})
