from __future__ import annotations

import cv2
import numpy as np
import pytest

from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import DataError
from edgetrack.eval import run as eval_run
from edgetrack.eval.strip import COLOURS, GT_COLOUR, frame_strip, strip_frames

SEQ = synthetic_sequence(7300, length=20)


def test_strip_frames_spread_over_the_sequence() -> None:
    assert strip_frames(150, 6) == [1, 31, 60, 90, 119, 149]
    assert strip_frames(3, 6) == [1, 2]
    with pytest.raises(DataError):
        strip_frames(1, 6)


def test_strip_draws_each_tracker_in_its_colour_where_its_box_is() -> None:
    shift = np.array([8.0, 5.0, 0.0, 0.0])  # clear of the ground truth's 1 px and the boxes' 2 px lines
    image = frame_strip(SEQ, {"a": SEQ.boxes + shift, "b": SEQ.boxes - shift}, frames=[5], scale=1.0)
    h, w = SEQ.frame(5).shape[:2]
    assert image.shape == (h + 22, w + 2, 3)
    x, y, bw, bh = SEQ.boxes[5]

    def left_edge(dx: float, dy: float) -> tuple[int, ...]:
        return tuple(int(v) for v in image[int(round(y + dy + bh / 2)), int(round(x + dx))])

    assert left_edge(8, 5) == COLOURS[0] and left_edge(-8, -5) == COLOURS[1]  # each box where it was moved to
    assert COLOURS[0] not in (left_edge(0, 0), left_edge(-8, -5))  # and not where the ground truth is
    # by hand: the frame with the ground truth (white, 1 px) and each box (its colour, 2 px) drawn at their
    # rounded corners; the rows of the frame number text aside
    expected = np.ascontiguousarray(SEQ.frame(5)).copy()
    for box, colour, width in ((SEQ.boxes[5], GT_COLOUR, 1), (SEQ.boxes[5] + shift, COLOURS[0], 2),
                               (SEQ.boxes[5] - shift, COLOURS[1], 2)):
        bx, by, bwid, bhgt = box
        cv2.rectangle(expected, (round(bx), round(by)), (round(bx + bwid), round(by + bhgt)), colour, width,
                      cv2.LINE_AA)
    np.testing.assert_array_equal(image[20:h, :w], expected[20:])
    legend = image[h:]
    for colour in (GT_COLOUR, COLOURS[0], COLOURS[1]):
        assert (legend == np.array(colour)).all(axis=-1).any()
    assert not (legend == np.array(COLOURS[2])).all(axis=-1).any()  # two trackers: two colours only


def test_eval_cli_writes_a_strip_for_a_named_sequence(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [SEQ])
    code = run(["eval", "--model", "opencv:kcf", "--out", str(tmp_path), "--strip", SEQ.name])
    assert code == 0
    assert (tmp_path / "synthetic-test" / f"strip-{SEQ.name}.png").stat().st_size > 1000
    assert run(["eval", "--model", "opencv:kcf", "--out", str(tmp_path), "--strip", "synth-nope"]) == 2
    assert "has no sequence 'synth-nope'" in capsys.readouterr().err
