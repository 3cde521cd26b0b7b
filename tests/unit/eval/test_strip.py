from __future__ import annotations

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
    shifted = SEQ.boxes + np.array([0, 0, 0, 0])
    image = frame_strip(SEQ, {"a": shifted}, frames=[5], scale=1.0)
    h, w = SEQ.frame(5).shape[:2]
    assert image.shape == (h + 22, w + 2, 3)
    x, y, bw, bh = SEQ.boxes[5]
    left = image[int(round(y + bh / 2)), int(round(x))]
    assert tuple(left) == COLOURS[0]  # tracker drawn over ground truth at the same place
    legend = image[h:]
    assert (legend == np.array(GT_COLOUR)).all(axis=-1).any()


def test_eval_cli_writes_a_strip_for_a_named_sequence(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [SEQ])
    code = run(["eval", "--model", "opencv:kcf", "--out", str(tmp_path), "--strip", SEQ.name])
    assert code == 0
    assert (tmp_path / "synthetic-test" / f"strip-{SEQ.name}.png").stat().st_size > 1000
    assert run(["eval", "--model", "opencv:kcf", "--out", str(tmp_path), "--strip", "synth-nope"]) == 2
    assert "has no sequence 'synth-nope'" in capsys.readouterr().err
