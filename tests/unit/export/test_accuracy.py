from __future__ import annotations

import pytest

from edgetrack.artifacts import read_manifest
from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_split
from edgetrack.eval.metrics import aggregate, ope_metrics
from edgetrack.eval.run import track_sequence
from edgetrack.export.accuracy import AccuracyGateError, check_gate
from edgetrack.models import create_model, save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.tracker import Tracker

pytest.importorskip("onnxruntime")


def test_gate_refuses_only_drops_beyond_the_threshold() -> None:
    check_gate({"fp32": 50.0, "int8": 49.0}, 1.0)  # exactly at the limit passes
    check_gate({"fp32": 50.0, "int8": 10.0}, None)  # no gate, no refusal
    check_gate({"fp32": 50.0, "int8": 52.0}, 0.0)  # better than fp32 is never refused
    with pytest.raises(AccuracyGateError, match=r"int8 48\.50 \(drop 1\.50\).*allowed drop of 1 points"):
        check_gate({"fp32": 50.0, "fp16": 50.0, "int8": 48.5}, 1.0)


def test_export_records_auc_per_variant_equal_to_torch_tracking(tmp_path, micro_model: TrackerModel) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    assert run(["export", str(model_dir), "--out", str(tmp_path / "x"), "--precision", "fp32,fp16",
                "--accuracy-sequences", "2"]) == 0
    metrics = read_manifest(tmp_path / "x")["metrics"]
    assert set(metrics["auc"]) == {"fp32", "fp16"} and metrics["auc_sequences"] == 2
    tracker = Tracker.from_model(create_model(model_dir))
    seqs = synthetic_split("synthetic-test")[:2]
    torch_auc = aggregate([ope_metrics(track_sequence(tracker, s)[0], s.boxes, s.visible) for s in seqs])["auc"]
    assert metrics["auc"]["fp32"] == pytest.approx(torch_auc, abs=0.5)


def test_gate_without_measurement_is_a_clear_error(tmp_path, micro_model: TrackerModel, capsys) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    assert run(["export", str(model_dir), "--out", str(tmp_path / "x"), "--accuracy-gate", "1"]) == 2
    assert "needs --accuracy-sequences" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_export_refuses_a_variant_beyond_the_gate_and_writes_nothing(tmp_path, micro_model: TrackerModel,
                                                                     monkeypatch, capsys) -> None:
    from edgetrack.export import run as export_run

    monkeypatch.setattr(export_run, "variant_accuracy", lambda folder, precisions, spec, n: {"fp32": 50.0,
                                                                                             "fp16": 44.0})
    model_dir = save_model(micro_model, tmp_path / "m")
    code = run(["export", str(model_dir), "--out", str(tmp_path / "x"), "--precision", "fp32,fp16",
                "--accuracy-sequences", "1", "--accuracy-gate", "5"])
    assert code == 2 and "fp16 44.00 (drop 6.00)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
