"""Check a whole pipeline file before its first stage runs: a typo in the last stage must not cost the
minutes the first ones train."""

from __future__ import annotations

from pathlib import Path

from edgetrack.errors import ConfigError
from edgetrack.pipeline.config import PipelineConfig


def validate_pipeline(cfg: PipelineConfig) -> None:
    """Raise the error each later stage would raise for its settings, now (names, files, devices, ranges)."""
    from edgetrack.artifacts import check_out_folder
    from edgetrack.models.presets import check_model_name
    from edgetrack.runtime.device import torch_device

    check_out_folder(Path(cfg.out))
    check_model_name(cfg.compress.teacher, "compress.teacher")
    if cfg.compress.train.device != "auto":
        torch_device(cfg.compress.train.device, "compress.train.device")
    if cfg.calibrate is not None:
        cfg.calibrate.resolved()  # a recipe name or file that does not exist is refused here
    _check_precisions(cfg.export.precisions)
    if cfg.build is not None:
        _check_build(cfg)
    if cfg.eval is not None:
        _check_eval(cfg)


def _check_precisions(precisions: tuple[str, ...]) -> None:
    from edgetrack.export.precision import parse_precisions

    if len(set(precisions)) != len(precisions):
        raise ConfigError(f"export.precisions lists a precision twice: {list(precisions)}")
    parse_precisions(",".join(precisions))


def _check_build(cfg: PipelineConfig) -> None:
    from edgetrack.deploy.targets import get_target

    assert cfg.build is not None
    profile = get_target(cfg.build.target)
    precision = cfg.build.precision
    if precision is not None and precision not in cfg.export.precisions:
        raise ConfigError(f"build.precision {precision} is not among export.precisions {list(cfg.export.precisions)}"
                          f"; add it there or drop build.precision")
    if profile.kind == "cpu" and precision not in (None, "fp32", "int8"):
        raise ConfigError(f"build.precision {precision}: the cpu target builds fp32 or int8")


def _check_eval(cfg: PipelineConfig) -> None:
    from edgetrack.eval.benchmarks import BENCHMARKS
    from edgetrack.eval.opencv_trackers import is_opencv_spec, parse_spec
    from edgetrack.runtime.device import torch_device

    assert cfg.eval is not None
    bench = BENCHMARKS.get(cfg.eval.benchmark)
    root = cfg.eval.data_root
    if bench.dataset != "synthetic" and root is None:
        raise ConfigError(f"eval.benchmark {bench.name} needs eval.data_root, the folder holding its data")
    if root is not None and not Path(root).expanduser().is_dir():
        raise ConfigError(f"eval.data_root {root}: folder not found")
    torch_device(cfg.eval.device, "eval.device")
    for baseline in cfg.eval.baselines:
        if is_opencv_spec(baseline):
            parse_spec(baseline)
        elif not Path(baseline).exists():
            raise ConfigError(f"eval.baselines: {baseline} is neither an opencv: tracker nor an existing folder")
