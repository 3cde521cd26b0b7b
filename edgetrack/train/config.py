"""Training settings shared by `train`, `compress` and `finetune` (defaults: OSTrack's and CompressTracker's)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgetrack.config.base import FrozenConfig


class OptimConfig(FrozenConfig):
    lr: float = Field(4e-5, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    grad_clip: float = Field(0.1, gt=0)
    lr_drop_epoch: float | None = Field(400, ge=0)  # lr x gamma from this epoch on (StepLR with one step)
    lr_gamma: float = Field(0.1, gt=0)  # a factor <= 0 would make the lr zero or negative
    backbone_lr_scale: float = Field(1.0, gt=0)  # OSTrack trains the backbone at 0.1x; CompressTracker at 1x


class TrainConfig(FrozenConfig):
    epochs: float = Field(500, gt=0)
    pairs_per_epoch: int = Field(60_000, gt=0)
    batch_size: int = Field(32, gt=0)  # per process
    optim: OptimConfig = OptimConfig()
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    workers: int = Field(4, ge=0)
    seed: int = Field(0, ge=0)  # numpy's generators take no negative seeds
    checkpoint_every: int = Field(500, gt=0)  # steps
    log_every: int = Field(20, gt=0)
    device: str = "auto"
    tensorboard: bool = True

    def steps_per_epoch(self, world_size: int = 1) -> int:
        return max(1, self.pairs_per_epoch // (self.batch_size * world_size))

    def total_steps(self, world_size: int = 1) -> int:
        return max(1, round(self.epochs * self.steps_per_epoch(world_size)))
