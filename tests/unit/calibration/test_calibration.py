from __future__ import annotations

import numpy as np
import pytest

from edgetrack.calibration.collect import collect
from edgetrack.calibration.run import run_calibrate
from edgetrack.calibration.store import CalibrationSet
from edgetrack.cli.app import run
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ArtifactError, DataError
from edgetrack.models import save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.spec import ProcessingSpec
from tests.conftest import MICRO

SPEC = ProcessingSpec.from_model_config(MICRO)


def test_collect_shapes_determinism_and_preprocessing() -> None:
    seqs = [synthetic_sequence(i, 10) for i in range(3)]
    with pytest.warns(UserWarning, match="few"):
        a = collect(seqs, SPEC, samples=6, seed=1)
    with pytest.warns(UserWarning):
        b = collect(seqs, SPEC, samples=6, seed=1)
    assert a.arrays["template"].shape == (6, 3, 32, 32) and a.arrays["search"].shape == (6, 3, 64, 64)
    assert a.fingerprint == b.fingerprint
    # normalised with ImageNet statistics: values stay within what uint8 pixels allow
    lo = (0 - np.array(SPEC.mean)) / np.array(SPEC.std)
    hi = (1 - np.array(SPEC.mean)) / np.array(SPEC.std)
    assert a.arrays["search"].min() >= lo.min() - 1e-5 and a.arrays["search"].max() <= hi.max() + 1e-5


def test_store_round_trip_and_mismatch(tmp_path) -> None:
    calib = CalibrationSet({"template": np.ones((2, 3, 32, 32), np.float32),
                            "search": np.zeros((2, 3, 64, 64), np.float32)}, {"data": "x"})
    path = calib.save(tmp_path / "c.npz")
    back = CalibrationSet.load(path)
    assert back.meta["fingerprint"] == calib.fingerprint and back.meta["samples"] == 2 and len(back) == 2
    back.check_inputs({"template": (1, 3, 32, 32), "search": (1, 3, 64, 64)})
    with pytest.raises(ArtifactError, match="made for another model"):
        back.check_inputs({"template": (1, 3, 64, 64), "search": (1, 3, 128, 128)})
    (tmp_path / "bad.npz").write_text("nope")
    with pytest.raises(ArtifactError, match="not a readable calibration set"):
        CalibrationSet.load(tmp_path / "bad.npz")


def test_evaluation_split_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="evaluation split"):
        run_calibrate("tiny", "synthetic:synthetic-test", None, 8, 0, tmp_path / "c.npz")
    with pytest.raises(DataError, match="evaluation split"):
        run_calibrate("tiny", "got10k:val", "/nowhere", 8, 0, tmp_path / "c.npz")


@pytest.mark.slow
def test_calibrate_cli_then_int8_export(tmp_path, micro_model: TrackerModel) -> None:
    pytest.importorskip("onnxruntime")
    model_dir = save_model(micro_model, tmp_path / "m")
    calib = tmp_path / "calib.npz"
    assert run(["calibrate", "--model", str(model_dir), "--samples", "16", "--out", str(calib)]) == 0
    assert run(["export", str(model_dir), "--out", str(tmp_path / "x"), "--precision", "fp32,fp16,int8",
                "--calib", str(calib)]) == 0
    from edgetrack.artifacts import read_manifest

    manifest = read_manifest(tmp_path / "x")
    parity = manifest["metrics"]["parity_vs_fp32"]
    assert set(parity) == {"fp16", "int8"}
    # quantised, not copied: int8 outputs differ from fp32, but within what 8-bit ranges allow on sigmoid maps
    assert 0 < max(parity["int8"].values()) < 0.3 and max(parity["fp16"].values()) < max(parity["int8"].values())
    assert manifest["parents"]["calibration"] == CalibrationSet.load(calib).fingerprint
    assert (tmp_path / "x" / "model.int8.onnx").is_file() and (tmp_path / "x" / "model.fp16.onnx").is_file()
    import onnx

    ops = {n.op_type for n in onnx.load(str(tmp_path / "x" / "model.int8.onnx")).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops


def test_unknown_precision_and_missing_calib(tmp_path, micro_model: TrackerModel, capsys) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    assert run(["export", str(model_dir), "--out", str(tmp_path / "x"), "--precision", "int4"]) == 2
    assert "unknown precision" in capsys.readouterr().err
    assert run(["export", str(model_dir), "--out", str(tmp_path / "y"), "--precision", "int8"]) == 2
    assert "needs a calibration set" in capsys.readouterr().err


def test_calibrate_accepts_the_dataset_names_compress_uses(tmp_path, micro_model: TrackerModel) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    code = run(["calibrate", "--model", str(model_dir), "--data", "synthetic-train", "--samples", "8",
                "--out", str(tmp_path / "c.npz")])
    assert code == 0
    same = CalibrationSet.load(tmp_path / "c.npz")
    run(["calibrate", "--model", str(model_dir), "--data", "synthetic:synthetic-train", "--samples", "8",
         "--out", str(tmp_path / "d.npz")])
    assert CalibrationSet.load(tmp_path / "d.npz").fingerprint == same.fingerprint  # two spellings, one set


def test_calibrate_refuses_evaluation_names_and_zero_samples(tmp_path, micro_model: TrackerModel, capsys) -> None:
    model_dir = save_model(micro_model, tmp_path / "m")
    assert run(["calibrate", "--model", str(model_dir), "--data", "synthetic-test", "--out",
                str(tmp_path / "c.npz")]) == 2
    assert "evaluation set" in capsys.readouterr().err
    assert run(["calibrate", "--model", str(model_dir), "--samples", "0", "--out", str(tmp_path / "c.npz")]) == 2
    assert "'samples': Input should be greater than 0" in capsys.readouterr().err


def test_recipes_by_name_and_file_with_overrides(tmp_path, micro_model: TrackerModel) -> None:
    from edgetrack.calibration.recipe import load_recipe, recipe_names
    from edgetrack.errors import ConfigError

    assert {"quickstart", "jetson-orin"} <= set(recipe_names())
    assert load_recipe("quickstart").samples == 128
    assert load_recipe("jetson-orin", {"data_root": "/d", "seed": None}).data_root == "/d"
    with pytest.raises(ConfigError, match="Did you mean 'quickstart'"):
        load_recipe("quikstart")
    path = tmp_path / "mine.yaml"
    path.write_text("data: synthetic-train\nsamples: 8\nseed: 3\ncentre_jitter: 0.0\nscale_jitter: 0.0\n")
    model_dir = save_model(micro_model, tmp_path / "m")
    assert run(["calibrate", "--model", str(model_dir), "--recipe", str(path), "--out", str(tmp_path / "a.npz")]) == 0
    a = CalibrationSet.load(tmp_path / "a.npz")
    assert a.meta["seed"] == 3 and len(a) == 8 and a.meta["jitter"].startswith("centre N(0, 0 sqrt(wh))")
    assert run(["calibrate", "--model", str(model_dir), "--recipe", str(path), "--seed", "4", "--out",
                str(tmp_path / "b.npz")]) == 0
    assert CalibrationSet.load(tmp_path / "b.npz").meta["seed"] == 4  # the option overrides the recipe


def test_pipeline_stage_resolves_recipe_then_its_own_settings() -> None:
    from edgetrack.pipeline.config import CalibrateStage

    stage = CalibrateStage.model_validate({"recipe": "quickstart", "samples": 64})
    assert (stage.resolved().samples, stage.resolved().data) == (64, "synthetic-train")
    assert CalibrateStage.model_validate({"samples": 32}).resolved().samples == 32
