from __future__ import annotations

import json

import pytest
import torch

import edgetrack.eval.run as eval_run
from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.pipeline.stages import STAGE_RECORD
from tests.conftest import MICRO

pytest.importorskip("onnxruntime")


def micro_pipeline(tmp_path, teacher=None, compress_extra: str = "") -> str:
    """A pipeline file running every stage on a micro teacher (`teacher`: a model folder; default a micro OSTrack)."""
    if teacher is None:
        torch.manual_seed(0)
        teacher = save_model(TrackerModel(MICRO).eval(), tmp_path / "teacher")
    text = f"""
name: micro
out: {tmp_path / "run"}
compress:
  teacher: {teacher}
  layers: 2
{compress_extra}  data: {{datasets: [synthetic-train], synthetic_sequences: 8, synthetic_length: 20}}
  train: {{epochs: 1, pairs_per_epoch: 8, batch_size: 4, workers: 0, device: cpu, tensorboard: false}}
calibrate: {{samples: 16}}
export: {{precisions: [fp32, int8], accuracy_sequences: 1}}
build: {{target: cpu}}
eval: {{workers: 1}}
bench: {{runs: 3, warmup: 1}}
"""
    path = tmp_path / "micro.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.slow
def test_pipeline_runs_every_stage_then_reuses_them(tmp_path, monkeypatch, capsys) -> None:
    # two short sequences keep evaluation quick; the stage logic is what is under test
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [synthetic_sequence(900 + i, 12)
                                                                             for i in range(2)])
    file = micro_pipeline(tmp_path)
    assert run(["pipeline", "run", file]) == 0
    out = tmp_path / "run"
    stages = ["compress", "calibrate", "export", "build", "eval", "bench"]
    records = {s: json.loads((out / s / STAGE_RECORD).read_text()) for s in stages}
    report = (out / "report.md").read_text()
    assert set(records["eval"]["outputs"]["overall"]) == {"teacher", "student", "deployed"}
    student_auc = records["eval"]["outputs"]["overall"]["student"]["auc"]
    assert f"{student_auc:.2f}" in report  # the report's numbers come from this run
    assert "## Latency" in report and "## Teacher vs student" in report
    capsys.readouterr()

    assert run(["pipeline", "run", file]) == 0
    assert capsys.readouterr().out.count("reused") == len(stages)

    assert run(["pipeline", "run", file, "--set", "bench.runs=4"]) == 0
    lines = capsys.readouterr().out
    assert lines.count("reused") == len(stages) - 1 and "bench: running" in lines


def test_unknown_pipeline_key_is_a_clear_error(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("compres: {layers: 2}\n")
    assert run(["pipeline", "run", str(bad)]) == 2
    assert "compress" in capsys.readouterr().err  # did-you-mean suggestion


@pytest.mark.slow
def test_eval_baselines_are_scored_on_the_same_frames_and_reported(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [synthetic_sequence(900, 12)])
    file = micro_pipeline(tmp_path)
    assert run(["pipeline", "run", file, "--set", "bench=null", "--set", 'eval.baselines=["opencv:csrt"]']) == 0
    record = json.loads((tmp_path / "run" / "eval" / STAGE_RECORD).read_text())
    overall = record["outputs"]["overall"]
    assert set(overall) == {"teacher", "student", "deployed", "opencv:csrt"}
    assert f"| opencv:csrt | {overall['opencv:csrt']['auc']:.2f}" in (tmp_path / "run" / "report.md").read_text()


def test_baseline_labels() -> None:
    from edgetrack.pipeline.run import baseline_models

    assert baseline_models(("opencv:vittrack=/m/v.onnx", "runs/x/student")) == {
        "opencv:vittrack": "opencv:vittrack=/m/v.onnx", "student": "runs/x/student"}
