"""Pseudo-labels for unlabeled clips: a labeler tracks each clip, and only the frames it is sure of are kept.

The labeler (the teacher by default, or any tracker `eval` accepts) runs its own tracking loop from the clip's
first box. A frame keeps its box when both hold:

- the labeler's score on it is at least `min_score`;
- forward-backward consistency: every `fb_window` frames the labeler is re-initialised on the forward box and
  tracks back to the previous checkpoint; the frame's backward box must overlap its forward box by
  `min_fb_iou`, and so must the backward box at the checkpoint itself. The second condition rejects a whole
  window in which the forward track jumped to a distractor (the backward track then follows the distractor
  and parts from the forward boxes before the jump).

Other frames are marked absent (not visible), so training pairs never use them. Labels are cached under
`<cache>/labels/<labeler key>/<clip>-<clip hash>/` (`EDGETRACK_CACHE`, default `~/.cache/edgetrack`), keyed by
the labeler's identity (content hashes of its files) with these settings and by the clip's content hash:
they are never reused for another labeler, other settings or an edited clip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from edgetrack.artifacts import atomic_folder, sha256_json
from edgetrack.config.base import FrozenConfig
from edgetrack.data.datasets.annotations import read_boxes
from edgetrack.data.sequence import Sequence, read_rgb
from edgetrack.data.unlabeled import Clip, read_clips
from edgetrack.errors import DataError

ProgressFn = Callable[[str], None]
LABELS_VERSION = 1


class LabelConfig(FrozenConfig):
    """Which of the labeler's frames become training labels (min_fb_iou 0: no backward check)."""

    min_score: float = Field(0.3, ge=0)
    min_fb_iou: float = Field(0.5, ge=0, le=1)
    fb_window: int = Field(10, gt=0)


#: the model's whole own trajectory, every frame kept (calibration: the crops the deployed tracker will see)
TRAJECTORY = LabelConfig(min_score=0.0, min_fb_iou=0.0)


@dataclass(frozen=True)
class Labeler:
    """A tracker that labels clips: `identity` names what decides its boxes; `open` makes one."""

    name: str
    identity: dict[str, Any]
    open: Callable[[], Any]


@dataclass(frozen=True)
class ClipLabels:
    """A clip's labels: boxes (N, 4), kept frames, the labeler's scores and forward-backward IoUs."""

    boxes: np.ndarray
    kept: np.ndarray
    scores: np.ndarray
    fb_iou: np.ndarray


def labeler_for_spec(spec: str, device: str = "cpu") -> Labeler:
    """A labeler from anything `eval` accepts: model/export/build folder, preset, `opencv:NAME[=FILES]`."""
    from edgetrack.eval.identity import tracker_identity
    from edgetrack.eval.run import load_tracker

    return Labeler(spec, tracker_identity(spec, device), lambda: load_tracker(spec, device))


def labeler_for_model(name: str, model: Any, weights_sha: str, device: str = "cpu") -> Labeler:
    """A labeler from a model already in memory (the teacher of `compress`), keyed by its weights' hash."""
    from edgetrack.runtime.online_tracker import tracker_for_model

    identity = {"kind": "model", "family": model.cfg.family, "weights": weights_sha, "device": device}
    return Labeler(name, identity, lambda: tracker_for_model(model, device))


def label_clip(tracker: Any, clip: Clip, cfg: LabelConfig) -> ClipLabels:
    """Track the clip forward, check it backward window by window, keep the frames that pass both tests."""
    forward, scores = _track(tracker, clip, range(len(clip.frames)), clip.init_box)
    if cfg.min_fb_iou > 0:
        fb = _fb_consistency(tracker, clip, forward, cfg.fb_window)
        kept = (scores >= cfg.min_score) & (fb >= cfg.min_fb_iou)
    else:  # no backward check asked for: not run, and recorded as NaN
        fb = np.full(len(forward), np.nan)
        kept = scores >= cfg.min_score
    kept[0] = True  # the user's own box
    return ClipLabels(forward, kept, scores, fb)


def _track(tracker: Any, clip: Clip, order: range, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes and scores along `order` (first index: the init frame, score 1)."""
    frames = list(order)
    boxes, scores = np.zeros((len(frames), 4)), np.ones(len(frames))
    tracker.initialize(read_rgb(clip.frames[frames[0]]), box)
    boxes[0] = box
    for k, index in enumerate(frames[1:], 1):
        result = tracker.track(read_rgb(clip.frames[index]))
        boxes[k], scores[k] = result.box, result.score
    return boxes, scores


def _fb_consistency(tracker: Any, clip: Clip, forward: np.ndarray, window: int) -> np.ndarray:
    """Per frame: min(IoU of its backward and forward box, IoU at its window's start); frame 0 gets 1."""
    from edgetrack.eval.metrics import iou_xywh

    n = len(forward)
    fb = np.ones(n)
    starts = list(range(0, n - 1, window))
    for lo in starts:
        hi = min(lo + window, n - 1)
        back, _ = _track(tracker, clip, range(hi, lo - 1, -1), forward[hi])
        back = back[::-1]  # frames lo..hi
        ious = iou_xywh(back, forward[lo:hi + 1])
        ious[-1] = 1.0  # the backward start is the forward box itself
        fb[lo + 1:hi + 1] = np.minimum(ious[1:], ious[0])
    return fb


def cache_root() -> Path:
    """Where labels are cached: $EDGETRACK_CACHE, else ~/.cache/edgetrack."""
    return Path(os.environ.get("EDGETRACK_CACHE") or Path.home() / ".cache" / "edgetrack").expanduser()


def labeler_key(labeler: Labeler, cfg: LabelConfig) -> str:
    """The cache key of a labeler with these settings: labels of another key are never read."""
    return sha256_json({"labeler": labeler.identity, "settings": cfg.to_dict(), "version": LABELS_VERSION})


def labeled_clips(root: str | Path, labeler: Labeler, cfg: LabelConfig | None = None,
                  cache: Path | None = None, progress: ProgressFn | None = None) -> list[tuple[Clip, Path]]:
    """Every clip under `root` with the folder of its labels (labelled now unless cached)."""
    cfg = cfg or LabelConfig()
    key = labeler_key(labeler, cfg)
    base = (cache or cache_root()) / "labels" / key[:16]
    tracker = None
    found = []
    try:
        for clip in read_clips(root):
            folder = base / f"{clip.name}-{clip.content_hash()[:16]}"
            if not (folder / "labels.json").is_file():
                if progress:
                    progress(f"labelling {clip.name} ({len(clip.frames)} frames) with {labeler.name}")
                tracker = tracker or labeler.open()
                write_labels(folder, label_clip(tracker, clip, cfg), {"labeler": labeler.identity, "key": key,
                                                                      "clip": clip.name, "settings": cfg.to_dict()})
            found.append((clip, folder))
    finally:
        if tracker is not None:
            tracker.close()
    return found


def write_labels(folder: Path, labels: ClipLabels, meta: dict[str, Any]) -> None:
    """groundtruth.txt (NaN for frames not kept), confidence.txt (score, fb IoU, kept) and labels.json."""
    with atomic_folder(folder, kind="labels") as tmp:
        rows = [",".join(f"{v:.2f}" for v in box) if keep else "nan,nan,nan,nan"
                for box, keep in zip(labels.boxes, labels.kept, strict=True)]
        (tmp / "groundtruth.txt").write_text("\n".join(rows) + "\n")
        conf = [f"{s:.4f},{f:.4f},{int(k)}" for s, f, k in zip(labels.scores, labels.fb_iou, labels.kept, strict=True)]
        (tmp / "confidence.txt").write_text("score,fb_iou,kept\n" + "\n".join(conf) + "\n")
        summary = {"frames": len(labels.kept), "kept": int(labels.kept.sum())}
        (tmp / "labels.json").write_text(json.dumps({**meta, **summary}, indent=2) + "\n")


def read_labels(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) and the kept mask of a labels folder."""
    boxes = read_boxes(folder / "groundtruth.txt")
    return boxes, np.all(np.isfinite(boxes), axis=1)


def pseudo_labeled(root: str | Path, labeler: Labeler, cfg: LabelConfig | None = None, cache: Path | None = None,
                   progress: ProgressFn | None = None) -> tuple[list[Sequence], str]:
    """The clips under `root` as training sequences on the labeler's kept boxes (the rest not visible), and
    a key of these labels (labeler, settings, every clip's content)."""
    sequences, folders = [], []
    for clip, folder in labeled_clips(root, labeler, cfg, cache, progress):
        folders.append(folder.parent.name + "/" + folder.name)
        boxes, kept = read_labels(folder)
        if len(boxes) != len(clip.frames):
            raise DataError(f"cached labels {folder} do not match clip {clip.name}; delete that folder")
        sequences.append(Sequence(clip.name, list(clip.frames), boxes, visible=kept, dataset="unlabeled"))
    return sequences, sha256_json(folders)


def export_labels(root: str | Path, labeler: Labeler, out: str | Path, cfg: LabelConfig | None = None,
                  progress: ProgressFn | None = None) -> list[dict[str, Any]]:
    """Write the clips' labels as a sequence folder `OUT/NAME/{img, groundtruth.txt, confidence.txt}` (img
    links to the clip's frames), which `eval --benchmark folder --data-root OUT` reads; one summary per clip.

    A folder under OUT that is not a labels folder written here (no labels.json) is refused, never replaced.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; name a folder for the labelled clips")
    summaries = []
    for clip, folder in labeled_clips(root, labeler, cfg, progress=progress):
        target = out / clip.name
        with atomic_folder(target, kind="labels") as tmp:
            for name in ("groundtruth.txt", "confidence.txt", "labels.json"):
                (tmp / name).write_bytes((folder / name).read_bytes())
            (tmp / "img").symlink_to(clip.frames[0].parent.resolve(), target_is_directory=True)
        summaries.append(_summary(clip.name, folder))
    return summaries


def _summary(name: str, folder: Path) -> dict[str, Any]:
    rows = np.loadtxt(folder / "confidence.txt", delimiter=",", skiprows=1, ndmin=2)
    return {"clip": name, "frames": len(rows), "kept": int(rows[:, 2].sum()), "mean_score": float(rows[1:, 0].mean()),
            "mean_fb_iou": float(np.nanmean(rows[1:, 1])) if np.isfinite(rows[1:, 1]).any() else float("nan")}
