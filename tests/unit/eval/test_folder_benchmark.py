"""`edgetrack eval --benchmark folder --data-root DIR`: one's own sequences, with results kept per root."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgetrack.cli.app import run
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.identity import benchmark_label
from edgetrack.eval.results import read_result
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel

FOLDER = BENCHMARKS.get("folder")


def _write_sequence(root: Path, name: str, start: tuple[int, int], frames: int = 5) -> None:
    """A bright 12x12 square drifting right by 2 px a frame over a dark 48x64 background."""
    lines = []
    for k in range(frames):
        x, y = start[0] + 2 * k, start[1]
        image = np.full((48, 64, 3), 30, np.uint8)
        image[y:y + 12, x:x + 12] = (40, 200, 240)
        path = root / name / "img" / f"{k + 1:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), image)
        lines.append(f"{x},{y},12,12\n")
    (root / name / "groundtruth.txt").write_text("".join(lines))


def _groundtruth(root: Path, name: str) -> list[list[float]]:
    return [[float(v) for v in line.split(",")] for line in (root / name / "groundtruth.txt").read_text().split()]


def _iou(a: list[float], b: list[float]) -> float:
    """Pixel-inclusive IoU of two x, y, w, h boxes: a box covers pixels x .. x + w - 1."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _auc_by_hand(pred, gt: list[list[float]]) -> float:
    """LaSOT's success AUC: percent of frames with IoU above t, averaged over t = 0, 0.05, ..., 1; the first box
    is the given one."""
    ious = [1.0] + [_iou([float(v) for v in p], g) for p, g in zip(pred[1:], gt[1:], strict=True)]
    return sum(100.0 * sum(iou > k / 20 for iou in ious) / len(ious) for k in range(21)) / 21


@pytest.fixture
def model_dir(tmp_path: Path, micro_model: TrackerModel) -> Path:
    return save_model(micro_model, tmp_path / "micro")


def _eval(model: Path, root: Path, out: Path, *extra: str) -> int:
    return run(["eval", "--model", str(model), "--benchmark", "folder", "--data-root", str(root), "--out", str(out),
                *extra])


def test_roots_get_their_own_results_folder_however_they_are_spelled(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a" / "clips").mkdir(parents=True)
    (tmp_path / "b" / "clips").mkdir(parents=True)
    first, second = benchmark_label(FOLDER, tmp_path / "a" / "clips"), benchmark_label(FOLDER, tmp_path / "b" / "clips")
    assert first != second and first.startswith("folder-clips-") and second.startswith("folder-clips-")
    monkeypatch.chdir(tmp_path / "a")
    assert benchmark_label(FOLDER, Path("clips")) == first  # relative and absolute spellings of one root agree
    assert benchmark_label(BENCHMARKS.get("lasot"), tmp_path / "a") == "lasot"  # fixed benchmarks keep their name


def test_eval_on_a_folder_writes_results_report_and_strip(tmp_path: Path, model_dir: Path) -> None:
    root = tmp_path / "clips"
    _write_sequence(root, "left", (4, 10))
    _write_sequence(root, "right", (30, 20))
    out = tmp_path / "out"
    assert _eval(model_dir, root, out, "--strip", "right") == 0
    bench_dir = out / benchmark_label(FOLDER, root)
    (label,) = [p.name for p in bench_dir.iterdir() if p.is_dir()]
    for name in ("left", "right"):
        assert len(read_result(bench_dir / label / "results", name)) == 5
    report = json.loads((bench_dir / "metrics.json").read_text())
    assert report["benchmark"] == "folder" and report["protocol"] == "lasot"
    by_hand = [_auc_by_hand(read_result(bench_dir / label / "results", name), _groundtruth(root, name))
               for name in ("left", "right")]
    overall = report["results"][label]
    assert overall["auc"] == pytest.approx(sum(by_hand) / 2)  # the mean over sequences of these very results
    assert (overall["num_sequences"], overall["num_frames"]) == (2, 10)
    assert (bench_dir / "strip-right.png").is_file()


def test_same_named_sequences_in_another_folder_are_tracked_not_reused(tmp_path: Path, model_dir: Path) -> None:
    _write_sequence(tmp_path / "a", "clip", (4, 10))
    _write_sequence(tmp_path / "b", "clip", (30, 20))
    out = tmp_path / "out"
    assert _eval(model_dir, tmp_path / "a", out) == 0
    assert _eval(model_dir, tmp_path / "b", out) == 0
    folders = {root: out / benchmark_label(FOLDER, tmp_path / root) for root in ("a", "b")}
    assert folders["a"] != folders["b"]
    for root, x in (("a", 4), ("b", 30)):
        (model_folder,) = [p for p in folders[root].iterdir() if p.is_dir()]
        # frame 0 of a result is the ground truth it was started from, so it tells which folder was tracked
        assert read_result(model_folder / "results", "clip")[0, 0] == x


def test_folder_benchmark_without_data_root_names_the_layout(tmp_path: Path, capsys) -> None:
    assert run(["eval", "--model", "tiny", "--benchmark", "folder", "--out", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "benchmark 'folder' needs --data-root DIR" in err and "groundtruth.txt" in err
