"""The loss terms against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from edgetrack.compress.losses import box_losses, feature_mimic, focal_loss, giou
from edgetrack.compress.task import LossWeights, prediction_guidance, track_losses
from edgetrack.models.head import HeadOutput


def _head(offset_x: float = 0.0, score_peak: float = 0.9) -> HeadOutput:
    """4x4 maps with the peak at cell (2, 2), box size 0.2 x 0.2: decodes to cx = (2 + offset_x) / 4, cy = 0.5."""
    score = torch.full((1, 1, 4, 4), 0.2)
    score[0, 0, 2, 2] = score_peak
    size = torch.full((1, 2, 4, 4), 0.2)
    offset = torch.zeros(1, 2, 4, 4)
    offset[0, 0, 2, 2] = offset_x
    return HeadOutput(score, size, offset)


def test_focal_loss_hand_computed() -> None:
    pred = torch.tensor([[[[0.9, 0.2], [0.2, 0.2]]]])
    target = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    expected = -(math.log(0.9) * 0.1**2 + 3 * math.log(0.8) * 0.2**2)
    assert float(focal_loss(pred, target)) == pytest.approx(expected, rel=1e-5)


def test_focal_loss_with_soft_targets_and_two_peaks_hand_computed() -> None:
    """Negatives near a peak (target 0.5) are down-weighted by (1 - target)^4; the sum is divided by 2 peaks."""
    pred = torch.tensor([[[[0.9, 0.3], [0.2, 0.8]]]])
    target = torch.tensor([[[[1.0, 0.5], [0.0, 1.0]]]])
    positives = math.log(0.9) * 0.1**2 + math.log(0.8) * 0.2**2
    negatives = math.log(0.7) * 0.3**2 * 0.5**4 + math.log(0.8) * 0.2**2
    assert float(focal_loss(pred, target)) == pytest.approx(-(positives + negatives) / 2, rel=1e-5)


def test_giou_of_boxes_whose_hull_exceeds_their_union_hand_computed() -> None:
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    target = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0]])
    g, iou = giou(pred, target)
    # overlapping: intersection 1, union 7, hull 9; apart: intersection 0, union 2, hull 3
    torch.testing.assert_close(iou, torch.tensor([1 / 7, 0.0]))
    torch.testing.assert_close(g, torch.tensor([1 / 7 - 2 / 9, -1 / 3]))
    losses = box_losses(pred, target)
    assert float(losses["giou"]) == pytest.approx(1 - (1 / 7 - 2 / 9 - 1 / 3) / 2, rel=1e-5)
    assert float(losses["l1"]) == pytest.approx((4 * 1.0 + 2.0 + 0 + 2.0 + 0) / 8, rel=1e-5)


def test_prediction_guidance_hand_computed() -> None:
    same = prediction_guidance(_head(), _head(), LossWeights())
    assert float(same["pred"]) == pytest.approx(0.0, abs=1e-6)
    # student box [0.5, 0.4, 0.7, 0.6] vs teacher [0.4, 0.4, 0.6, 0.6]: IoU 1/3, hull = union, L1 0.05
    moved = prediction_guidance(_head(offset_x=0.4), _head(), LossWeights())
    assert float(moved["pred_giou"]) == pytest.approx(2 / 3, rel=1e-5)
    assert float(moved["pred_l1"]) == pytest.approx(0.05, rel=1e-5)
    assert float(moved["pred"]) == pytest.approx(2 * 2 / 3 + 5 * 0.05, rel=1e-5)


def test_track_losses_apply_their_weights() -> None:
    heat = torch.zeros(1, 1, 4, 4)
    heat[0, 0, 2, 2] = 1.0
    gt = torch.tensor([[0.4, 0.4, 0.2, 0.2]])  # xywh: exactly the decoded box of _head()
    exact = track_losses(_head(), heat, gt, LossWeights())
    assert float(exact["giou"]) == pytest.approx(0.0, abs=1e-6) and float(exact["l1"]) == pytest.approx(0.0, abs=1e-6)
    moved = track_losses(_head(offset_x=0.4), heat, gt, LossWeights(focal=2.0, giou=3.0, l1=7.0))
    assert float(moved["giou"]) == pytest.approx(2 / 3, rel=1e-5)
    assert float(moved["l1"]) == pytest.approx(0.05, rel=1e-5)
    expected = 2.0 * float(moved["focal"]) + 3.0 * 2 / 3 + 7.0 * 0.05
    assert float(moved["track"]) == pytest.approx(expected, rel=1e-5)


def test_feature_mimic_hand_computed() -> None:
    teacher = [torch.zeros(1, 3, 2), torch.zeros(1, 3, 2)]
    student = [torch.ones(1, 3, 2), torch.full((1, 3, 2), 2.0)]
    # stage 1: template MSE 1 + search MSE 1 = 2; stage 2: 4 + 4 = 8; mean over stages 5
    assert float(feature_mimic(student, teacher, len_template=1)) == pytest.approx(5.0)


def test_feature_mimic_layernorm_ignores_token_scale() -> None:
    torch.manual_seed(0)
    t = torch.randn(2, 5, 8)
    assert float(feature_mimic([3.0 * t + 5.0], [t], 2)) > 10
    assert float(feature_mimic([3.0 * t + 5.0], [t], 2, normalise="layernorm")) == pytest.approx(0.0, abs=1e-4)
    assert float(feature_mimic([-t], [t], 2, normalise="layernorm")) == pytest.approx(8.0, rel=1e-3)
