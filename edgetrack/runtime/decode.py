"""Numpy reference decode of the head's maps (OSTrack's head decode, inference step 3).

The runtime decodes here and only here; `edgetrack.runtime.decode_torch` is the batched torch twin used by
training losses and the in-graph export, with the same arithmetic.

Score convention: the reported score is the raw score-map value at the peak of the windowed response, not
the windowed value (the window is a positional prior, so its product is no confidence).
"""

from __future__ import annotations

import numpy as np

from edgetrack.errors import TrackingError


def hann2d(n: int) -> np.ndarray:
    """(n, n) float32 window: outer product of `0.5 * (1 - cos(2*pi*k / (n + 1)))` for k = 1..n."""
    if n < 1:
        raise TrackingError(f"a Hann window needs n >= 1; got {n}")
    k = np.arange(1, n + 1, dtype=np.float64)
    h = 0.5 * (1.0 - np.cos(2.0 * np.pi * k / (n + 1)))
    return np.outer(h, h).astype(np.float32)


def _squeeze(name: str, array: np.ndarray, channels: int) -> np.ndarray:
    """(1, C, H, W) or (C, H, W) (or (H, W) for one channel) -> (C, H, W)."""
    a = np.asarray(array)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    elif a.ndim == 2 and channels == 1:
        a = a[None]
    if a.ndim != 3 or a.shape[0] != channels:
        raise TrackingError(f"{name} must be (1, {channels}, H, W) for one frame; got shape {np.shape(array)}")
    return a


def decode(score_map: np.ndarray, size_map: np.ndarray, offset_map: np.ndarray,
           window: np.ndarray | None = None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Box at the peak of score_map * window -> (normalised (cx, cy, w, h), raw score there, (iy, ix))."""
    score = _squeeze("score_map", score_map, 1)[0]
    size = _squeeze("size_map", size_map, 2)
    offset = _squeeze("offset_map", offset_map, 2)
    height, width = score.shape
    if size.shape[1:] != score.shape or offset.shape[1:] != score.shape:
        raise TrackingError(f"map sizes differ: score {score.shape}, size {size.shape[1:]}, "
                            f"offset {offset.shape[1:]}")
    response = score
    if window is not None:
        if np.shape(window) != score.shape:
            raise TrackingError(f"window {np.shape(window)} does not match the score map {score.shape}")
        response = score * window
    if not np.all(np.isfinite(response)):
        raise TrackingError("the score map has NaN or infinite values; the model or backend output is broken")
    iy, ix = np.unravel_index(int(np.argmax(response)), score.shape)  # first maximum, as torch.argmax
    box = np.array([(ix + float(offset[0, iy, ix])) / width, (iy + float(offset[1, iy, ix])) / height,
                    float(size[0, iy, ix]), float(size[1, iy, ix])])
    if not np.all(np.isfinite(box)):
        raise TrackingError(f"size/offset maps are not finite at the peak (cell {iy}, {ix}); model output is broken")
    return box, float(score[iy, ix]), (int(iy), int(ix))


def decode_outputs(out: dict[str, np.ndarray], window: np.ndarray | None, source: str = "backend"
                   ) -> tuple[np.ndarray, float]:
    """A backend's outputs -> (normalised (cx, cy, w, h), raw score): decode raw maps, or take the box and score
    of a model exported with the post-process in the graph."""
    if "box" in out and "score" in out:
        return np.asarray(out["box"], dtype=np.float64).reshape(4), float(np.asarray(out["score"]).reshape(-1)[0])
    missing = [k for k in ("score_map", "size_map", "offset_map") if k not in out]
    if missing:
        raise TrackingError(f"{source} returned no {missing}; got {sorted(out)}")
    box, score, _ = decode(out["score_map"], out["size_map"], out["offset_map"], window)
    return box, score


def windowed_peak(score: float, window: np.ndarray | None, cell: tuple[int, int]) -> float:
    """The peak of score_map * window, from the raw score at the decoded `cell`: what `min_score` is compared with."""
    return float(score) if window is None else float(score) * float(window[cell])


def decode_frame(out: dict[str, np.ndarray], window: np.ndarray | None, source: str = "backend"
                 ) -> tuple[np.ndarray, float, float]:
    """(normalised box, raw score, windowed peak) of one frame's outputs: the one decode and `min_score` rule.

    A frame whose windowed peak falls below `min_score` keeps the previous box (cv2.TrackerVit compares the
    Hann-windowed peak). A graph with the post-process fused in outputs no maps: its raw score stands in.
    """
    if "score_map" not in out:
        box, score = decode_outputs(out, window, source)
        return box, score, score
    box, score, cell = decode(out["score_map"], out["size_map"], out["offset_map"], window)
    return box, score, windowed_peak(score, window, cell)

