"""One-pass evaluation (OPE) metrics: IoU, centre error, success / precision curves, GOT-10k AO and SR.

Boxes are (N, 4) arrays of x, y, w, h in pixels, with the pixel-inclusive convention of the reference toolkits
(a box covers columns x .. x + w - 1). A frame where a box is not finite or has a non-positive width or height
counts as a failure for every metric.

Protocols (every result dict names the one it used):

- ``"lasot"`` (OSTrack / CompressTracker reports): the first prediction is replaced by the ground truth and
  counted; frames with the target absent count as failures, and every frame is in the denominator.
  Success is IoU > t (strict) over 21 thresholds 0, 0.05, ..., 1.0 and AUC is the mean of those 21 rates;
  precision is centre error <= t px for t = 0..50 (reported at 20 px); normalised precision divides both
  centres by the ground-truth w, h, t = 0..0.5 step 0.01 (reported at 0.20).
- ``"got10k"``: all of the above, plus AO (mean IoU) and SR0.5 / SR0.75 (fraction with IoU > 0.5 / 0.75)
  over the frames with the target present, leaving out the first frame.

Other toolkits summarise differently (got10k reports normalised precision as an area, TrackingNet uses
trapezoid areas); those variants are not computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from edgetrack.errors import ConfigError, DataError

PROTOCOLS = ("lasot", "got10k")
# Integer numerators keep 0.5, 0.75 and 0.2 exact, so a strict comparison at those thresholds is well defined.
SUCCESS_THRESHOLDS = np.arange(21) / 20.0
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.arange(51) / 100.0
_OP50, _OP75 = 10, 15  # indices of 0.5 and 0.75 in SUCCESS_THRESHOLDS
_PRECISION_AT = 20  # 20 px in PRECISION_THRESHOLDS, 0.20 in NORM_PRECISION_THRESHOLDS
_CURVES = ("success_curve", "precision_curve", "norm_precision_curve")
_RATES = ("auc", "op50", "op75", "precision", "norm_precision")


def _as_boxes(boxes: ArrayLike, what: str) -> np.ndarray:
    """`boxes` as a float (N, 4) array; a single box (4,) becomes (1, 4)."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise DataError(f"{what} must be an (N, 4) array of x, y, w, h boxes, got shape {arr.shape}")
    return arr


def _valid(boxes: np.ndarray) -> np.ndarray:
    """Rows that are finite with positive width and height."""
    return np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)


def _same_length(a: np.ndarray, b: np.ndarray, a_name: str = "pred", b_name: str = "gt") -> None:
    if len(a) != len(b):
        raise DataError(f"{a_name} has {len(a)} boxes but {b_name} has {len(b)}; they must cover the same frames")


def iou_xywh(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Row-wise pixel-inclusive IoU of two (N, 4) x, y, w, h arrays; invalid boxes give 0."""
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    _same_length(a, b, "a", "b")
    ok = _valid(a) & _valid(b)
    iou = np.zeros(len(a))
    a, b = a[ok], b[ok]
    # last covered pixel is x + w - 1, so the overlap width is (min last - max first + 1)
    left = np.maximum(a[:, :2], b[:, :2])
    last = np.minimum(a[:, :2] + a[:, 2:] - 1.0, b[:, :2] + b[:, 2:] - 1.0)
    overlap = np.clip(last - left + 1.0, 0.0, None)
    inter = overlap[:, 0] * overlap[:, 1]
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    iou[ok] = inter / union
    return iou


def _centres(boxes: np.ndarray) -> np.ndarray:
    """Centres of pixel-inclusive boxes: x + (w - 1) / 2, y + (h - 1) / 2."""
    return boxes[:, :2] + (boxes[:, 2:] - 1.0) / 2.0


def center_error(a: ArrayLike, b: ArrayLike, normalized: bool = False) -> np.ndarray:
    """Row-wise centre distance of `a` to ground truth `b`; with `normalized`, centres are divided by b's w, h.

    Rows where either box is invalid get +inf, so they fail every precision threshold.
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    _same_length(a, b, "a", "b")
    ok = _valid(a) & _valid(b)
    err = np.full(len(a), np.inf)
    ca, cb = _centres(a[ok]), _centres(b[ok])
    if normalized:
        scale = b[ok, 2:]
        ca, cb = ca / scale, cb / scale
    err[ok] = np.sqrt(np.sum((ca - cb) ** 2, axis=1))
    return err


def _rates(values: np.ndarray, thresholds: np.ndarray, above: bool) -> np.ndarray:
    """Percentage of frames with value > t (`above`) or value <= t, for each threshold t."""
    hit = values[:, None] > thresholds[None, :] if above else values[:, None] <= thresholds[None, :]
    return 100.0 * hit.mean(axis=0)


def _visibility(visible: ArrayLike | None, n: int) -> np.ndarray:
    if visible is None:
        return np.ones(n, dtype=bool)
    vis = np.asarray(visible).reshape(-1)
    if len(vis) != n:
        raise DataError(f"visible has {len(vis)} flags but gt has {n} boxes; give one flag per frame")
    return vis.astype(bool)


def _got10k_scores(iou: np.ndarray, present: np.ndarray) -> dict[str, Any]:
    """AO, SR0.5, SR0.75 (percent) over present frames after the first; NaN when no such frame exists."""
    kept = iou[1:][present[1:]]
    if len(kept) == 0:
        return {"ao": float("nan"), "sr50": float("nan"), "sr75": float("nan"), "ao_frames": 0}
    return {
        "ao": 100.0 * float(kept.mean()),
        "sr50": 100.0 * float(np.mean(kept > 0.5)),
        "sr75": 100.0 * float(np.mean(kept > 0.75)),
        "ao_frames": int(len(kept)),
    }


def ope_metrics(pred: ArrayLike, gt: ArrayLike, visible: ArrayLike | None = None,
                protocol: str = "lasot") -> dict[str, Any]:
    """One sequence's OPE metrics in percent (see the module docstring for what each protocol does).

    Returns ``auc``, ``op50``, ``op75``, ``precision`` (20 px), ``norm_precision`` (0.20), the three curves
    as lists (``success_curve``, ``precision_curve``, ``norm_precision_curve``), ``num_frames`` and
    ``protocol``; with ``protocol="got10k"`` also ``ao``, ``sr50``, ``sr75`` and ``ao_frames`` (the number
    of frames AO averages over, used by `aggregate` to pool frames as the GOT-10k toolkit does).
    """
    if protocol not in PROTOCOLS:
        raise ConfigError(f"unknown evaluation protocol '{protocol}'; choose one of {', '.join(PROTOCOLS)}")
    pred, gt = _as_boxes(pred, "pred").copy(), _as_boxes(gt, "gt")
    _same_length(pred, gt)
    if len(gt) == 0:
        raise DataError("cannot evaluate an empty sequence: gt has 0 boxes")
    present = _visibility(visible, len(gt))
    pred[0] = gt[0]  # the tracker is given the first box, and that frame still counts
    iou = iou_xywh(pred, gt)
    err = center_error(pred, gt)
    norm_err = center_error(pred, gt, normalized=True)
    # absent frames are failures whatever the tracker output, with every frame kept in the denominator
    iou[~present], err[~present], norm_err[~present] = -1.0, np.inf, np.inf
    success = _rates(iou, SUCCESS_THRESHOLDS, above=True)
    precision = _rates(err, PRECISION_THRESHOLDS, above=False)
    norm_precision = _rates(norm_err, NORM_PRECISION_THRESHOLDS, above=False)
    out: dict[str, Any] = {
        "auc": float(success.mean()),
        "op50": float(success[_OP50]),
        "op75": float(success[_OP75]),
        "precision": float(precision[_PRECISION_AT]),
        "norm_precision": float(norm_precision[_PRECISION_AT]),
        "success_curve": success.tolist(),
        "precision_curve": precision.tolist(),
        "norm_precision_curve": norm_precision.tolist(),
        "num_frames": int(len(gt)),
        "protocol": protocol,
    }
    if protocol == "got10k":
        out.update(_got10k_scores(np.clip(iou, 0.0, None), present))
    return out


def _pooled_got10k(per_sequence: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """AO / SR pooled over all evaluated frames of all sequences, as the GOT-10k toolkit reports them."""
    weights = np.array([s["ao_frames"] for s in per_sequence], dtype=np.float64)
    if weights.sum() == 0:
        return {"ao": float("nan"), "sr50": float("nan"), "sr75": float("nan"), "ao_frames": 0}
    out: dict[str, Any] = {"ao_frames": int(weights.sum())}
    for key in ("ao", "sr50", "sr75"):
        # a sequence with no evaluated frame has NaN scores and zero weight
        values = np.nan_to_num(np.array([s[key] for s in per_sequence], dtype=np.float64))
        out[key] = float(np.sum(values * weights) / weights.sum())
    return out


def aggregate(per_sequence: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Dataset-level metrics: each rate and curve averaged over sequences (not frames), plus `num_sequences`.

    GOT-10k AO / SR are the exception: they are pooled over frames (each sequence weighted by ``ao_frames``),
    because that is how the GOT-10k toolkit and server compute their overall scores.
    """
    if not per_sequence:
        raise DataError("cannot aggregate metrics over 0 sequences")
    protocols = {s.get("protocol") for s in per_sequence}
    if len(protocols) != 1:
        raise DataError(f"per-sequence metrics mix protocols {sorted(map(str, protocols))}; evaluate with one")
    out: dict[str, Any] = {key: float(np.mean([s[key] for s in per_sequence])) for key in _RATES}
    for key in _CURVES:
        out[key] = np.mean(np.array([s[key] for s in per_sequence], dtype=np.float64), axis=0).tolist()
    out["protocol"] = protocols.pop()
    out["num_sequences"] = len(per_sequence)
    out["num_frames"] = int(sum(s.get("num_frames", 0) for s in per_sequence))
    if out["protocol"] == "got10k":
        out.update(_pooled_got10k(per_sequence))
    return out
