"""The calibrate stage: choose sequences from a training split, collect crops, store with provenance."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edgetrack.artifacts import check_out_file
from edgetrack.calibration.collect import MIN_SAMPLES, check_split, collect
from edgetrack.calibration.recipe import CalibrationRecipe
from edgetrack.calibration.store import CalibrationSet
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError, DataError
from edgetrack.runtime.spec import ProcessingSpec


def model_spec(model: str) -> ProcessingSpec:
    """Processing constants of a model folder, exported artifact or preset."""
    path = Path(model)
    if (path / "io_spec.json").is_file():
        from edgetrack.runtime.io_spec import IOSpec

        return ProcessingSpec.from_io_spec(IOSpec.load(path))
    return ProcessingSpec.from_model_config(_config(model))


def takes_online_template(model: str) -> bool:
    """Whether the model's template encoder also takes an online template (MixFormerV2)."""
    from edgetrack.families import family

    return not (Path(model) / "io_spec.json").is_file() and family(_config(model).family).online_template


def _config(model: str) -> ModelConfig:
    """The model config of a preset, model folder or MixFormerV2 split export."""
    from edgetrack.export.mixformerv2 import SPEC, load_spec
    from edgetrack.models.factory import model_config

    return load_spec(model) if (Path(model) / SPEC).is_file() else model_config(model)


def calibration_sequences(data: str, root: str | Path | None, model: str | None = None,
                          progress: Callable[[str], None] | None = None) -> list:
    """Sequences for `data`: `DATASET:SPLIT`, or a name as `compress` and `eval` spell it (`synthetic-train`,
    `got10k`, ...: that dataset's training split). Evaluation splits are refused.

    `unlabeled:DIR` clips are tracked by `model` itself and its whole fp32 trajectory is used (uncertain frames
    too), so the crops are those the deployed tracker will see on the user's video.
    """
    from edgetrack.data.sources import UNLABELED, is_unlabeled

    if is_unlabeled(data):
        if model is None:
            raise DataError(f"calibrating on {data} needs the model whose trajectory labels the clips")
        from edgetrack.data.pseudo_labels import TRAJECTORY, labeler_for_spec, pseudo_labeled

        return pseudo_labeled(data[len(UNLABELED):], labeler_for_spec(model), TRAJECTORY, progress=progress)[0]
    if ":" not in data and data != "synthetic":
        from edgetrack.data.sources import training_source

        if data == "synthetic-train":
            return list(training_source(data, root, synthetic_sequences=64))
        return list(training_source(data, root))
    dataset, _, split = data.partition(":")
    check_split(dataset, split or None)
    if dataset == "synthetic":
        from edgetrack.data.synthetic import synthetic_split

        return synthetic_split(split or "synthetic-train", num_sequences=64)
    if root is None:
        raise DataError(f"calibrating on '{dataset}' needs --data-root")
    from edgetrack.data.datasets import load_dataset

    return list(load_dataset(dataset, root, split or None))


def calibrate_with(model: str, recipe: CalibrationRecipe, out: str | Path,
                   progress: Callable[[int], None] | None = None,
                   notice: Callable[[str], None] | None = None) -> CalibrationSet:
    """A calibration set for `model` made by `recipe`, saved to `out`."""
    return run_calibrate(model, recipe.data, recipe.data_root, recipe.samples, recipe.seed, out, progress,
                         recipe.centre_jitter, recipe.scale_jitter, notice)


def run_calibrate(model: str, data: str, root: str | Path | None, samples: int, seed: int, out: str | Path,
                  progress: Callable[[int], None] | None = None, centre_jitter: float = 0.1,
                  scale_jitter: float = 0.05, notice: Callable[[str], None] | None = None) -> CalibrationSet:
    if samples < 1:
        raise ConfigError(f"--samples must be at least 1 (got {samples}); {MIN_SAMPLES} or more give reliable "
                          "INT8 ranges")
    check_out_file(Path(out), "the calibration file to write (e.g. calib.npz)")  # before minutes of collection
    spec = model_spec(model)
    calib = collect(calibration_sequences(data, root, model, notice), spec, samples, seed, progress, centre_jitter,
                    scale_jitter, online_template=takes_online_template(model))
    calib.meta.update(model=str(model), data=data, seed=seed, template_size=spec.template_size,
                      search_size=spec.search_size, template_factor=spec.template_factor,
                      search_factor=spec.search_factor,
                      jitter=f"centre N(0, {centre_jitter:g} sqrt(wh)), scale exp(N(0, {scale_jitter:g}))")
    calib.save(out)
    return calib
