from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from edgetrack.compress import make_student
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.compress.run import compress_step
from edgetrack.compress.schedule import ReplacementSchedule, ScheduleConfig
from edgetrack.compress.task import CompressTask
from edgetrack.models.tracker import TrackerModel
from edgetrack.train.config import OptimConfig, TrainConfig
from edgetrack.train.distributed import DistInfo
from edgetrack.train.loop import StepSampler, Trainer
from tests.conftest import MICRO


class RandomPairs(Dataset):
    """Pairs generated from the index alone, like the real pair dataset."""

    def __len__(self) -> int:
        return 10**6

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(index)
        heat = torch.zeros(1, 4, 4)
        heat[0, index % 4, (index // 4) % 4] = 1.0
        return {"template": torch.randn(3, 32, 32, generator=g), "search": torch.randn(3, 64, 64, generator=g),
                "heatmap": heat, "search_box": torch.tensor([0.3, 0.3, 0.25, 0.25])}


def make_trainer(out_dir, dist: DistInfo | None = None) -> tuple[Trainer, TrackerModel]:
    torch.manual_seed(0)
    teacher = TrackerModel(MICRO.replace(depth=4)).eval()
    student = make_student(teacher, layers=2, drop_path=0.1)
    model = ReplacementModel(teacher, student)
    task = CompressTask(model)
    cfg = TrainConfig(epochs=3, pairs_per_epoch=2 * 4, batch_size=4, workers=0, checkpoint_every=2,
                      tensorboard=False, optim=OptimConfig(lr=1e-3, lr_drop_epoch=2))
    schedule = ReplacementSchedule(ScheduleConfig(), epochs=cfg.epochs, stages=2)

    step_fn = compress_step(task, schedule, cfg.seed, lambda s: s / 2)  # the very step `compress` trains with
    trainer = Trainer(model, step_fn, RandomPairs(), cfg, out_dir, torch.device("cpu"), dist=dist, state_module=student)
    return trainer, student


def test_step_sampler_partitions_global_indices() -> None:
    a = list(StepSampler(1, 3, 2, DistInfo(rank=0, world_size=2)))
    b = list(StepSampler(1, 3, 2, DistInfo(rank=1, world_size=2)))
    assert a == [4, 5, 8, 9] and b == [6, 7, 10, 11]


def test_training_changes_student_and_lr_drops(tmp_path) -> None:
    trainer, student = make_trainer(tmp_path)
    before = [p.detach().clone() for p in student.parameters()]
    losses = trainer.fit()
    assert trainer.step == 6 and np.isfinite(losses["total"])
    assert any(not torch.equal(a, b) for a, b in zip(before, student.parameters(), strict=True))
    assert trainer.scheduler.get_last_lr()[0] == pytest.approx(1e-4)  # x0.1 from epoch 2 (step 4)
    assert (tmp_path / "checkpoint.pt").is_file()


def test_resume_after_kill_matches_uninterrupted_run(tmp_path) -> None:
    full, full_student = make_trainer(tmp_path / "full")
    full.fit()
    killed, _ = make_trainer(tmp_path / "killed")
    killed.fit(stop_at=3)  # checkpoints at step 2 and at the stop; pretend it died after step 3's save
    (tmp_path / "killed" / "checkpoint.pt").unlink()
    killed_again, _ = make_trainer(tmp_path / "killed")
    killed_again.fit(stop_at=2)
    resumed, resumed_student = make_trainer(tmp_path / "killed")
    assert resumed.resume() and resumed.step == 2
    resumed.fit()
    for a, b in zip(full_student.state_dict().values(), resumed_student.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_compress_step_samples_the_route_from_seed_and_step_only() -> None:
    torch.manual_seed(0)
    teacher = TrackerModel(MICRO.replace(depth=4)).eval()
    model = ReplacementModel(teacher, make_student(teacher, layers=2))
    schedule = ReplacementSchedule(ScheduleConfig(), epochs=10, stages=2)
    routes: list[list[bool]] = []

    class Recording(CompressTask):
        def __call__(self, batch, route, forward=None):  # noqa: ANN001, ANN204
            routes.append(list(route))
            return super().__call__(batch, route, forward)

    step = compress_step(Recording(model), schedule, seed=7, epoch_of=lambda s: 1.0)
    batch = {k: torch.stack([v] * 2) for k, v in RandomPairs()[0].items()}
    for s in (3, 5, 3):
        losses = step(model, batch, s)
        assert torch.isfinite(losses["total"])
    expected = [schedule.sample(np.random.default_rng([7, s]), 1.0) for s in (3, 5, 3)]
    assert routes == [list(r) for r in expected] and routes[0] == routes[2]
