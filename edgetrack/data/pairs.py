"""Training pairs as OSTrack trains: template and search crops from one sequence, jitter, augmentation, labels.

Each sample is generated from its index alone (a numpy Generator seeded with (seed, index)), so a pair
dataset gives the same data in any worker, on any rank and after any resume.
"""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC

import numpy as np
import torch
from pydantic import Field
from torch.utils.data import Dataset

from edgetrack.config.base import FrozenConfig
from edgetrack.data.crops import crop_and_resize, crop_geometry, normalize
from edgetrack.data.labels import center_heatmap
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError
from edgetrack.runtime.spec import ProcessingSpec


class PairConfig(FrozenConfig):
    """Sampling and augmentation settings; defaults are OSTrack's."""

    max_gap: int = Field(200, gt=0)
    search_scale_jitter: float = Field(0.25, ge=0)
    search_center_jitter: float = Field(3.0, ge=0)
    template_scale_jitter: float = Field(0.0, ge=0)
    template_center_jitter: float = Field(0.0, ge=0)
    grayscale_p: float = Field(0.05, ge=0, le=1)
    flip_p: float = Field(0.5, ge=0, le=1)
    brightness_jitter: float = Field(0.2, ge=0, lt=1)
    max_tries: int = Field(20, gt=0)


def jitter_box(box: np.ndarray, rng: np.random.Generator, scale: float, center: float) -> np.ndarray:
    """OSTrack's jitter: size *= exp(N(0,1) * scale); centre += sqrt(w'h') * center * (U(0,1) - 0.5)."""
    size = box[2:] * np.exp(rng.standard_normal(2) * scale)
    offset = np.sqrt(size.prod()) * center * (rng.random(2) - 0.5)
    c = box[:2] + 0.5 * box[2:] + offset
    return np.concatenate([c - 0.5 * size, size])


def visible_frames(seq: Sequence) -> np.ndarray:
    vis = np.asarray(seq.visible, dtype=bool)[: len(seq)]
    ok = vis & np.all(np.isfinite(seq.boxes[: len(vis)]), axis=1)
    return np.flatnonzero(ok & (seq.boxes[: len(vis), 2] > 0) & (seq.boxes[: len(vis), 3] > 0))


def sample_frames(seq: Sequence, rng: np.random.Generator, max_gap: int) -> tuple[int, int] | None:
    """A visible template frame and a visible later search frame at most `max_gap` frames after it."""
    ids = visible_frames(seq)
    if len(ids) == 0:
        return None
    if len(ids) == 1:
        return int(ids[0]), int(ids[0])
    t = int(rng.choice(ids[:-1]))
    later = ids[(ids > t) & (ids <= t + max_gap)]
    return (t, int(rng.choice(later))) if len(later) else (t, t)


class PairDataset(Dataset):
    """Template/search pairs from several sources, mixed by weight (OSTrack: 1:1:1:1)."""

    def __init__(self, sources: SequenceABC[SequenceABC[Sequence]], spec: ProcessingSpec, cfg: PairConfig | None = None,
                 weights: SequenceABC[float] | None = None, seed: int = 0, length: int = 60_000) -> None:
        if not sources or any(len(s) == 0 for s in sources):
            raise DataError("training pairs need at least one non-empty dataset")
        w = np.asarray(weights if weights is not None else [1.0] * len(sources), dtype=np.float64)
        if len(w) != len(sources) or (w < 0).any() or w.sum() <= 0:
            raise DataError(f"dataset weights {list(w)} do not fit {len(sources)} datasets")
        self.sources, self.spec, self.cfg = sources, spec, cfg or PairConfig()
        self.weights, self.seed, self.length = w / w.sum(), seed, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, int(index)])
        for _ in range(self.cfg.max_tries):
            sample = self._try(rng)
            if sample is not None:
                return sample
        raise DataError(f"no valid training pair after {self.cfg.max_tries} tries (sample {index}); "
                        "check that the datasets have visible targets")

    def _try(self, rng: np.random.Generator) -> dict[str, torch.Tensor] | None:
        source = self.sources[int(rng.choice(len(self.sources), p=self.weights))]
        seq = source[int(rng.integers(len(source)))]
        frames = sample_frames(seq, rng, self.cfg.max_gap)
        if frames is None:
            return None
        c, s = self.cfg, self.spec
        t_box = jitter_box(seq.boxes[frames[0]], rng, c.template_scale_jitter, c.template_center_jitter)
        s_box = jitter_box(seq.boxes[frames[1]], rng, c.search_scale_jitter, c.search_center_jitter)
        template, _ = self._crop(seq, frames[0], t_box, s.template_factor, s.template_size)
        search, gt = self._crop(seq, frames[1], s_box, s.search_factor, s.search_size)
        cx, cy = gt[0] + gt[2] / 2, gt[1] + gt[3] / 2
        if not (0 <= cx <= 1 and 0 <= cy <= 1) or gt[2] <= 0 or gt[3] <= 0:
            return None  # the target left the jittered search crop
        template, search, gt = self._augment(rng, template, search, gt)
        return {"template": self._normalise(template), "search": self._normalise(search),
                "search_box": torch.from_numpy(gt.astype(np.float32)),
                "heatmap": torch.from_numpy(center_heatmap(gt, s.feat_size))[None]}

    def _crop(self, seq: Sequence, frame: int, box: np.ndarray, factor: float,
              size: int) -> tuple[np.ndarray, np.ndarray]:
        """Crop around `box`; return the crop and the frame's GT box normalised to the crop."""
        if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
            box = seq.boxes[frame]
        crop = crop_geometry(box, factor, size)
        image = crop_and_resize(seq.frame(frame), crop)
        gt = seq.boxes[frame]
        # relative to the crop centre, the exact inverse of the runtime's map-back (OSTrack's inference step 4)
        rf = crop.resize_factor
        cx = size / 2 + (gt[0] + gt[2] / 2 - crop.cx) * rf
        cy = size / 2 + (gt[1] + gt[3] / 2 - crop.cy) * rf
        w, h = gt[2] * rf, gt[3] * rf
        norm = np.array([cx - w / 2, cy - h / 2, w, h]) / size
        return image, norm

    def _augment(self, rng: np.random.Generator, template: np.ndarray, search: np.ndarray,
                 gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c = self.cfg
        if rng.random() < c.grayscale_p:  # joint: both crops
            template, search = _gray(template), _gray(search)
        if rng.random() < c.flip_p:  # joint horizontal flip
            template, search = template[:, ::-1], search[:, ::-1]
            gt = np.array([1.0 - gt[0] - gt[2], gt[1], gt[2], gt[3]])
        lo, hi = max(0.0, 1 - c.brightness_jitter), 1 + c.brightness_jitter
        template = np.clip(template * rng.uniform(lo, hi), 0, 255)
        search = np.clip(search * rng.uniform(lo, hi), 0, 255)
        return template, search, gt

    def _normalise(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(normalize(image, self.spec.mean, self.spec.std))


def _gray(image: np.ndarray) -> np.ndarray:
    g = image @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(g[..., None], 3, axis=2)
