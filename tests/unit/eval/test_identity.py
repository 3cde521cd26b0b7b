from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.eval import run as eval_run
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.identity import IDENTITY_FILE, claim_results, model_label, tracker_identity
from edgetrack.eval.results import read_result, write_result
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.tracker import Tracker

SEQS = [synthetic_sequence(7100 + i, length=10, size=(96, 128)) for i in range(2)]


@pytest.fixture
def small_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: SEQS)


def _boxes_of(model: TrackerModel) -> dict[str, np.ndarray]:
    tracker = Tracker.from_model(model)
    return {s.name: np.trunc(eval_run.track_sequence(tracker, s)[0]) for s in SEQS}


def test_retraining_into_the_same_folder_scores_the_new_weights(tmp_path, small_benchmark, micro_model,
                                                                capsys) -> None:
    folder = tmp_path / "run" / "student"
    bench = BENCHMARKS.get("synthetic-test")
    results = tmp_path / "results"
    save_model(micro_model, folder)
    eval_run.run_benchmark(str(folder), bench, results)
    old = {s.name: read_result(results, s.name) for s in SEQS}

    torch.manual_seed(5)
    retrained = TrackerModel(micro_model.cfg).eval()  # other weights, same folder
    save_model(retrained, folder)
    notices: list[str] = []
    eval_run.run_benchmark(str(folder), bench, results, notice=notices.append)
    new = {s.name: read_result(results, s.name) for s in SEQS}
    expected = _boxes_of(retrained)
    for s in SEQS:
        np.testing.assert_array_equal(new[s.name], expected[s.name])
    assert any(not np.array_equal(old[s.name], new[s.name]) for s in SEQS)
    assert len(notices) == 1 and "results of 2 sequences" in notices[0] and "discarding" in notices[0]


def test_unchanged_tracker_keeps_its_results(tmp_path, small_benchmark, micro_model, monkeypatch) -> None:
    folder = save_model(micro_model, tmp_path / "m")
    bench = BENCHMARKS.get("synthetic-test")
    eval_run.run_benchmark(str(folder), bench, tmp_path / "r")
    tracked: list[str] = []
    monkeypatch.setattr(eval_run, "track_sequence", lambda t, s: tracked.append(s.name))
    notices: list[str] = []
    eval_run.run_benchmark(str(folder), bench, tmp_path / "r", notice=notices.append)
    assert tracked == [] and notices == []


def test_results_without_a_record_are_discarded(tmp_path) -> None:
    write_result(tmp_path, "seq", np.ones((3, 4)))
    notices: list[str] = []
    assert claim_results(tmp_path, {"kind": "preset", "name": "x"}, notices.append) == 1
    assert not (tmp_path / "seq.txt").exists()
    assert "no record of their tracker" in notices[0]
    assert json.loads((tmp_path / IDENTITY_FILE).read_text()) == {"kind": "preset", "name": "x"}


def test_identity_names_what_changed(tmp_path) -> None:
    claim_results(tmp_path, {"kind": "artifact", "files": {"model.safetensors": "aa"}, "device": "cpu"})
    write_result(tmp_path, "seq", np.ones((3, 4)))
    notices: list[str] = []
    claim_results(tmp_path, {"kind": "artifact", "files": {"model.safetensors": "bb"}, "device": "cpu"},
                  notices.append)
    assert "changed: files" in notices[0]


def test_same_named_folders_in_different_places_get_different_labels(tmp_path, micro_model) -> None:
    a = save_model(micro_model, tmp_path / "a" / "x" / "student")
    b = save_model(micro_model, tmp_path / "b" / "x" / "student")
    assert model_label(str(a)) != model_label(str(b))
    assert model_label(str(a)).startswith("x-student-")
    assert model_label("tiny") == "tiny"
    assert tracker_identity(str(a))["files"]["model.safetensors"] == tracker_identity(str(b))["files"][
        "model.safetensors"]


def test_eval_cli_reports_ms_per_frame(tmp_path, small_benchmark, micro_model) -> None:
    folder = save_model(micro_model, tmp_path / "m")
    assert run(["eval", "--model", str(folder), "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "synthetic-test" / "metrics.json").read_text())
    (label,) = report["results"]
    assert report["results"][label]["ms_per_frame"] > 0


#: every file of an artifact folder that decides the boxes it tracks (written out here, not read from the code,
#: so that a name dropped from `ARTIFACT_FILES` fails)
DECIDING_FILES = ("model.safetensors", "config.json", "model.onnx", "model.fp32.onnx", "io_spec.json", "model.engine",
                  "engine.json", "template_encoder.onnx", "search_step.onnx", "mixformerv2_spec.json",
                  "template_encoder/model.engine", "template_encoder/engine.json", "search_step/model.engine",
                  "search_step/engine.json")


def _artifact_folder(root, names=DECIDING_FILES):
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(f"original {name}".encode())
    return root


@pytest.mark.parametrize("name", DECIDING_FILES)
def test_each_deciding_file_is_part_of_the_identity(tmp_path, name: str) -> None:
    folder = _artifact_folder(tmp_path / "artifact")
    before = tracker_identity(str(folder))
    assert before["files"][name] == hashlib.sha256(f"original {name}".encode()).hexdigest()
    (folder / name).write_bytes(b"rebuilt")
    assert tracker_identity(str(folder))["files"][name] == hashlib.sha256(b"rebuilt").hexdigest()


def test_an_export_folder_is_keyed_by_its_onnx_graph(tmp_path) -> None:
    """An export holds no weights file: replacing model.onnx alone must change the identity, and discard results."""
    folder = _artifact_folder(tmp_path / "export", ("model.onnx", "io_spec.json", "manifest.json"))
    results = tmp_path / "results"
    claim_results(results, tracker_identity(str(folder)))
    write_result(results, "seq", np.ones((3, 4)))
    (folder / "model.onnx").write_bytes(b"another graph")
    assert claim_results(results, tracker_identity(str(folder))) == 1
    assert not (results / "seq.txt").exists()
    assert set(tracker_identity(str(folder))["files"]) == {"model.onnx", "io_spec.json"}  # manifest: no say


@pytest.mark.parametrize("kind", ["artifact", "preset"])
def test_the_device_is_part_of_the_identity(tmp_path, kind: str) -> None:
    """Boxes tracked on a GPU differ from the CPU's by rounding: results of one device are not reused on another."""
    model = str(_artifact_folder(tmp_path / "m", ("model.onnx",))) if kind == "artifact" else "tiny"
    cpu, gpu = tracker_identity(model, "cpu"), tracker_identity(model, "cuda:0")
    assert (cpu["kind"], cpu["device"], gpu["device"]) == (kind, "cpu", "cuda:0")
    results = tmp_path / "results"
    claim_results(results, cpu)
    write_result(results, "seq", np.ones((3, 4)))
    notices: list[str] = []
    assert claim_results(results, gpu, notices.append) == 1
    assert "changed: device" in notices[0]


def test_an_edited_first_box_is_tracked_again_a_later_box_is_not(tmp_path, monkeypatch) -> None:
    """Boxes depend on the first box (the tracker starts there), not on later ground truth (scored afresh)."""
    import dataclasses

    bench, results = BENCHMARKS.get("synthetic-test"), tmp_path / "results"
    sequences = list(SEQS)
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda b, root: sequences)
    eval_run.run_benchmark("opencv:kcf", bench, results)
    tracked: list[str] = []
    real_track = eval_run.track_sequence
    monkeypatch.setattr(eval_run, "track_sequence", lambda t, s: tracked.append(s.name) or real_track(t, s))
    first, later = SEQS[0].boxes.copy(), SEQS[1].boxes.copy()
    first[0, 0] += 2.0
    later[-1, 0] += 2.0
    sequences[:] = [dataclasses.replace(SEQS[0], boxes=first), dataclasses.replace(SEQS[1], boxes=later)]
    eval_run.run_benchmark("opencv:kcf", bench, results)
    assert tracked == [SEQS[0].name]
    assert read_result(results, SEQS[0].name)[0, 0] == np.trunc(first[0, 0])  # the edited box (stored in whole px)
