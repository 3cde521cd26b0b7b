"""Bad input gets a message that says what is wrong, not a blank reason or a bare exception."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.cli.app import run
from edgetrack.errors import CheckpointError, TrackingError
from edgetrack.models import create_model
from edgetrack.runtime.tracker import Tracker


def test_empty_pth_names_the_reason(tmp_path) -> None:
    path = tmp_path / "empty.pth"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pth: the file is empty"):
        create_model("ostrack256", checkpoint=path)
    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(CheckpointError) as info:
        create_model("ostrack256", checkpoint=path)
    assert str(info.value).split(": ", 1)[1].strip()  # a reason after the file name, never blank


def test_a_pickled_model_under_net_is_named_as_such(tmp_path) -> None:
    path = tmp_path / "whole.pth"
    torch.save({"net": [torch.zeros(2)]}, path)
    with pytest.raises(CheckpointError, match="its 'net' entry is a list, not a state dict"):
        create_model("ostrack256", checkpoint=path)


def test_initialize_with_a_string_box_is_a_tracking_error(micro_model) -> None:
    tracker = Tracker.from_model(micro_model)
    with pytest.raises(TrackingError, match="4 numbers"):
        tracker.initialize(np.zeros((64, 64, 3), np.uint8), "abc")


def test_nan_init_box_is_refused_by_the_cli(tmp_path, capsys) -> None:
    assert run(["track", str(tmp_path), "--model", "tiny", "--init", "nan,1,2,3"]) == 2
    assert "not a finite number" in capsys.readouterr().err
