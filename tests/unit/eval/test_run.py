from __future__ import annotations

import json

import numpy as np
import pytest

from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.eval import run as eval_run
from edgetrack.eval.benchmarks import BENCHMARKS
from edgetrack.eval.results import read_result
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel

SEQS = [synthetic_sequence(7000 + i, length=12, size=(96, 128)) for i in range(3)]


@pytest.fixture
def small_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: SEQS)


@pytest.fixture
def model_dir(tmp_path, micro_model: TrackerModel):
    return save_model(micro_model, tmp_path / "micro")


def test_run_resumes_only_missing_or_truncated(tmp_path, small_benchmark, model_dir, monkeypatch) -> None:
    results = tmp_path / "results"
    bench = BENCHMARKS.get("synthetic-test")
    eval_run.run_benchmark(str(model_dir), bench, results)
    first = {s.name: read_result(results, s.name) for s in SEQS}
    assert all(len(first[s.name]) == len(s) for s in SEQS)
    np.testing.assert_array_equal(first[SEQS[0].name][0], np.trunc(SEQS[0].boxes[0]))

    (results / f"{SEQS[1].name}.txt").unlink()  # killed before this sequence finished
    lines = (results / f"{SEQS[2].name}.txt").read_text().splitlines()[:5]
    (results / f"{SEQS[2].name}.txt").write_text("\n".join(lines) + "\n")  # torn file from an older run
    tracked = []
    original = eval_run.track_sequence
    monkeypatch.setattr(eval_run, "track_sequence", lambda t, s: tracked.append(s.name) or original(t, s))
    eval_run.run_benchmark(str(model_dir), bench, results)
    assert sorted(tracked) == sorted([SEQS[1].name, SEQS[2].name])
    for s in SEQS:  # deterministic tracker: the re-tracked results equal the first run's
        np.testing.assert_array_equal(read_result(results, s.name), first[s.name])


def test_evaluate_results_averages_sequences_from_their_result_files(tmp_path) -> None:
    from edgetrack.data.sequence import Sequence
    from edgetrack.eval.metrics import ope_metrics
    from edgetrack.eval.results import write_result

    boxes = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [14, 10, 20, 20]], dtype=np.float64)
    seqs = [Sequence(f"s{i}", np.zeros((3, 64, 64, 3), np.uint8), boxes, attributes={"distractors": i == 0})
            for i in range(2)]
    write_result(tmp_path, "s0", boxes)  # perfect
    write_result(tmp_path, "s1", boxes + np.array([40, 40, 0, 0]))  # never overlaps after the given first box
    report = eval_run.evaluate_results(tmp_path, seqs, "lasot")
    perfect = ope_metrics(boxes, boxes)["auc"]
    assert perfect > 95
    # frame 0 is the given box in one-pass evaluation, so s1 scores one perfect frame of three
    assert report["sequences"]["s1"]["auc"] == pytest.approx(perfect / 3)
    assert report["overall"]["num_sequences"] == 2
    assert report["overall"]["auc"] == pytest.approx((perfect + perfect / 3) / 2)  # averaged over sequences
    assert report["attributes"] == {"distractors": {"num_sequences": 1, "auc": perfect,
                                                    "precision": report["sequences"]["s0"]["precision"]}}


def test_eval_cli_writes_report_and_plots(tmp_path, small_benchmark, model_dir, capsys) -> None:
    code = run(["eval", "--model", str(model_dir), "--benchmark", "synthetic-test", "--out", str(tmp_path)])
    assert code == 0
    folder = tmp_path / "synthetic-test"
    report = json.loads((folder / "metrics.json").read_text())
    assert report["protocol"] == "lasot" and len(report["results"]) == 1
    assert (folder / "success.png").is_file() and (folder / "precision.png").is_file()
    assert "AUC" in capsys.readouterr().out


def test_eval_cli_unknown_benchmark(capsys) -> None:
    assert run(["eval", "--model", "tiny", "--benchmark", "lasott"]) == 2
    assert "Did you mean 'lasot'" in capsys.readouterr().err


def test_real_benchmark_without_root_is_refused(capsys) -> None:
    assert run(["eval", "--model", "tiny", "--benchmark", "got10k_val"]) == 2
    assert "needs --data-root" in capsys.readouterr().err
