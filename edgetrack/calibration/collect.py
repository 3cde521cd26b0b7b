"""Collect calibration samples with the tracker's own preprocessing along ground-truth trajectories."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from collections.abc import Sequence as SequenceABC

import numpy as np

from edgetrack.calibration.store import CalibrationSet
from edgetrack.data.crops import preprocess
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError
from edgetrack.runtime.spec import ProcessingSpec

#: benchmark splits never used for calibration (they would leak into the reported accuracy)
EVALUATION_SPLITS = {("synthetic", "synthetic-test"), ("lasot", "test"), ("lasot_ext", "test"), ("got10k", "val"),
                     ("got10k", "test"), ("trackingnet", "test"), ("tnl2k", "test"), ("uav123", "test"),
                     ("otb100", "test")}
MIN_SAMPLES = 128


def check_split(dataset: str, split: str | None) -> None:
    if (dataset, split or "test") in EVALUATION_SPLITS and not (dataset == "synthetic" and split != "synthetic-test"):
        raise DataError(f"'{dataset}:{split or 'test'}' is an evaluation split; calibrating on it would leak into "
                        "the reported scores. Use a training split (e.g. synthetic:synthetic-train, got10k:train)")


def _tracking_jitter(box: np.ndarray, rng: np.random.Generator, centre_jitter: float = 0.1,
                     scale_jitter: float = 0.05) -> np.ndarray:
    """The previous box as a tracker would report it: small centre and scale errors."""
    size = box[2:] * np.exp(rng.normal(0, scale_jitter, 2))
    centre = box[:2] + box[2:] / 2 + rng.normal(0, centre_jitter, 2) * np.sqrt(box[2] * box[3])
    return np.r_[centre - size / 2, size]


def collect(sequences: SequenceABC[Sequence], spec: ProcessingSpec, samples: int, seed: int = 0,
            progress: Callable[[int], None] | None = None, centre_jitter: float = 0.1,
            scale_jitter: float = 0.05, online_template: bool = False) -> CalibrationSet:
    """`samples` (template, search) pairs: template at the first visible frame, search around the jittered
    previous box of a later frame, both cropped exactly as the runtime crops them.

    With `online_template` (MixFormerV2) each sample also holds an `online_template`: a template crop around the
    jittered box of a visible frame between the two, as the online tracker installs a confident frame's crop.
    """
    if samples < MIN_SAMPLES:
        warnings.warn(f"{samples} calibration samples is few; INT8 ranges are more reliable with >= {MIN_SAMPLES}",
                      stacklevel=2)
    rng = np.random.default_rng(seed)
    s = spec
    templates, searches, onlines = [], [], []
    usable = [seq for seq in sequences if np.count_nonzero(seq.visible[: len(seq)]) >= 2]
    if not usable:
        raise DataError("no sequence with at least two visible frames to calibrate on")
    while len(searches) < samples:
        seq = usable[int(rng.integers(len(usable)))]
        vis = np.flatnonzero(seq.visible[: len(seq)])
        t0, i = int(vis[0]), int(rng.choice(vis[1:]))
        prev = seq.boxes[i - 1] if seq.visible[i - 1] else seq.boxes[i]
        z, _ = preprocess(seq.frame(t0), seq.boxes[t0], s.template_factor, s.template_size, s.mean, s.std)
        box = _tracking_jitter(prev, rng, centre_jitter, scale_jitter)
        x, _ = preprocess(seq.frame(i), box, s.search_factor, s.search_size, s.mean, s.std)
        templates.append(z[0])
        searches.append(x[0])
        if online_template:
            k = int(rng.choice(vis[vis <= i]))
            o, _ = preprocess(seq.frame(k), _tracking_jitter(seq.boxes[k], rng, centre_jitter, scale_jitter),
                              s.template_factor, s.template_size, s.mean, s.std)
            onlines.append(o[0])
        if progress:
            progress(1)
    arrays = {"template": np.stack(templates), "search": np.stack(searches)}
    if online_template:
        arrays["online_template"] = np.stack(onlines)
    return CalibrationSet(arrays)
