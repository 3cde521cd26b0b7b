"""Settings of the `compress`, `train` and `finetune` stages."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edgetrack.compress.schedule import ScheduleConfig
from edgetrack.compress.student import StudentBlock, block_choice_problem
from edgetrack.compress.task import LossWeights
from edgetrack.config.base import FrozenConfig
from edgetrack.data.pairs import PairConfig
from edgetrack.data.pseudo_labels import LabelConfig
from edgetrack.train.config import TrainConfig


class DataConfig(FrozenConfig):
    """Training data: dataset names mixed by weight; empty means the built-in synthetic sequences.

    `weights` are the relative shares of training pairs drawn from each dataset, in the order named; empty
    means equal shares (`synthetic-train,unlabeled:DIR` is then 1:1, however many sequences each holds).
    `unlabeled:DIR` clips are pseudo-labelled by `labeler` (any tracker spec `eval` accepts) or, when unset,
    by the stage's own teacher (`compress`) or starting model (`train`, `finetune`).
    """

    datasets: tuple[str, ...] = ()
    data_root: str | None = None
    weights: tuple[float, ...] = ()
    labeler: str | None = None
    pseudo_labels: LabelConfig = LabelConfig()
    synthetic_sequences: int = Field(200, gt=0)
    synthetic_length: int = Field(100, gt=1)


class CompressConfig(FrozenConfig):
    """CompressTracker defaults (the CompressTracker paper): 4-block student, progressive replacement, 500 epochs."""

    teacher: str = "ostrack256"
    teacher_weights: str | None = None
    random_teacher: bool = False  # build the teacher with random weights (tests, smoke runs) instead of refusing
    layers: int = Field(4, gt=0)
    init: Literal["stage-last", "stage-first"] = "stage-last"
    block: StudentBlock = "copy"  # copy, narrow-mlp (needs mlp_ratio) or separable (`compress.student`)
    mlp_ratio: float | None = Field(None, gt=0)  # the student MLP's width / dim; None: the teacher's
    stage_sizes: tuple[int, ...] = ()
    method: Literal["replacement", "distill", "naive"] = "replacement"
    drop_path: float = Field(0.1, ge=0, lt=1)
    schedule: ScheduleConfig = ScheduleConfig()
    losses: LossWeights = LossWeights()
    data: DataConfig = DataConfig()
    pairs: PairConfig = PairConfig()
    train: TrainConfig = TrainConfig()

    @model_validator(mode="after")
    def _check_block(self) -> CompressConfig:
        problem = block_choice_problem(self.block, self.mlp_ratio)
        if problem:
            raise ValueError(problem)
        return self


class TrainStageConfig(FrozenConfig):
    """Plain ground-truth training of a tracker (`edgetrack train`, `edgetrack finetune`)."""

    model: str = "tiny"
    weights: str | None = None  # MAE/OSTrack/edgetrack checkpoint to start from; None = from scratch
    drop_path: float = Field(0.1, ge=0, lt=1)
    losses: LossWeights = LossWeights()
    data: DataConfig = DataConfig()
    pairs: PairConfig = PairConfig()
    train: TrainConfig = TrainConfig(optim={"lr": 4e-4, "weight_decay": 1e-4, "lr_drop_epoch": 240}, epochs=300)
