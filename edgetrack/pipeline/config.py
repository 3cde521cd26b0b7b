"""Settings of a pipeline file: one section per stage; a missing optional section skips that stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgetrack.calibration.recipe import CalibrationRecipe
from edgetrack.compress.config import CompressConfig, TrainStageConfig
from edgetrack.config.base import FrozenConfig


class CalibrateStage(CalibrationRecipe):
    """Calibration set for INT8, collected with the student's own preprocessing: a recipe's settings, or
    `recipe: NAME|FILE` with the settings given here on top."""

    recipe: str | None = None

    def resolved(self) -> CalibrationRecipe:
        """The recipe this stage runs: the named recipe, overridden by the fields set in the pipeline."""
        from edgetrack.calibration.recipe import load_recipe

        mine = {k: getattr(self, k) for k in self.model_fields_set if k != "recipe"}
        return load_recipe(self.recipe, mine) if self.recipe else CalibrationRecipe(**mine)


class ExportStage(FrozenConfig):
    """ONNX export and precision variants; AUC per variant on the first `accuracy_sequences` of synthetic-test."""

    precisions: tuple[str, ...] = ("fp32", "int8")
    fuse_postprocess: bool = False
    accuracy_sequences: int = Field(0, ge=0, le=50)  # synthetic-test has 50
    accuracy_gate: float | None = Field(None, ge=0)
    int8_ranges: Literal["minmax", "percentile", "entropy"] = "minmax"  # `edgetrack export --int8-ranges`
    int8_attention: bool = True  # False: `edgetrack export --no-int8-attention`
    dynamic_batch: bool = False  # `edgetrack export --dynamic-batch`: several targets per call
    int8_float_layers: int = Field(0, ge=0)  # `edgetrack export --int8-float-layers N`


class BuildStage(FrozenConfig):
    """Compile for a target profile (`edgetrack targets list`); a bundle where the target is not this machine."""

    target: str = "cpu"
    precision: str | None = None  # None: the target's choice (cpu: int8 when clearly faster than fp32)
    force: bool = False


class EvalStage(FrozenConfig):
    """One-pass evaluation of the teacher, the student, the deployed artifact and any baselines."""

    benchmark: str = "synthetic-test"
    data_root: str | None = None
    workers: int = Field(1, gt=0)
    device: str = "cpu"
    teacher: bool = True
    # other trackers scored on the same frames for the report (`opencv:vittrack=F.onnx`, a model folder, ...)
    baselines: tuple[str, ...] = ()


class BenchStage(FrozenConfig):
    """Latency of the teacher, the student and the deployed artifact, batch 1, on this machine."""

    runs: int = Field(50, gt=0)
    warmup: int = Field(5, ge=0)


class PipelineConfig(FrozenConfig):
    """A whole run; every stage writes OUT/<stage>/ and is reused when its inputs are unchanged."""

    name: str = "pipeline"
    out: str = "runs/pipeline"
    compress: CompressConfig = CompressConfig()
    finetune: TrainStageConfig | None = None  # its `model` is replaced by the compressed student
    calibrate: CalibrateStage | None = CalibrateStage()
    export: ExportStage = ExportStage()
    build: BuildStage | None = BuildStage()
    eval: EvalStage | None = EvalStage()
    bench: BenchStage | None = BenchStage()
