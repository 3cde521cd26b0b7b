"""A MixFormerV2 model folder through `run_export` (split graphs), `Tracker.from_artifact` and the eval runner."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import edgetrack.eval.run as eval_run
from edgetrack.artifacts import read_manifest
from edgetrack.calibration.run import run_calibrate
from edgetrack.cli.app import run
from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.deploy.run import run_build
from edgetrack.errors import ArtifactError, ConfigError
from edgetrack.eval.identity import tracker_identity
from edgetrack.eval.run import load_tracker, track_sequence
from edgetrack.export.mixformerv2 import ENCODER, STEP
from edgetrack.export.run import run_export
from edgetrack.export.split_variants import step_calibration
from edgetrack.models.factory import build_model, save_model
from edgetrack.pipeline.stages import STAGE_RECORD
from edgetrack.runtime.online_tracker import OnlineTemplateTracker
from tests.integration.test_pipeline import micro_pipeline
from tests.unit.models.test_mixformerv2 import MICRO_MIX

pytest.importorskip("onnxruntime")


@pytest.fixture()
def model_dir(tmp_path):
    torch.manual_seed(0)
    return save_model(build_model(MICRO_MIX).eval(), tmp_path / "model")


def test_export_stage_writes_the_split_and_eval_tracks_it_like_torch(tmp_path, model_dir) -> None:
    export = run_export(str(model_dir), tmp_path / "export")
    assert (export / ENCODER).is_file() and (export / STEP).is_file()
    onnx_tracker, torch_tracker = load_tracker(str(export)), load_tracker(str(model_dir))
    assert isinstance(onnx_tracker, OnlineTemplateTracker) and isinstance(torch_tracker, OnlineTemplateTracker)
    seq = synthetic_sequence(11, length=8)
    theirs, _ = track_sequence(onnx_tracker, seq)
    ours, _ = track_sequence(torch_tracker, seq)
    np.testing.assert_allclose(theirs, ours, atol=1e-2)


def test_split_exports_fp16_and_int8_calibrated_per_graph(tmp_path, model_dir) -> None:
    with pytest.warns(UserWarning, match="calibration samples is few"):
        calib = run_calibrate(str(model_dir), "synthetic-train", None, 16, 0, tmp_path / "calib.npz")
    assert calib.arrays["online_template"].shape == calib.arrays["template"].shape  # the encoder's second input
    export = run_export(str(model_dir), tmp_path / "export", precisions=["fp32", "fp16", "int8"],
                        calib_path=tmp_path / "calib.npz", accuracy_sequences=1)
    manifest = read_manifest(export)
    for p in ("fp16", "int8"):
        assert (export / f"template_encoder.{p}.onnx").is_file() and (export / f"search_step.{p}.onnx").is_file()
        assert f"search_step.{p}.onnx" in manifest["files"]
    parity = manifest["metrics"]["parity_vs_fp32"]
    assert set(parity["fp16"]) == {"memory", "side_logits", "score_logit"}
    # fp16 rounds (~1e-3 relative); INT8 quantises and is further off, but still the same network
    assert parity["fp16"]["side_logits"] < 0.05
    assert 0 < parity["int8"]["side_logits"] < 2.0
    assert set(manifest["metrics"]["auc"]) == {"fp32", "fp16", "int8"}
    step = step_calibration(export, calib)
    assert step.arrays["memory"].shape[0] == len(calib)  # batch-first memory: one row per sample
    seq = synthetic_sequence(11, length=6)
    fp16 = OnlineTemplateTracker.from_onnx(export, precision="fp16")
    np.testing.assert_allclose(track_sequence(fp16, seq)[0], track_sequence(load_tracker(str(export)), seq)[0],
                               atol=0.5)


def test_int8_split_export_needs_a_calibration_set(tmp_path, model_dir) -> None:
    with pytest.raises(ConfigError, match="int8 needs a calibration set"):
        run_export(str(model_dir), tmp_path / "export", precisions=["fp32", "int8"])
    with pytest.raises(ArtifactError, match="no int8 graphs"):
        OnlineTemplateTracker.from_onnx(run_export(str(model_dir), tmp_path / "fp32"), precision="int8")


def test_cpu_build_of_the_split_keeps_both_graphs_and_tracks_like_the_export(tmp_path, model_dir) -> None:
    export = run_export(str(model_dir), tmp_path / "export")
    build = run_build(export, "cpu", out=tmp_path / "build")
    assert (build / ENCODER).is_file() and (build / STEP).is_file()
    manifest = read_manifest(build)
    assert manifest["config"]["precision"] == "fp32" and manifest["config"]["threads"] in (0, 1)
    tracker = load_tracker(str(build))
    assert isinstance(tracker, OnlineTemplateTracker)
    seq = synthetic_sequence(11, length=6)
    np.testing.assert_allclose(track_sequence(tracker, seq)[0], track_sequence(load_tracker(str(export)), seq)[0],
                               atol=1e-2)
    with pytest.raises(ArtifactError, match="no int8 model"):
        run_build(export, "cpu", precision="int8", out=tmp_path / "build8")


def test_re_exporting_other_weights_changes_the_eval_identity(tmp_path, model_dir) -> None:
    export = run_export(str(model_dir), tmp_path / "export")
    before = tracker_identity(str(export))
    assert {"template_encoder.onnx", "search_step.onnx", "mixformerv2_spec.json"} <= set(before["files"])
    torch.manual_seed(1)
    other = save_model(build_model(MICRO_MIX).eval(), tmp_path / "other")
    run_export(str(other), tmp_path / "export")  # same folder, new weights: old boxes must not be reused
    assert tracker_identity(str(export))["files"]["search_step.onnx"] != before["files"]["search_step.onnx"]


@pytest.mark.slow
def test_pipeline_compresses_exports_quantises_builds_and_evaluates_the_family(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(eval_run, "benchmark_sequences", lambda bench, root: [synthetic_sequence(900 + i, 10)
                                                                             for i in range(2)])
    torch.manual_seed(0)
    teacher = save_model(build_model(build_config(ModelConfig, {**MICRO_MIX.to_dict(), "depth": 4})).eval(),
                         tmp_path / "teacher")
    file = micro_pipeline(tmp_path, teacher, "  block: narrow-mlp\n  mlp_ratio: 1.0\n")
    assert run(["pipeline", "run", file]) == 0
    out = tmp_path / "run"
    assert {p.name for p in (out / "export").glob("*.onnx")} >= {"template_encoder.int8.onnx", "search_step.onnx"}
    assert (out / "build" / "search_step.onnx").is_file()
    assert json.loads((out / "build" / STAGE_RECORD).read_text())["outputs"]["runnable"]  # deployed = the build
    record = json.loads((out / "eval" / STAGE_RECORD).read_text())
    assert set(record["outputs"]["overall"]) == {"teacher", "student", "deployed"}
    assert "## Latency" in (out / "report.md").read_text()
