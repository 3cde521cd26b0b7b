from __future__ import annotations

import hashlib

import numpy as np
import pytest

from edgetrack.data.pseudo_labels import (
    LabelConfig,
    Labeler,
    export_labels,
    label_clip,
    labeled_clips,
    pseudo_labeled,
)
from edgetrack.data.unlabeled import read_clips
from edgetrack.errors import ArtifactError
from edgetrack.runtime.contract import BaseTracker, TrackResult
from tests.unit.data.clip_files import clip_frame, square_box, write_clip

FRAMES = 21


def _digest(frame: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()


class ScriptedTracker(BaseTracker):
    """Follows the square, or a distractor far away once it has jumped (forward only, at `jump`)."""

    box = None  # the contract's property; the labeller reads the boxes `track` returns

    def __init__(self, jump: int | None = None, low_scores: tuple[int, ...] = ()) -> None:
        # frames come back RGB from files written as BGR
        self.index = {_digest(clip_frame(i)[:, :, ::-1]): i for i in range(FRAMES)}
        self.jump, self.low, self.on_target, self.last = jump, low_scores, True, 0

    def _frame(self, frame: np.ndarray) -> int:
        return self.index[_digest(frame)]

    def initialize(self, frame: np.ndarray, box: np.ndarray) -> None:
        self.last = self._frame(frame)
        self.on_target = abs(box[0] - square_box(self.last)[0]) < 5

    def track(self, frame: np.ndarray) -> TrackResult:
        i = self._frame(frame)
        if self.on_target and self.jump is not None and self.last < self.jump <= i:
            self.on_target = False
        self.last = i
        box = square_box(i) if self.on_target else square_box(i) + [40, 30, 0, 0]
        return TrackResult(tuple(box), 0.1 if i in self.low else 0.9, {})


@pytest.fixture
def clip_dir(tmp_path):
    write_clip(tmp_path / "clips" / "walk", frames=FRAMES)
    return tmp_path / "clips"


def test_frames_after_a_jump_fail_the_forward_backward_check_and_low_scores_are_dropped(clip_dir) -> None:
    clip = read_clips(clip_dir)[0]
    labels = label_clip(ScriptedTracker(jump=12, low_scores=(3,)), clip, LabelConfig(fb_window=5))
    # windows 0-5, 5-10 agree; 10-15 holds the jump, so its backward track (from the distractor) parts from the
    # forward boxes at frames 10-11 and the whole window goes; 15-20 is consistent on the distractor itself
    expected = np.ones(FRAMES, bool)
    expected[[3, 11, 12, 13, 14, 15]] = False
    np.testing.assert_array_equal(labels.kept, expected)
    np.testing.assert_allclose(labels.boxes[5], square_box(5))
    assert labels.fb_iou[0] == 1.0 and labels.fb_iou[13] == 0.0 and labels.scores[3] == pytest.approx(0.1)


def test_a_steady_track_keeps_every_frame(clip_dir) -> None:
    labels = label_clip(ScriptedTracker(), read_clips(clip_dir)[0], LabelConfig(fb_window=4))
    assert labels.kept.all() and np.allclose(labels.fb_iou, 1.0)


class Counting:
    def __init__(self, identity: dict) -> None:
        self.opened = 0
        self.labeler = Labeler("scripted", identity, self.open)

    def open(self) -> ScriptedTracker:
        self.opened += 1
        self.last = ScriptedTracker(jump=12)
        return self.last


def test_labels_are_cached_per_labeler_settings_and_clip_content(clip_dir, tmp_path) -> None:
    cache = tmp_path / "cache"
    first = Counting({"weights": "a"})
    [(_, folder)] = labeled_clips(clip_dir, first.labeler, cache=cache)
    labeled_clips(clip_dir, first.labeler, cache=cache)
    assert first.opened == 1 and (folder / "groundtruth.txt").is_file()
    assert first.last._closed  # the labeller's tracker is released once its clips are labelled

    other = Counting({"weights": "b"})  # another teacher never reads these labels
    [(_, other_folder)] = labeled_clips(clip_dir, other.labeler, cache=cache)
    assert other.opened == 1 and other_folder != folder
    [(_, strict_folder)] = labeled_clips(clip_dir, first.labeler, LabelConfig(min_score=0.95), cache=cache)
    assert first.opened == 2 and strict_folder != folder

    (clip_dir / "walk" / "init.txt").write_text("11,20,20,20\n")
    labeled_clips(clip_dir, first.labeler, cache=cache)
    assert first.opened == 3


def test_pseudo_labelled_sequences_mark_rejected_frames_absent(clip_dir, tmp_path) -> None:
    sequences, key = pseudo_labeled(clip_dir, Counting({}).labeler, LabelConfig(fb_window=5), cache=tmp_path)
    [seq] = sequences
    assert len(seq) == FRAMES and seq.visible[:11].all() and not seq.visible[11:16].any()
    assert np.isnan(seq.boxes[12]).all() and len(key) == 64
    np.testing.assert_array_equal(seq.frame(4), clip_frame(4)[:, :, ::-1])


def test_export_writes_a_sequence_folder_eval_reads(clip_dir, tmp_path) -> None:
    from edgetrack.data.datasets import load_dataset

    out = tmp_path / "labels"
    [summary] = export_labels(clip_dir, Counting({}).labeler, out, LabelConfig(fb_window=5))
    assert summary == {"clip": "walk", "frames": FRAMES, "kept": 16, "mean_score": pytest.approx(0.9),
                       "mean_fb_iou": pytest.approx(15 / 20)}
    [seq] = list(load_dataset("folder", out, None))
    assert seq.name == "walk" and int(seq.visible.sum()) == 16
    assert (out / "walk" / "confidence.txt").read_text().splitlines()[0] == "score,fb_iou,kept"
    export_labels(clip_dir, Counting({}).labeler, out, LabelConfig(fb_window=5))  # its own folder: replaced


def test_export_never_replaces_a_folder_it_did_not_write(clip_dir, tmp_path) -> None:
    mine = tmp_path / "labels" / "walk"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match=r"walk holds files edgetrack did not write \(notes.txt\)"):
        export_labels(clip_dir, Counting({}).labeler, tmp_path / "labels")
    assert (mine / "notes.txt").read_text() == "mine"


def test_a_model_in_memory_labels_with_its_own_tracking_loop(micro_model) -> None:
    from edgetrack.data.pseudo_labels import labeler_for_model
    from edgetrack.models import create_model
    from edgetrack.runtime.online_tracker import OnlineTemplateTracker
    from edgetrack.runtime.tracker import Tracker

    labeler = labeler_for_model("teacher micro", micro_model, "ab" * 32)
    assert labeler.identity == {"kind": "model", "family": micro_model.cfg.family, "weights": "ab" * 32,
                                "device": "cpu"}
    assert type(labeler.open()) is Tracker
    mixformer = labeler_for_model("teacher mf", create_model("mixformerv2_s"), "cd" * 32)
    assert isinstance(mixformer.open(), OnlineTemplateTracker)  # the online template, as it tracks
