"""A re-run never trusts an output that changed: pipeline stages re-check their files, results their sequences."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import edgetrack.eval.run as eval_run
from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.pipeline.stages import STAGE_RECORD, changed_outputs, output_inventory
from tests.integration.test_pipeline import micro_pipeline

pytest.importorskip("onnxruntime")


def test_changed_outputs_checks_times_then_hashes(tmp_path) -> None:
    (tmp_path / "a.bin").write_bytes(b"12345")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("x")
    inventory = output_inventory(tmp_path)
    assert changed_outputs(tmp_path, inventory) == []
    os.utime(tmp_path / "a.bin", ns=(1, 1))  # touched, same bytes: the hash clears it
    assert changed_outputs(tmp_path, inventory) == []
    (tmp_path / "a.bin").write_bytes(b"54321")  # same size, other bytes
    (tmp_path / "sub" / "b.txt").unlink()
    assert changed_outputs(tmp_path, inventory) == ["a.bin", "sub/b.txt (missing)"]


@pytest.mark.slow
def test_a_pipeline_re_runs_a_stage_whose_output_was_damaged(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [synthetic_sequence(900, 12)])
    file = micro_pipeline(tmp_path)
    assert run(["pipeline", "run", file, "--set", "bench=null"]) == 0
    out = tmp_path / "run"
    onnx = out / "build" / "model.onnx"
    good = onnx.read_bytes()
    onnx.write_bytes(good[: len(good) // 2])  # truncated
    capsys.readouterr()
    assert run(["pipeline", "run", file, "--set", "bench=null"]) == 0
    lines = capsys.readouterr().out
    assert "build: its outputs changed since it ran (model.onnx)" in lines
    assert "compress: reused" in lines and "export: reused" in lines
    assert onnx.read_bytes() == good  # rebuilt from the same export: the same optimised graph
    record = json.loads((out / "build" / STAGE_RECORD).read_text())
    assert record["files"]["model.onnx"][0] == len(good)


def test_a_folder_benchmark_re_tracks_a_sequence_whose_first_box_was_edited(tmp_path, capsys) -> None:
    import cv2

    root = tmp_path / "seqs"
    seq = synthetic_sequence(3, 6)
    for name in ("a", "b"):
        (root / name / "img").mkdir(parents=True)
        for i in range(len(seq)):
            cv2.imwrite(str(root / name / "img" / f"{i:08d}.jpg"), cv2.cvtColor(seq.frame(i), cv2.COLOR_RGB2BGR))
        np.savetxt(root / name / "groundtruth.txt", seq.boxes, fmt="%.2f", delimiter=",")
    argv = ["eval", "-m", "tiny", "-b", "folder", "--data-root", str(root), "--out", str(tmp_path / "e")]
    assert run(argv) == 0
    [results] = list((tmp_path / "e").glob("folder-*/tiny/results"))
    before = {n: (results / f"{n}.txt").read_text() for n in "ab"}
    stamp = {n: (results / f"{n}.txt").stat().st_mtime_ns for n in "ab"}
    boxes = seq.boxes.copy()
    boxes[0, :2] += 6.0  # the first box moved: what the tracker starts from
    np.savetxt(root / "a" / "groundtruth.txt", boxes, fmt="%.2f", delimiter=",")
    assert run(argv) == 0
    assert (results / "b.txt").stat().st_mtime_ns == stamp["b"]  # untouched sequence: reused
    after = (results / "a.txt").read_text()
    assert after != before["a"] and after.splitlines()[0].startswith(f"{boxes[0, 0]:.0f}")
