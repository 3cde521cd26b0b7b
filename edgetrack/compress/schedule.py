"""The replacement probability p over training, and sampling which stages the student runs."""

from __future__ import annotations

from typing import Literal

import numpy as np

from edgetrack.config.base import FrozenConfig
from edgetrack.errors import ConfigError


class ScheduleConfig(FrozenConfig):
    """CompressTracker's progressive schedule (the CompressTracker paper) or a fixed probability."""

    mode: Literal["progressive", "fixed"] = "progressive"
    p_init: float = 0.5
    alpha1: float = 0.1
    alpha2: float = 0.1
    at_least_one: bool = True  # the official code's rule: every iteration replaces at least one stage


class ReplacementSchedule:
    """`p(epoch)` and `sample(rng, epoch) -> route` (one bool per stage: True = student block runs)."""

    def __init__(self, cfg: ScheduleConfig, epochs: float, stages: int) -> None:
        if not 0.0 <= cfg.p_init <= 1.0:
            raise ConfigError(f"p_init must be in [0, 1], got {cfg.p_init}")
        if cfg.alpha1 < 0 or cfg.alpha2 < 0 or cfg.alpha1 + cfg.alpha2 > 1:
            raise ConfigError(f"alpha1 and alpha2 must be >= 0 with a sum <= 1, got {cfg.alpha1}, {cfg.alpha2}")
        if epochs <= 0 or stages < 1:
            raise ConfigError(f"schedule needs epochs > 0 and stages >= 1, got {epochs}, {stages}")
        self.cfg, self.epochs, self.stages = cfg, float(epochs), stages

    def p(self, epoch: float) -> float:
        """Probability that a stage runs the student block at (fractional) `epoch`.

        Progressive: p_init for the first alpha1 of training, then linear up to 1.0 at 1 - alpha2,
        then 1.0 (student only) to the end.
        """
        c = self.cfg
        if c.mode == "fixed":
            return c.p_init
        start, end = c.alpha1 * self.epochs, (1.0 - c.alpha2) * self.epochs
        if epoch < start:
            return c.p_init
        if epoch >= end or end <= start:
            return 1.0
        return c.p_init + (1.0 - c.p_init) * (epoch - start) / (end - start)

    def sample(self, rng: np.random.Generator, epoch: float) -> list[bool]:
        """Draw a route for one iteration; randomness comes only from `rng`."""
        p = self.p(epoch)
        route = (rng.random(self.stages) < p).tolist()
        if self.cfg.at_least_one and p < 0.5:
            route = [False] * self.stages  # the official rule: exactly one stage replaced while p < 0.5
            route[int(rng.integers(self.stages))] = True
        elif self.cfg.at_least_one and not any(route):
            route[int(rng.integers(self.stages))] = True
        return route
