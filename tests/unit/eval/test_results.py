from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgetrack.errors import DataError
from edgetrack.eval.results import (
    box_path,
    read_result,
    read_times,
    result_exists,
    time_path,
    write_got10k_submission,
    write_result,
    write_trackingnet_submission,
)

BOXES = np.array([[10.9, 20.2, 30.7, 40.0], [-3.7, 0.4, 15.0, 16.99], [0.0, -0.6, 1.5, 2.5]])
TRUNCATED = [[10, 20, 30, 40], [-3, 0, 15, 16], [0, 0, 1, 2]]  # toward zero: -3.7 -> -3, -0.6 -> 0


def test_round_trip_truncates_toward_zero(tmp_path: Path) -> None:
    path = write_result(tmp_path, "seq-a", BOXES, times=[0.01, 0.02, 0.5])
    assert path == tmp_path / "seq-a.txt"
    assert path.read_text().splitlines()[1] == "-3\t0\t15\t16"
    assert read_result(tmp_path, "seq-a").tolist() == TRUNCATED
    np.testing.assert_allclose(read_times(tmp_path, "seq-a"), [0.01, 0.02, 0.5])


def test_times_are_optional(tmp_path: Path) -> None:
    write_result(tmp_path, "s", BOXES)
    assert read_times(tmp_path, "s") is None
    assert not time_path(tmp_path, "s").exists()


def test_comma_separated_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "other.txt").write_text("1,2,3,4\n5.5,6,7,8\n\n")
    assert read_result(tmp_path, "other").tolist() == [[1, 2, 3, 4], [5.5, 6, 7, 8]]


def test_malformed_lines_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("1\t2\t3\t4\n1\t2\t3\n")
    with pytest.raises(DataError, match="line 2"):
        read_result(tmp_path, "bad")
    (tmp_path / "text.txt").write_text("1\t2\tx\t4\n")
    with pytest.raises(DataError, match="line 1"):
        read_result(tmp_path, "text")
    with pytest.raises(DataError, match="does not exist"):
        read_result(tmp_path, "missing")


def test_result_exists_detects_truncated_files(tmp_path: Path) -> None:
    assert not result_exists(tmp_path, "s", 3)
    write_result(tmp_path, "s", BOXES)
    assert result_exists(tmp_path, "s", 3)
    assert not result_exists(tmp_path, "s", 4)
    # a run killed by a non-atomic writer leaves the first lines only
    lines = box_path(tmp_path, "s").read_text().splitlines(keepends=True)
    box_path(tmp_path, "s").write_text("".join(lines[:2]))
    assert not result_exists(tmp_path, "s", 3)


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    bad = BOXES.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DataError, match="frame 2"):
        write_result(tmp_path, "s", bad)
    with pytest.raises(DataError, match="3 boxes but 2 times"):
        write_result(tmp_path, "s", BOXES, times=[0.1, 0.2])
    assert list(tmp_path.iterdir()) == []
    assert not result_exists(tmp_path, "s", 3)


def test_rewrite_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write_result(tmp_path, "s", BOXES, times=[1, 2, 3])
    write_result(tmp_path, "s", BOXES[:1] + 100, times=[4])
    assert read_result(tmp_path, "s").tolist() == [[110, 120, 130, 140]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.txt", "s_time.txt"]


def test_names_cannot_escape_the_folder(tmp_path: Path) -> None:
    for name in ("../up", "a/b", "", ".."):
        with pytest.raises(DataError, match="file name"):
            write_result(tmp_path, name, BOXES)


def test_got10k_submission_layout(tmp_path: Path) -> None:
    boxes = {"GOT-10k_Test_000001": BOXES, "GOT-10k_Test_000002": BOXES[:2]}
    times = {"GOT-10k_Test_000001": [0.1, 0.2, 0.3], "GOT-10k_Test_000002": [0.1, 0.2]}
    archive = write_got10k_submission(tmp_path / "sub", boxes, times)
    assert archive == tmp_path / "sub.zip"
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        assert {"GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt", "GOT-10k_Test_000001/GOT-10k_Test_000001_time.txt",
                "GOT-10k_Test_000002/GOT-10k_Test_000002_001.txt"} <= names
        text = zf.read("GOT-10k_Test_000001/GOT-10k_Test_000001_001.txt").decode()
        times_text = zf.read("GOT-10k_Test_000002/GOT-10k_Test_000002_time.txt").decode()
    assert text.splitlines() == [",".join(map(str, row)) for row in TRUNCATED]
    assert [float(t) for t in times_text.split()] == [0.1, 0.2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "sub.zip"]


def test_got10k_submission_needs_times(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="seq2"):
        write_got10k_submission(tmp_path / "sub", {"seq1": BOXES, "seq2": BOXES}, {"seq1": [1, 2, 3]})


def test_trackingnet_submission_layout(tmp_path: Path) -> None:
    archive = write_trackingnet_submission(tmp_path / "tn", {"a": BOXES, "b": BOXES[:1]})
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["a.txt", "b.txt"]
        assert zf.read("b.txt").decode() == "10,20,30,40\n"
    folder = write_trackingnet_submission(tmp_path / "plain", {"a": BOXES}, archive=False)
    assert folder == tmp_path / "plain" and read_result(folder, "a").tolist() == TRUNCATED
