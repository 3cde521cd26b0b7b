from __future__ import annotations

import numpy as np
import pytest

from edgetrack.artifacts import read_manifest
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.deploy.cpu import build_cpu, choose_precision
from edgetrack.errors import ArtifactError, ConfigError
from edgetrack.export.run import run_export
from edgetrack.runtime.tracker import Tracker

pytest.importorskip("onnxruntime")


def test_auto_applies_the_margin_rule_and_records_the_decision(tmp_path, export_dir) -> None:
    out = build_cpu(export_dir, tmp_path / "cpu")
    manifest = read_manifest(out)
    timings = manifest["metrics"]["median_ms"]
    assert set(timings) == {"fp32", "int8"} and all(t > 0 for t in timings.values())
    assert manifest["config"]["precision"] == choose_precision(timings)[0]
    decision = manifest["decision"]
    assert decision["precision"] == manifest["config"]["precision"] and "%" in decision["reason"]
    assert set(decision["inputs"]["files"]) == {"fp32", "int8"}
    assert manifest["stage"] == "build" and (out / "io_spec.json").is_file()


def test_int8_must_be_clearly_faster() -> None:
    assert choose_precision({"fp32": 12.83, "int8": 12.56})[0] == "fp32"  # 2%: noise
    assert choose_precision({"fp32": 10.0, "int8": 9.1})[0] == "fp32"
    assert choose_precision({"fp32": 10.0, "int8": 8.9})[0] == "int8"
    assert choose_precision({"fp32": 10.0})[0] == "fp32"


def test_a_rebuild_of_the_same_inputs_keeps_the_decision(tmp_path, export_dir, monkeypatch) -> None:
    from edgetrack.deploy import cpu

    optimise = cpu.optimise
    monkeypatch.setattr(cpu, "optimise", lambda src, dst, threads=0: (optimise(src, dst, threads), dst.name))
    monkeypatch.setattr(cpu, "median_ms", lambda session, feeds: 1.0 if session[1].startswith("int8") else 2.0)
    out = cpu.build_cpu(export_dir, tmp_path / "b")
    assert read_manifest(out)["config"]["precision"] == "int8"
    # the clock now says the opposite: the same inputs keep the recorded decision
    monkeypatch.setattr(cpu, "median_ms", lambda session, feeds: 3.0 if session[1].startswith("int8") else 2.0)
    again = read_manifest(cpu.build_cpu(export_dir, out))
    assert again["config"]["precision"] == "int8" and "kept from the earlier build" in again["decision"]["reason"]
    assert read_manifest(cpu.build_cpu(export_dir, tmp_path / "c"))["config"]["precision"] == "fp32"  # fresh
    forced = read_manifest(cpu.build_cpu(export_dir, out, precision="fp32"))  # --precision decides
    assert forced["config"]["precision"] == "fp32"


def test_fp32_build_tracks_like_the_export(tmp_path, export_dir) -> None:
    out = build_cpu(export_dir, tmp_path / "cpu", precision="fp32")
    seq = synthetic_sequence(3, 6)
    built, exported = Tracker.from_artifact(out), Tracker.from_artifact(export_dir)
    assert built.backend.name == "onnxruntime"
    for t in (built, exported):
        t.initialize(seq.frame(0), seq.boxes[0])
    for i in range(1, 6):
        np.testing.assert_allclose(built.track(seq.frame(i)).box, exported.track(seq.frame(i)).box, atol=1e-3)


def test_bad_requests_are_refused_clearly(tmp_path, export_dir) -> None:
    with pytest.raises(ConfigError, match="cpu target builds fp32 or int8, not 'fp16'"):
        build_cpu(export_dir, tmp_path / "a", precision="fp16")
    with pytest.raises(ArtifactError, match="not an export folder"):
        build_cpu(tmp_path, tmp_path / "b")
    fp32_only = run_export(str(export_dir.parent / "m"), tmp_path / "fp32")
    with pytest.raises(ArtifactError, match=r"no int8 model.*--calib"):
        build_cpu(fp32_only, tmp_path / "c", precision="int8")


def test_build_records_the_faster_thread_count_and_the_runtime_uses_it(tmp_path, export_dir, monkeypatch) -> None:
    from edgetrack.deploy import cpu
    from edgetrack.runtime.artifact import open_backend

    # one thread made the faster by the clock: the build keeps it, the runtime opens the session with it
    monkeypatch.setattr(cpu, "median_ms", lambda session, feeds: 1.0 if session.get_session_options()
                        .intra_op_num_threads == 1 else 2.0)
    folder = cpu.build_cpu(export_dir, tmp_path / "b", precision="fp32")
    assert read_manifest(folder)["config"]["threads"] == 1
    backend, _ = open_backend(folder, "onnxruntime")
    assert backend.session.get_session_options().intra_op_num_threads == 1
    fixed = cpu.build_cpu(export_dir, tmp_path / "c", precision="fp32", threads=2)
    assert read_manifest(fixed)["config"]["threads"] == 2


def test_a_faster_int8_that_lost_accuracy_is_not_deployed(tmp_path, export_dir, monkeypatch) -> None:
    import json
    import shutil

    from edgetrack.deploy import cpu

    export = tmp_path / "export"
    shutil.copytree(export_dir, export)
    manifest = json.loads((export / "manifest.json").read_text())
    manifest["metrics"]["auc"] = {"fp32": 60.0, "int8": 59.0}  # 1.0 below fp32: more than MAX_AUC_DROP
    (export / "manifest.json").write_text(json.dumps(manifest))
    optimise = cpu.optimise  # the clock, made to say INT8 is the faster
    monkeypatch.setattr(cpu, "optimise", lambda src, dst, threads=0: (optimise(src, dst, threads), dst.name))
    monkeypatch.setattr(cpu, "median_ms", lambda session, feeds: 1.0 if session[1].startswith("int8") else 2.0)
    assert read_manifest(cpu.build_cpu(export, tmp_path / "b"))["config"]["precision"] == "fp32"
    manifest["metrics"]["auc"] = {"fp32": 60.0, "int8": 59.8}
    (export / "manifest.json").write_text(json.dumps(manifest))
    assert read_manifest(cpu.build_cpu(export, tmp_path / "c"))["config"]["precision"] == "int8"
