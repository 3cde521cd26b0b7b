from __future__ import annotations

import json

from edgetrack.cli.app import run
from edgetrack.cli.bench import ratios
from edgetrack.models.factory import save_model


def test_ratios_are_against_the_first_artifact() -> None:
    rows = ratios([{"p50": 10.0, "peak_rss_mb": 200.0}, {"p50": 4.0, "peak_rss_mb": 100.0},
                   {"p50": 5.0, "peak_rss_mb": None}])
    assert [r["speedup_vs_first"] for r in rows] == [1.0, 2.5, 2.0]
    assert [r["memory_vs_first"] for r in rows] == [1.0, 0.5, None]


def test_bench_json_compares_two_artifacts(tmp_path, micro_model, capsys) -> None:
    folder = save_model(micro_model, tmp_path / "micro")
    code = run(["bench", str(folder), str(folder), "--runs", "3", "--warmup", "1", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and rows[0]["backend"] == "torch" and rows[0]["runs"] == 3
    assert rows[0]["speedup_vs_first"] == 1.0 and rows[1]["p50"] > 0 and rows[1]["infer"] > 0


def test_bench_missing_artifact_is_one_clear_error(tmp_path, capsys) -> None:
    assert run(["bench", str(tmp_path / "nope" / "model")]) == 2
    assert "artifact folder not found" in capsys.readouterr().err


def test_bench_help_explains_the_options(capsys) -> None:
    assert run(["bench", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--runs" in text and "--backend" in text and "--json" in text
