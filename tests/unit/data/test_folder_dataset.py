"""The `folder` reader: a folder of the user's own sequences, NAME/img/*.jpg|png + NAME/groundtruth.txt."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edgetrack.data.datasets import load_dataset
from edgetrack.errors import DataError

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "real"


def _frame(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((12, 16, 3), value, np.uint8))


def _sequence(root: Path, name: str, lines: list[str], frame_names: list[str]) -> Path:
    """Write NAME/img/<frame_names> (each a uniform grey of its position * 20) and NAME/groundtruth.txt."""
    for i, frame in enumerate(frame_names):
        _frame(root / name / "img" / frame, 20 * i)
    (root / name / "groundtruth.txt").write_text("".join(f"{line}\n" for line in lines))
    return root / name


@pytest.fixture
def two_sequences(tmp_path: Path) -> Path:
    """Two tiny sequences: comma-separated with NaN and zero lines, and tab/space-separated unpadded PNGs."""
    _sequence(tmp_path, "walk", ["1,2,5,6", "NaN,NaN,NaN,NaN", "0,0,0,0", "3.5,4,5,6"],
              [f"{k:04d}.jpg" for k in range(1, 5)])
    _sequence(tmp_path, "car", ["2\t3\t4\t5", "3 4 4 5", "4  5\t4 5"], ["1.png", "10.png", "2.png"])
    (tmp_path / "README.md").write_text("my sequences\n")  # a file, not a sequence
    (tmp_path / ".cache").mkdir()  # hidden folders are never sequences
    return tmp_path


def test_sequences_are_the_subfolders_with_boxes_from_either_separator(two_sequences: Path) -> None:
    data = load_dataset("folder", two_sequences)
    assert data.names() == ["car", "walk"]
    np.testing.assert_array_equal(data["car"].boxes, [[2, 3, 4, 5], [3, 4, 4, 5], [4, 5, 4, 5]])
    assert data["walk"].boxes[3].tolist() == [3.5, 4, 5, 6]
    assert data["car"].dataset == "folder"


def test_nan_and_zero_lines_are_frames_without_the_target(two_sequences: Path) -> None:
    walk = load_dataset("folder", two_sequences)["walk"]
    assert walk.visible.tolist() == [True, False, False, True]


def test_unpadded_frame_numbers_sort_by_value(two_sequences: Path) -> None:
    car = load_dataset("folder", two_sequences)["car"]
    assert [Path(p).name for p in car.frames] == ["1.png", "2.png", "10.png"]
    # written in the order 1, 10, 2 (greys 0, 20, 40): read back by number, 2.png (40) comes before 10.png (20)
    assert [int(car.frame(i)[0, 0, 0]) for i in range(3)] == [0, 40, 20]


def test_data_root_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"sequence folder root .*nowhere does not exist; expected <root>/<NAME>"):
        load_dataset("folder", tmp_path / "nowhere")


def test_root_without_sequence_folders(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no sequences here\n")
    with pytest.raises(DataError, match="holds no sequence folders"):
        load_dataset("folder", tmp_path)


@pytest.mark.parametrize(("drop", "missing"), [("groundtruth.txt", "groundtruth.txt"), ("img", "img/")])
def test_half_a_sequence_names_the_folder_and_what_it_lacks(two_sequences: Path, drop: str, missing: str) -> None:
    target = two_sequences / "walk" / drop
    if target.is_dir():
        for p in target.iterdir():
            p.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(DataError, match=rf"sequence folder .*walk has no {missing};"):
        load_dataset("folder", two_sequences)


def test_frame_and_line_counts_that_differ_are_both_named(two_sequences: Path) -> None:
    (two_sequences / "car" / "img" / "2.png").unlink()
    with pytest.raises(DataError, match=r"sequence 'car': .*groundtruth.txt has 3 ground-truth lines but .* holds "
                                        r"2 frames"):
        load_dataset("folder", two_sequences)["car"]


def test_unparsable_line_names_file_and_line(two_sequences: Path) -> None:
    (two_sequences / "car" / "groundtruth.txt").write_text("2,3,4,5\n3,4,four,5\n4,5,4,5\n")
    with pytest.raises(DataError, match=r"car[/\\]groundtruth.txt, line 2: expected 4 numbers"):
        load_dataset("folder", two_sequences)["car"]


@pytest.mark.parametrize("first", ["NaN,NaN,NaN,NaN", "0,0,0,0"])
def test_absent_first_box_cannot_initialise_the_tracker(two_sequences: Path, first: str) -> None:
    (two_sequences / "car" / "groundtruth.txt").write_text(f"{first}\n3,4,4,5\n4,5,4,5\n")
    with pytest.raises(DataError, match="sequence 'car': the first frame's box .* is absent, so the tracker cannot "
                                        "be initialised"):
        load_dataset("folder", two_sequences)["car"]


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real sequences not present at {REAL}")
def test_real_sequences_read_through_the_folder_reader() -> None:
    data = load_dataset("folder", REAL)
    # natural order, case-folded; every folder of ../shared/real (it has grown over time: check those we know)
    assert data.names() == sorted(data.names(), key=str.lower) and {"bag", "Crossing"} <= set(data.names())
    for name, frames in (("Crossing", 120), ("bag", 196)):
        seq = data[name]
        assert len(seq) == frames and seq.boxes.shape == (frames, 4)
        assert seq.visible.all()  # every frame of these two is annotated with the target present
    assert data["Crossing"].frame(0).shape == (240, 360, 3)
