"""Every shipped pipeline file loads and validates the way `edgetrack pipeline run` loads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgetrack.compress.config import TrainStageConfig
from edgetrack.config.base import load_config, read_yaml
from edgetrack.deploy.targets import get_target
from edgetrack.pipeline.config import PipelineConfig

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"
FILES = sorted(PIPELINES.glob("*.yaml"))


def _is_pipeline(path: Path) -> bool:
    # the folder also holds single-stage recipes (tiny-teacher.yaml is an `edgetrack train -c` file)
    return set(read_yaml(path)) <= set(PipelineConfig.model_fields)


def test_the_folder_holds_the_pipelines() -> None:
    names = {p.name for p in FILES if _is_pipeline(p)}
    assert {"quickstart.yaml", "ostrack256-jetson-orin.yaml"} <= names


@pytest.mark.parametrize("path", [p for p in FILES if not _is_pipeline(p)], ids=lambda p: p.name)
def test_single_stage_recipe_validates(path: Path) -> None:
    load_config(TrainStageConfig, path)


@pytest.mark.parametrize("path", [p for p in FILES if _is_pipeline(p)], ids=lambda p: p.name)
def test_pipeline_file_validates(path: Path) -> None:
    cfg = load_config(PipelineConfig, path)
    assert cfg.name == path.stem
    assert cfg.compress.layers > 0 and cfg.export.precisions[0] == "fp32"
    if cfg.build is not None:
        profile = get_target(cfg.build.target)
        assert cfg.build.precision is None or cfg.build.precision in profile.precisions


def test_jetson_recipe_is_the_reference_one() -> None:
    cfg = load_config(PipelineConfig, PIPELINES / "ostrack256-jetson-orin.yaml")
    c, t = cfg.compress, cfg.compress.train
    assert (c.teacher, c.layers, c.method, c.init) == ("ostrack256", 4, "replacement", "stage-last")
    assert c.teacher_weights and c.teacher_weights.endswith("OSTrack_ep0300.pth.tar")
    assert set(c.data.datasets) == {"lasot", "got10k", "trackingnet", "coco"} and set(c.data.weights) == {1.0}
    assert (c.schedule.mode, c.schedule.p_init, c.schedule.alpha1, c.schedule.alpha2) == ("progressive", 0.5, 0.1, 0.1)
    assert (c.losses.giou, c.losses.l1, c.losses.feat, c.drop_path) == (2.0, 5.0, 0.2, 0.1)
    assert (t.epochs, t.pairs_per_epoch, t.batch_size) == (500, 60_000, 32)
    assert (t.optim.lr, t.optim.weight_decay, t.optim.grad_clip, t.optim.lr_drop_epoch) == (4e-5, 1e-4, 0.1, 400)
    assert cfg.calibrate is not None and cfg.calibrate.resolved().samples == 512
    assert cfg.calibrate.resolved().data.endswith(":train")
    assert cfg.export.precisions == ("fp32", "fp16", "int8")
    assert cfg.build is not None and (cfg.build.target, cfg.build.precision) == ("jetson-orin-nano", "int8")
    assert cfg.eval is not None and cfg.eval.benchmark == "lasot"


def test_smat_recipe_is_the_jetson_one_with_separable_layers() -> None:
    smat = load_config(PipelineConfig, PIPELINES / "ostrack256-ct-smat.yaml")
    ref = load_config(PipelineConfig, PIPELINES / "ostrack256-jetson-orin.yaml")
    c = smat.compress
    assert (c.teacher, c.layers, c.block, c.mlp_ratio, c.init) == ("ostrack256", 4, "separable", 4.0, "stage-last")
    same = {"name", "out", "compress"}
    assert {k: v for k, v in smat.to_dict().items() if k not in same} == \
        {k: v for k, v in ref.to_dict().items() if k not in same}
    unchanged = {k: v for k, v in c.to_dict().items() if k not in ("block", "mlp_ratio")}
    assert unchanged == {k: v for k, v in ref.compress.to_dict().items() if k not in ("block", "mlp_ratio")}


def test_data_roots_can_be_set_on_the_command_line() -> None:
    cfg = load_config(PipelineConfig, PIPELINES / "ostrack256-jetson-orin.yaml",
                      ["compress.data.data_root=/mnt/d", "eval.data_root=/mnt/d/LaSOT", "calibrate.data_root=/mnt/g"])
    assert cfg.compress.data.data_root == "/mnt/d"
    assert cfg.eval is not None and cfg.eval.data_root == "/mnt/d/LaSOT"
    assert cfg.calibrate is not None and cfg.calibrate.resolved().data_root == "/mnt/g"


def test_vittrack_adapt_is_the_measured_recipe() -> None:
    """The file holds what benchmarks/vittrack_adapt.py measured: 2 blocks, replacement, clips mixed 1:1."""
    cfg = load_config(PipelineConfig, PIPELINES / "vittrack-adapt.yaml")
    c = cfg.compress
    assert (c.teacher, c.layers, c.method, c.drop_path) == ("vittrack", 2, "replacement", 0.0)
    assert c.data.datasets[0] == "synthetic-train" and c.data.datasets[1].startswith("unlabeled:")
    assert c.data.weights == (1.0, 1.0) and c.data.labeler is None  # the teacher labels
    assert c.train.epochs * c.train.pairs_per_epoch / c.train.batch_size == 200
    assert cfg.calibrate is not None and cfg.calibrate.data.startswith("unlabeled:")
    assert cfg.eval is not None and cfg.eval.benchmark == "folder"
    assert [b.split("=")[0] for b in cfg.eval.baselines] == ["opencv:vittrack"]
