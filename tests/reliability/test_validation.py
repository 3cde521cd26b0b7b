"""Bad options and settings are refused before any work, with one line naming the option and what to give."""

from __future__ import annotations

import pytest

from edgetrack.cli.app import run

pytest.importorskip("onnxruntime")

PIPELINE = ["pipeline", "run", "pipelines/quickstart.yaml", "--out", "{tmp}/p", "--set"]
COMPRESS = ["compress", "--teacher", "tiny", "--layers", "1", "--out", "{tmp}/c"]

CASES = {
    "compress --epochs inf": ([*COMPRESS, "--epochs", "inf"], "train.epochs': Input should be a finite number"),
    "compress --seed -1": ([*COMPRESS, "--seed", "-1"], "train.seed': Input should be greater than or equal to 0"),
    "compress lr_gamma -0.1": ([*COMPRESS, "--set", "train.optim.lr_gamma=-0.1"], "lr_gamma': Input should be greater"),
    "compress --device bogus": ([*COMPRESS, "--device", "bogus"], "--device bogus: not a device"),
    "compress --device cuda": ([*COMPRESS, "--device", "cuda"], "--device cuda: "),
    "compress --teacher tinyy": (["compress", "--teacher", "tinyy", "--out", "{tmp}/c"],
                                 "--teacher tinyy: unknown model. Did you mean 'tiny'?"),
    "compress --teacher ./missing": (["compress", "--teacher", "./missing", "--out", "{tmp}/c"],
                                     "--teacher ./missing: folder not found"),
    "calibrate --seed -1": (["calibrate", "-m", "tiny", "--seed", "-1", "--out", "{tmp}/c.npz"],
                            "seed': Input should be greater than or equal to 0"),
    "eval -m bogusnet": (["eval", "-m", "bogusnet", "--out", "{tmp}/e"], "--model bogusnet: unknown model"),
    "eval --workers 0": (["eval", "-m", "tiny", "--workers", "0", "--out", "{tmp}/e"], "--workers 0: give 1 or more"),
    "eval --workers -2": (["eval", "-m", "tiny", "--workers", "-2", "--out", "{tmp}/e"], "--workers -2"),
    "eval --device bogus": (["eval", "-m", "tiny", "--device", "bogus", "--out", "{tmp}/e"], "--device bogus"),
    "export --accuracy-sequences -1": (["export", "tiny", "--accuracy-sequences", "-1", "--out", "{tmp}/x"],
                                       "--accuracy-sequences -1: synthetic-test has 50 sequences"),
    "export --accuracy-sequences 1000": (["export", "tiny", "--accuracy-sequences", "1000", "--out", "{tmp}/x"],
                                         "--accuracy-sequences 1000"),
    "track --max-frames -3": (["track", "{tmp}", "-m", "tiny", "--init", "1,1,5,5", "--max-frames", "-3"],
                              "--max-frames -3"),
    "track --lost-below nan": (["track", "{tmp}", "-m", "tiny", "--init", "1,1,5,5", "--lost-below", "nan"],
                               "--lost-below nan: give a score between 0 and 1"),
    "track --lost-below 5": (["track", "{tmp}", "-m", "tiny", "--init", "1,1,5,5", "--lost-below", "5"],
                             "--lost-below 5.0"),
    "track --out-fps -1": (["track", "{tmp}", "-m", "tiny", "--init", "1,1,5,5", "--out", "{tmp}/v.mp4",
                            "--out-fps", "-1"], "--out-fps -1.0: give a frame rate above 0"),
    "track --device bogus": (["track", "{tmp}", "-m", "tiny", "--init", "1,1,5,5", "--device", "bogus"],
                             "--device bogus"),
    "pipeline build.target typo": ([*PIPELINE, "build.target=jetson-orn"], "Did you mean 'jetson-orin'?"),
    "pipeline eval.benchmark typo": ([*PIPELINE, "eval.benchmark=lasott"], "Did you mean 'lasot'?"),
    "pipeline calibrate.recipe typo": ([*PIPELINE, "calibrate.recipe=quikstart"], "unknown calibration recipe"),
    "pipeline precision twice": ([*PIPELINE, "export.precisions=[fp32,fp16,fp16]"], "lists a precision twice"),
    "pipeline accuracy_sequences": ([*PIPELINE, "export.accuracy_sequences=1000"], "accuracy_sequences"),
    "pipeline eval.device": ([*PIPELINE, "eval.device=cuda:7"], "eval.device cuda:7"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_bad_option_is_one_line_before_any_work(tmp_path, capsys, name) -> None:
    argv, expected = CASES[name]
    if "cuda" in name:
        torch = pytest.importorskip("torch")
        if torch.cuda.device_count() > (7 if "cuda:7" in " ".join(argv) else 0):
            pytest.skip("this machine has the CUDA device the case names as missing")
    assert run([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert expected in err
    assert not any(p.name in ("c", "e", "x", "p", "c.npz", "v.mp4") for p in tmp_path.iterdir())  # nothing began


def test_a_split_export_missing_a_graph_is_refused_naming_it(tmp_path, capsys) -> None:
    export = tmp_path / "x"
    export.mkdir()
    for name in ("template_encoder.onnx", "mixformerv2_spec.json"):
        (export / name).write_text("{}")
    assert run(["build", str(export), "--target", "cpu", "--out", str(tmp_path / "b")]) == 2
    assert "split export without search_step.onnx; re-run edgetrack export" in capsys.readouterr().err
