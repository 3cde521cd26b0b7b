from __future__ import annotations

import numpy as np
import pytest

from edgetrack.compress.schedule import ReplacementSchedule, ScheduleConfig
from edgetrack.errors import ConfigError


def test_progressive_values_follow_the_formula() -> None:
    sch = ReplacementSchedule(ScheduleConfig(), epochs=500, stages=4)
    # p_init until 10% (epoch 50), linear to 1.0 at 90% (epoch 450), then 1.0
    assert sch.p(0) == 0.5 and sch.p(49.9) == 0.5
    assert sch.p(50) == pytest.approx(0.5)
    assert sch.p(250) == pytest.approx(0.5 + 0.5 * 200 / 400)
    assert sch.p(350) == pytest.approx(0.875)
    assert sch.p(450) == 1.0 and sch.p(499) == 1.0


def test_fixed_mode_is_constant() -> None:
    sch = ReplacementSchedule(ScheduleConfig(mode="fixed", p_init=0.7), epochs=10, stages=3)
    assert {sch.p(e) for e in (0, 3.3, 9.9)} == {0.7}


def test_sampling_is_reproducible_and_respects_rules() -> None:
    sch = ReplacementSchedule(ScheduleConfig(), epochs=10, stages=4)
    a = [sch.sample(np.random.default_rng(5), 5.0) for _ in range(3)]
    b = [sch.sample(np.random.default_rng(5), 5.0) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(0)
    routes = [sch.sample(rng, 5.0) for _ in range(500)]
    assert all(any(r) for r in routes)  # at least one student stage per iteration
    rate = np.mean(routes)
    assert 0.6 < rate < 0.85  # p(5.0) = 0.75, slightly raised by the at-least-one rule
    assert all(all(r) for r in (sch.sample(rng, 9.5) for _ in range(20)))


def test_exactly_one_stage_below_half() -> None:
    sch = ReplacementSchedule(ScheduleConfig(mode="fixed", p_init=0.2), epochs=10, stages=4)
    rng = np.random.default_rng(1)
    assert all(sum(sch.sample(rng, 0)) == 1 for _ in range(100))
    free = ReplacementSchedule(ScheduleConfig(mode="fixed", p_init=0.2, at_least_one=False), 10, 4)
    assert any(sum(free.sample(rng, 0)) == 0 for _ in range(100))


@pytest.mark.parametrize("cfg", [ScheduleConfig(p_init=1.5), ScheduleConfig(alpha1=0.6, alpha2=0.6)])
def test_invalid_schedules_are_refused(cfg: ScheduleConfig) -> None:
    with pytest.raises(ConfigError):
        ReplacementSchedule(cfg, epochs=10, stages=2)
