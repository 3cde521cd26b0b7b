from __future__ import annotations

import numpy as np
import pytest

from edgetrack.data.unlabeled import read_clips
from edgetrack.errors import DataError
from tests.unit.data.clip_files import SIZE, square_box, write_clip


def test_clips_are_read_in_natural_order_with_their_first_box(tmp_path) -> None:
    for name in ("clip10", "clip2"):
        write_clip(tmp_path / name, frames=3)
    (tmp_path / ".git").mkdir()
    (tmp_path / "notes.txt").write_text("not a clip")
    clips = read_clips(tmp_path)
    assert [c.name for c in clips] == ["clip2", "clip10"]
    assert len(clips[0].frames) == 3 and clips[0].size == SIZE
    np.testing.assert_array_equal(clips[0].init_box, square_box(0))


def test_a_folder_that_is_itself_a_clip_is_one_clip(tmp_path) -> None:
    write_clip(tmp_path / "only", frames=2)
    assert [c.name for c in read_clips(tmp_path / "only")] == ["only"]


def test_content_hash_follows_frames_and_first_box(tmp_path) -> None:
    folder = write_clip(tmp_path / "a", frames=3)
    before = read_clips(folder)[0].content_hash()
    assert read_clips(folder)[0].content_hash() == before
    (folder / "init.txt").write_text("11,20,20,20\n")
    moved = read_clips(folder)[0].content_hash()
    assert moved != before
    (folder / "img" / "00002.png").write_bytes((folder / "img" / "00001.png").read_bytes())
    assert read_clips(folder)[0].content_hash() != moved


@pytest.mark.parametrize(("frames", "init", "message"), [
    (0, None, "holds no .jpg or .png frames"),
    (1, None, "needs at least two"),
    (3, "1,2,3,4\n5,6,7,8", "exactly one box"),
    (3, "1,2,3", "expected 4 numbers"),
    (3, "10,10,0,5", "width and height must be positive"),
    (3, "500,400,20,20", "lies outside the 96x80 first frame"),
    (3, "-15,10,20,20", "lies outside"),
])
def test_bad_clips_are_refused_with_one_line(tmp_path, frames, init, message) -> None:
    folder = tmp_path / "clip"
    write_clip(folder, frames=frames, init=init)
    with pytest.raises(DataError, match=message) as caught:
        read_clips(tmp_path)
    assert "\n" not in str(caught.value)


def test_a_clip_without_init_txt_says_how_to_give_the_target(tmp_path) -> None:
    folder = write_clip(tmp_path / "clip", frames=3)
    (folder / "init.txt").unlink()
    with pytest.raises(DataError, match="no init.txt; write the target's box"):
        read_clips(tmp_path)


def test_missing_or_empty_roots_are_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_clips(tmp_path / "nope")
    with pytest.raises(DataError, match="holds no clip folders"):
        read_clips(tmp_path)
    (tmp_path / "x").mkdir()
    with pytest.raises(DataError, match="has no img/ folder"):
        read_clips(tmp_path)
