from __future__ import annotations

import pytest

from edgetrack.pipeline.stages import STAGE_RECORD, folder_hash, run_stage


def test_stage_runs_once_then_is_reused_until_an_input_changes(tmp_path) -> None:
    calls = []

    def body(folder):
        calls.append(folder)
        (folder / "out.txt").write_text("x")
        return "h1", {"n": len(calls)}

    first = run_stage("s", tmp_path / "s", {"a": 1}, {"p": "0"}, body, announce=lambda _: None)
    again = run_stage("s", tmp_path / "s", {"a": 1}, {"p": "0"}, body, announce=lambda _: None)
    assert len(calls) == 1 and not first.reused and again.reused
    assert again.hash == "h1" and again.outputs == {"n": 1}
    run_stage("s", tmp_path / "s", {"a": 2}, {"p": "0"}, body, announce=lambda _: None)  # config changed
    run_stage("s", tmp_path / "s", {"a": 2}, {"p": "1"}, body, announce=lambda _: None)  # a parent changed
    assert len(calls) == 3


def test_an_interrupted_stage_leaves_no_record_and_runs_again(tmp_path) -> None:
    def broken(folder):
        (folder / "half.txt").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stage("s", tmp_path / "s", {}, {}, broken, announce=lambda _: None)
    assert not (tmp_path / "s" / STAGE_RECORD).exists()
    result = run_stage("s", tmp_path / "s", {}, {}, lambda f: ("h", {}), announce=lambda _: None)
    assert not result.reused


def test_folder_hash_follows_content_not_manifests(tmp_path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"abc")
    (tmp_path / "manifest.json").write_text('{"created": "today"}')
    h = folder_hash(tmp_path)
    (tmp_path / "manifest.json").write_text('{"created": "tomorrow"}')
    assert folder_hash(tmp_path) == h
    (tmp_path / "model.onnx").write_bytes(b"abd")
    assert folder_hash(tmp_path) != h
    assert folder_hash(tmp_path, "*.onnx") != folder_hash(tmp_path, "*.txt")
