"""The eval table says how many sequences each AUC averages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from edgetrack.eval.metrics import aggregate, ope_metrics
from edgetrack.eval.report import metrics_table


def _overall(num_sequences: int, shift: float = 2.0, protocol: str = "lasot") -> dict[str, Any]:
    """aggregate() over `num_sequences` short sequences whose predictions are off by `shift` pixels."""
    gt = np.tile([10.0, 10.0, 20.0, 20.0], (8, 1))
    pred = gt + [shift, 0.0, 0.0, 0.0]
    return aggregate([ope_metrics(pred, gt, protocol=protocol) for _ in range(num_sequences)])


def _render(results: dict[str, dict[str, Any]], title: str = "synthetic-test") -> str:
    console = Console(record=True, width=200)
    console.print(metrics_table(results, title))
    return console.export_text()


def test_auc_header_carries_the_shared_sequence_count() -> None:
    text = _render({"teacher": _overall(50), "student": _overall(50, shift=4.0)})
    assert "AUC (50 seq)" in text and "seqs" not in text
    header = next(line for line in text.splitlines() if "tracker" in line)
    assert header.index("AUC (50 seq)") < header.index("OP50")


def test_rows_with_different_counts_each_show_theirs() -> None:
    text = _render({"full": _overall(50), "partial": _overall(12)})
    assert "AUC (" not in text and "seqs" in text
    rows = {line.split()[1]: line for line in text.splitlines() if line.split()[1:2] in (["full"], ["partial"])}
    assert rows["full"].split()[-2] == "50" and rows["partial"].split()[-2] == "12"


def test_a_result_without_a_count_is_not_labelled_with_another_ones() -> None:
    legacy = {k: v for k, v in _overall(50).items() if k != "num_sequences"}  # a metrics.json from before the count
    text = _render({"old": legacy, "new": _overall(50)})
    assert "AUC (50 seq)" not in text and "seqs" in text
    old_row = next(line for line in text.splitlines() if " old " in line)
    assert old_row.split()[-2] == "-"


def test_got10k_table_keeps_its_columns_and_the_count() -> None:
    text = _render({"a": _overall(3, protocol="got10k")}, "got10k-val")
    assert "AUC (3 seq)" in text and "SR0.75" in text and "protocol: got10k" in text


def test_eval_cli_prints_the_labelled_table(tmp_path, monkeypatch) -> None:
    """`edgetrack eval`'s own printing path, with the tracking replaced by a fixed report."""
    from edgetrack.cli import eval as eval_cli
    from edgetrack.cli.app import run

    console = Console(record=True, width=200)
    monkeypatch.setattr(eval_cli, "out", console)

    def evaluate(model: str, bench: Any, folder: Path, *rest: Any) -> dict[str, Any]:
        folder.mkdir(parents=True)  # as the real one leaves its results there
        return {"overall": _overall(50)}

    monkeypatch.setattr(eval_cli, "evaluate_model", evaluate)
    assert run(["eval", "--model", "opencv:mosse", "--out", str(tmp_path / "e")]) == 0
    text = console.export_text()
    assert "AUC (50 seq)" in text and "opencv-mosse" in text and "metrics.json" in text
