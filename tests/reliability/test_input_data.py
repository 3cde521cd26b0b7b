"""Bad input data is refused with one line naming the file to fix, never tracked or scored as if it were fine."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgetrack.cli.app import run
from edgetrack.data.datasets import load_dataset, read_boxes
from edgetrack.data.sequence import Sequence, read_rgb
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import DataError
from edgetrack.eval.run import track_sequence
from edgetrack.models import save_model
from edgetrack.runtime.tracker import Tracker

SYNTH = synthetic_sequence(3, 6)  # RGB frames 240x320
TRUNCATED = "is truncated or damaged; re-copy it or remove it from the sequence"


def _frame_bgr(index: int) -> np.ndarray:
    return cv2.cvtColor(SYNTH.frame(index), cv2.COLOR_RGB2BGR)


def _sequence_folder(root: Path, name: str = "car", lines: list[str] | None = None) -> Path:
    """root/NAME/img/00000001.jpg ... and root/NAME/groundtruth.txt from the synthetic sequence."""
    folder = root / name
    (folder / "img").mkdir(parents=True)
    for i in range(len(SYNTH)):
        assert cv2.imwrite(str(_frame_path(folder, i + 1)), _frame_bgr(i))
    lines = _good_lines() if lines is None else lines
    (folder / "groundtruth.txt").write_text("".join(f"{line}\n" for line in lines))
    return folder


def _good_lines() -> list[str]:
    return [",".join(f"{v:.2f}" for v in box) for box in SYNTH.boxes]


def _frame_path(folder: Path, number: int) -> Path:
    return folder / "img" / f"{number:08d}.jpg"


def _cut(path: Path, keep: float) -> None:
    """Keep the first `keep` fraction of a file, as an interrupted copy does."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.fixture
def model_dir(tmp_path: Path, micro_model) -> Path:
    return save_model(micro_model, tmp_path / "micro")


@pytest.fixture
def tracker(micro_model) -> Tracker:
    return Tracker.from_model(micro_model)


def _eval(model: Path | str, root: Path, out: Path) -> int:
    return run(["eval", "-m", str(model), "-b", "folder", "--data-root", str(root), "--out", str(out)])


def _starting(text: str) -> str:
    return "^" + re.escape(text)


def _exactly(text: str) -> str:
    return _starting(text) + "$"


def _one_error_line(err: str) -> str:
    """The single error line on stderr (the progress bar, when not a terminal, also prints its last state)."""
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


# --- ground truth lines
@pytest.mark.parametrize("bad", ["10,10,-5,20", "10,10,5,-20", "10\t10\t-1\t-1"])
def test_a_negative_width_or_height_is_refused_naming_file_line_and_text(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "groundtruth.txt"
    path.write_text(f"1,2,3,4\n{bad}\n5,6,7,8\n")
    with pytest.raises(DataError) as info:
        read_boxes(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 2: negative width or height")
    assert repr(bad) in message and "NaN,NaN,NaN,NaN or 0,0,0,0 marks an absent target" in message


@pytest.mark.parametrize("bad", ["a,b,c,d", "1,2,3", "1,2,3,4,5", "1,2,inf,4"])
def test_a_non_numeric_or_infinite_line_is_refused_naming_file_and_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "groundtruth.txt"
    path.write_text(f"1,2,3,4\n5,6,7,8\n{bad}\n")
    with pytest.raises(DataError, match=_starting(f"{path}, line 3: ") + f".*got {re.escape(repr(bad))}$"):
        read_boxes(path)


def test_nan_and_all_zero_lines_still_mark_the_target_absent(tmp_path: Path) -> None:
    lines = _good_lines()
    lines[2], lines[4] = "NaN,NaN,NaN,NaN", "0,0,0,0"
    seq = load_dataset("folder", _sequence_folder(tmp_path, lines=lines).parent)["car"]
    assert seq.visible.tolist() == [True, True, False, True, False, True]
    assert seq.annotation == tmp_path / "car" / "groundtruth.txt"


def test_eval_refuses_a_negative_size_line_with_one_line(tmp_path: Path, model_dir: Path, capsys) -> None:
    lines = _good_lines()
    lines[3] = "10,10,-5,20"
    _sequence_folder(tmp_path / "clips", lines=lines)
    assert _eval(model_dir, tmp_path / "clips", tmp_path / "out") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{tmp_path / 'clips' / 'car' / 'groundtruth.txt'}, line 4: negative width or height" in line
    assert "'10,10,-5,20'" in line


# --- frame files
def test_a_truncated_jpeg_is_refused_without_decoding_it(tmp_path: Path, capfd) -> None:
    path = tmp_path / "frame.jpg"
    assert cv2.imwrite(str(path), _frame_bgr(0))
    _cut(path, 0.9)
    assert cv2.imread(str(path)) is not None  # what this guards against: cv2 decodes the part it has
    capfd.readouterr()
    with pytest.raises(DataError) as info:
        read_rgb(path)
    assert str(info.value) == f"{path} {TRUNCATED}"
    assert "Premature end of JPEG" not in capfd.readouterr().err  # refused from its end, no decode


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_a_truncated_png_is_refused(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "frame.png"
    assert cv2.imwrite(str(path), _frame_bgr(0))
    _cut(path, keep)
    with pytest.raises(DataError, match=_exactly(f"{path} {TRUNCATED}")):
        read_rgb(path)


def test_a_png_cut_right_before_its_end_chunk_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "frame.png"
    assert cv2.imwrite(str(path), _frame_bgr(0))
    path.write_bytes(path.read_bytes()[:-12])  # every pixel is there; only IEND is missing
    with pytest.raises(DataError, match=_exactly(f"{path} {TRUNCATED}")):
        read_rgb(path)


def test_a_jpeg_whose_end_was_zero_filled_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "frame.jpg"
    assert cv2.imwrite(str(path), _frame_bgr(0))
    data = path.read_bytes()
    half = len(data) // 2
    path.write_bytes(data[:half] + bytes(len(data) - half))  # right size, second half never written
    with pytest.raises(DataError, match=_exactly(f"{path} {TRUNCATED}")):
        read_rgb(path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
@pytest.mark.parametrize("padding", [b"", b"\x00" * 9000, b" \r\n\t"])
def test_complete_images_read_as_before_trailing_padding_allowed(tmp_path: Path, suffix: str, padding: bytes) -> None:
    path = tmp_path / f"frame{suffix}"
    assert cv2.imwrite(str(path), _frame_bgr(1))
    expected = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    path.write_bytes(path.read_bytes() + padding)
    np.testing.assert_array_equal(read_rgb(path), expected)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0garbage\xff\xd9"])
def test_a_file_cv2_cannot_read_is_refused_naming_it(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "frame.jpg"
    path.write_bytes(content)
    with pytest.raises(DataError, match=_starting(f"cannot read image {path}: missing, damaged or not an image")):
        read_rgb(path)


def test_a_missing_frame_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "gone.jpg"
    with pytest.raises(DataError, match=_starting(f"cannot read image {path}: ")):
        read_rgb(path)


def test_eval_refuses_a_truncated_frame_naming_sequence_and_file(tmp_path: Path, model_dir: Path, capsys) -> None:
    folder = _sequence_folder(tmp_path / "clips")
    _cut(_frame_path(folder, 3), 0.6)
    assert _eval(model_dir, tmp_path / "clips", tmp_path / "out") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"error: sequence 'car', frame 3: {_frame_path(folder, 3)} {TRUNCATED}"


# --- frame size and first box
def test_eval_refuses_a_first_box_outside_the_first_frame_naming_its_files(tmp_path: Path, model_dir: Path,
                                                                            capsys) -> None:
    lines = _good_lines()
    lines[0] = "400,10,20,20"  # the frames are 320 wide
    folder = _sequence_folder(tmp_path / "clips", lines=lines)
    assert _eval(model_dir, tmp_path / "clips", tmp_path / "out") == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: sequence 'car' ({folder / 'groundtruth.txt'}, first frame "
                           f"{_frame_path(folder, 1)}): the initial box [400.0, 10.0, 20.0, 20.0] lies entirely "
                           "outside the 320x240 frame")


def test_a_zero_size_first_box_names_the_sequence_and_its_files(tmp_path: Path, tracker: Tracker) -> None:
    folder = _sequence_folder(tmp_path)
    frames = [_frame_path(folder, k) for k in range(1, 7)]
    boxes = SYNTH.boxes.copy()
    boxes[0, 2] = 0
    # visible as flags files would declare it (LaSOT, GOT-10k): the box itself is what the tracker refuses
    seq = Sequence("car", frames, boxes, visible=np.ones(6, bool), annotation=folder / "groundtruth.txt")
    with pytest.raises(DataError) as info:
        track_sequence(tracker, seq)
    assert str(info.value).startswith(f"sequence 'car' ({folder / 'groundtruth.txt'}, first frame {frames[0]}): "
                                      "the initial box")
    assert "width, height > 0" in str(info.value)


def test_a_folder_sequence_with_an_absent_first_box_names_the_sequence_and_file(tmp_path: Path) -> None:
    lines = _good_lines()
    lines[0] = "10,10,0,20"
    ds = load_dataset("folder", _sequence_folder(tmp_path, lines=lines).parent)
    gt = tmp_path / "car" / "groundtruth.txt"
    expected = f"sequence 'car': the first frame's box in {gt} (line 1: 10,10,0,20) is absent"
    with pytest.raises(DataError, match=_starting(expected)):
        ds["car"]


def test_a_frame_of_another_size_is_refused_naming_the_frame_file(tmp_path: Path, tracker: Tracker) -> None:
    folder = _sequence_folder(tmp_path)
    assert cv2.imwrite(str(_frame_path(folder, 4)), cv2.resize(_frame_bgr(3), (160, 120)))
    seq = load_dataset("folder", tmp_path)["car"]
    with pytest.raises(DataError) as info:
        track_sequence(tracker, seq)
    assert str(info.value).startswith(f"sequence 'car', frame 4 ({_frame_path(folder, 4)}): frame size changed "
                                      "from (240, 320) to (120, 160)")
