from __future__ import annotations

import numpy as np
import pytest

from edgetrack.errors import ConfigError, DataError, EdgetrackError
from edgetrack.eval.metrics import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    aggregate,
    center_error,
    iou_xywh,
    ope_metrics,
)

BOX = [0.0, 0.0, 10.0, 10.0]


def test_thresholds_match_the_reference_grids() -> None:
    assert len(SUCCESS_THRESHOLDS) == 21 and SUCCESS_THRESHOLDS[10] == 0.5 and SUCCESS_THRESHOLDS[15] == 0.75
    assert len(PRECISION_THRESHOLDS) == 51 and PRECISION_THRESHOLDS[20] == 20.0 and PRECISION_THRESHOLDS[-1] == 50
    assert len(NORM_PRECISION_THRESHOLDS) == 51 and NORM_PRECISION_THRESHOLDS[20] == 0.2
    assert NORM_PRECISION_THRESHOLDS[-1] == 0.5


def test_iou_by_hand_with_inclusive_pixels() -> None:
    # shifted 5 px right: columns 0..9 and 5..14 share 5..9 (5 columns) x 10 rows = 50; union 100 + 100 - 50
    # shifted (5, 5): 5 x 5 = 25 shared; union 175
    # shifted 9 px: one shared column (9) -> 10 / 190; shifted 10 px: columns 0..9 and 10..19 touch, no overlap
    a = np.array([BOX] * 5)
    b = np.array([BOX, [5, 0, 10, 10], [5, 5, 10, 10], [9, 0, 10, 10], [10, 0, 10, 10]], dtype=float)
    np.testing.assert_allclose(iou_xywh(a, b), [1.0, 50 / 150, 25 / 175, 10 / 190, 0.0])


def test_iou_of_contained_box() -> None:
    # a 4x5 box inside a 10x10 box: intersection is the small box, union the big one
    np.testing.assert_allclose(iou_xywh([[2, 3, 4, 5]], [BOX]), [20 / 100])


def test_iou_is_zero_for_invalid_boxes() -> None:
    bad = np.array([[0, 0, 0, 10], [0, 0, 10, -3], [np.nan, 0, 10, 10], [0, 0, np.inf, 10]], dtype=float)
    good = np.array([BOX] * 4)
    with np.errstate(all="raise"):  # invalid rows must not even reach the arithmetic
        assert iou_xywh(bad, good).tolist() == [0.0] * 4
        assert iou_xywh(good, bad).tolist() == [0.0] * 4


def test_iou_rejects_bad_shapes_and_lengths() -> None:
    with pytest.raises(DataError, match="shape"):
        iou_xywh(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(DataError, match="2 boxes.*3"):
        iou_xywh(np.ones((2, 4)), np.ones((3, 4)))


def test_center_error_pixels_and_normalised() -> None:
    # centres x + (w-1)/2: pred (4.5, 9.5), gt (7.5, 17.5) -> offset (3, 8)
    pred, gt = [[0, 0, 10, 20]], [[3, 8, 10, 20]]
    np.testing.assert_allclose(center_error(pred, gt), [np.sqrt(73.0)])
    # normalised by gt w, h = (10, 20): offset (0.3, 0.4) -> 0.5
    np.testing.assert_allclose(center_error(pred, gt, normalized=True), [0.5])


def test_center_error_of_invalid_boxes_is_infinite() -> None:
    err = center_error([[0, 0, 10, 10], [np.nan, 0, 5, 5]], [[0, 0, 0, 0], BOX])
    assert np.isinf(err).all()


def test_three_frame_sequence_by_hand() -> None:
    gt = np.array([BOX] * 3)
    pred = np.array([[50, 50, 3, 3], [5, 0, 10, 10], [20, 20, 10, 10]], dtype=float)
    m = ope_metrics(pred, gt)
    # IoUs: frame 0 replaced by gt -> 1; frame 1 -> 1/3; frame 2 -> 0.
    # frame 0 beats 20 thresholds (0 .. 0.95, not 1.0 since > is strict); frame 1 beats 0 .. 0.30 = 7; frame 2 none
    # AUC = (20 + 7 + 0) / (3 frames * 21 thresholds) = 27 / 63 = 3 / 7
    assert m["auc"] == pytest.approx(100 * 3 / 7)
    assert m["op50"] == pytest.approx(100 / 3) and m["op75"] == pytest.approx(100 / 3)
    assert m["success_curve"][0] == pytest.approx(200 / 3) and m["success_curve"][-1] == 0.0
    # centre errors 0, 5 and sqrt(20^2 + 20^2) = 28.3 px -> 2 of 3 within 20 px
    assert m["precision"] == pytest.approx(200 / 3)
    # normalised errors 0, 0.5, 2.83 -> only frame 0 within 0.20
    assert m["norm_precision"] == pytest.approx(100 / 3)
    assert m["protocol"] == "lasot" and m["num_frames"] == 3
    assert len(m["success_curve"]) == 21 and len(m["precision_curve"]) == 51
    assert len(m["norm_precision_curve"]) == 51
    assert "ao" not in m


def test_first_frame_is_replaced_and_counted() -> None:
    m = ope_metrics([[np.nan, np.nan, np.nan, np.nan]], [[4, 7, 12, 9]])
    assert m["op75"] == 100.0 and m["precision_curve"][0] == 100.0 and m["norm_precision_curve"][0] == 100.0
    assert m["auc"] == pytest.approx(100 * 20 / 21)  # IoU 1 is not > 1.0


def test_input_arrays_are_not_modified() -> None:
    pred = np.array([[50, 50, 3, 3], BOX], dtype=float)
    ope_metrics(pred, np.array([BOX, BOX]))
    assert pred[0].tolist() == [50, 50, 3, 3]


def test_absent_frames_are_failures_in_the_denominator() -> None:
    gt = np.array([BOX, [0, 0, 0, 0], BOX])
    pred = np.array([BOX] * 3)  # perfect where the target is present, and a box where it is absent
    m = ope_metrics(pred, gt, visible=[True, False, True])
    assert m["op50"] == pytest.approx(200 / 3)
    assert m["precision"] == pytest.approx(200 / 3) and m["norm_precision"] == pytest.approx(200 / 3)
    assert m["auc"] == pytest.approx(100 * 40 / 63)  # 2 frames x 20 thresholds over 3 x 21


def test_absent_flag_wins_over_a_stale_gt_box() -> None:
    # some datasets keep the last box on absent frames; a prediction on it must still fail
    m = ope_metrics(np.array([BOX] * 2), np.array([BOX] * 2), visible=[True, False])
    assert m["op50"] == 50.0 and m["precision_curve"][-1] == 50.0


def test_success_threshold_is_strict() -> None:
    # frame 1: IoU of 10x10 and 10x5 at the same corner = 50 / 100 = 0.5 exactly
    gt = np.array([BOX, BOX])
    pred = np.array([BOX, [0, 0, 10, 5]], dtype=float)
    assert iou_xywh(pred[1:], gt[1:])[0] == 0.5
    m = ope_metrics(pred, gt)
    assert m["success_curve"][9] == 100.0  # 0.5 > 0.45
    assert m["op50"] == 50.0  # 0.5 is not > 0.5


def test_precision_threshold_is_inclusive() -> None:
    gt = np.array([BOX, BOX])
    pred = np.array([BOX, [20, 0, 10, 10]], dtype=float)  # centre error exactly 20 px
    m = ope_metrics(pred, gt)
    assert m["precision"] == 100.0 and m["precision_curve"][19] == 50.0


def test_got10k_ao_excludes_the_first_frame() -> None:
    gt = np.array([BOX] * 3)
    pred = np.array([[50, 50, 3, 3], [5, 0, 10, 10], BOX], dtype=float)
    m = ope_metrics(pred, gt, protocol="got10k")
    # frames 1 and 2: IoU 1/3 and 1 -> AO 2/3; counting frame 0 (IoU 1) would give 7/9
    assert m["ao"] == pytest.approx(200 / 3)
    assert m["sr50"] == 50.0 and m["sr75"] == 50.0 and m["ao_frames"] == 2
    assert m["protocol"] == "got10k" and "auc" in m


def test_got10k_ao_skips_absent_frames() -> None:
    gt = np.array([BOX, [5, 0, 10, 10], [0, 0, 0, 0], BOX])
    pred = np.array([BOX, BOX, BOX, BOX], dtype=float)
    m = ope_metrics(pred, gt, visible=[True, True, False, True], protocol="got10k")
    assert m["ao_frames"] == 2
    assert m["ao"] == pytest.approx(100 * (1 / 3 + 1) / 2)
    assert m["sr75"] == 50.0
    assert m["op50"] == 50.0  # the LaSOT-style rates still count the absent frame as a failure


def test_got10k_single_frame_has_no_ao() -> None:
    m = ope_metrics([BOX], [BOX], protocol="got10k")
    assert np.isnan(m["ao"]) and m["ao_frames"] == 0


def test_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(DataError, match="pred has 2 boxes but gt has 3"):
        ope_metrics(np.ones((2, 4)), np.ones((3, 4)))
    with pytest.raises(DataError, match="visible has 2 flags"):
        ope_metrics(np.ones((3, 4)), np.ones((3, 4)), visible=[True, True])


def test_bad_protocol_and_empty_sequence_are_edgetrack_errors() -> None:
    with pytest.raises(ConfigError, match="got10k"):
        ope_metrics(np.ones((1, 4)), np.ones((1, 4)), protocol="otb")
    with pytest.raises(EdgetrackError, match="empty"):
        ope_metrics(np.zeros((0, 4)), np.zeros((0, 4)))


def test_aggregate_averages_over_sequences_not_frames() -> None:
    perfect = ope_metrics(np.array([BOX] * 2), np.array([BOX] * 2))
    # 4 frames: frame 0 perfect, frames 1-3 miss completely
    poor = ope_metrics(np.array([BOX] + [[40, 40, 10, 10]] * 3), np.array([BOX] * 4))
    agg = aggregate([perfect, poor])
    assert agg["num_sequences"] == 2 and agg["num_frames"] == 6 and agg["protocol"] == "lasot"
    # per sequence: OP50 100 and 25 -> mean 62.5 (frame pooling would give 3/6 = 50)
    assert agg["op50"] == pytest.approx(62.5)
    assert agg["auc"] == pytest.approx((perfect["auc"] + poor["auc"]) / 2)
    np.testing.assert_allclose(agg["precision_curve"],
                               (np.array(perfect["precision_curve"]) + np.array(poor["precision_curve"])) / 2)


def test_aggregate_pools_got10k_frames() -> None:
    a = ope_metrics(np.array([BOX, BOX]), np.array([BOX, BOX]), protocol="got10k")  # 1 frame, IoU 1
    b = ope_metrics(np.array([BOX] + [[40, 40, 10, 10]] * 3), np.array([BOX] * 4), protocol="got10k")  # 3 x IoU 0
    c = ope_metrics([BOX], [BOX], protocol="got10k")  # no frame after the first: no weight
    agg = aggregate([a, b, c])
    assert agg["ao"] == pytest.approx(25.0) and agg["sr50"] == pytest.approx(25.0) and agg["ao_frames"] == 4


def test_aggregate_refuses_empty_or_mixed_input() -> None:
    with pytest.raises(DataError):
        aggregate([])
    with pytest.raises(DataError, match="protocols"):
        aggregate([ope_metrics([BOX], [BOX]), ope_metrics([BOX], [BOX], protocol="got10k")])
