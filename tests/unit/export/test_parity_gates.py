"""The export's parity gates refuse a graph that computes something else than the torch model.

The fault is made real: the torch model is changed after its graph was written, so ONNX Runtime and torch
disagree by far more than the tolerance, as a broken exporter or op conversion would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from edgetrack.export import mixformerv2 as mix_export
from edgetrack.export import run as export_run
from edgetrack.export.run import ParityError, run_export
from edgetrack.models import save_model
from edgetrack.models.mixformerv2 import MixFormerV2Model
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO
from tests.unit.models.test_mixformerv2 import MICRO_MIX

pytest.importorskip("onnxruntime")


def _perturbed_after(export: Any) -> Any:
    """`export`, followed by a change of every weight of the torch model it exported."""

    def wrapper(model: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        result = export(model, *args, **kwargs)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05)
        return result

    return wrapper


def _refused(model_dir: Path, out: Path) -> None:
    with pytest.raises(ParityError, match=r"exported ONNX differs from the torch model by .* \(> 1e-04\)"):
        run_export(str(model_dir), out)
    assert not out.exists()  # nothing published under the final name


def test_the_one_graph_export_refuses_a_graph_that_differs(tmp_path, monkeypatch) -> None:
    torch.manual_seed(0)
    model_dir = save_model(TrackerModel(MICRO).eval(), tmp_path / "m")
    assert run_export(str(model_dir), tmp_path / "ok") == tmp_path / "ok"  # the gate passes a faithful graph
    monkeypatch.setattr(export_run, "export_onnx", _perturbed_after(export_run.export_onnx))
    _refused(model_dir, tmp_path / "out")


def test_the_split_export_of_mixformerv2_refuses_a_graph_that_differs(tmp_path, monkeypatch) -> None:
    torch.manual_seed(0)
    model_dir = save_model(MixFormerV2Model(MICRO_MIX).eval(), tmp_path / "mix")
    monkeypatch.setattr(mix_export, "export_mixformerv2", _perturbed_after(mix_export.export_mixformerv2))
    _refused(model_dir, tmp_path / "out")
