"""The compress stage: teacher -> replacement training -> standalone student artifact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from edgetrack.artifacts import check_out_folder, read_manifest, sha256_file
from edgetrack.compress.config import CompressConfig
from edgetrack.compress.schedule import ReplacementSchedule
from edgetrack.compress.stages import StagePlan
from edgetrack.compress.task import CompressTask
from edgetrack.data.pairs import PairDataset
from edgetrack.data.pseudo_labels import labeler_for_model
from edgetrack.errors import ArtifactError, CheckpointError, ConfigError
from edgetrack.families import family_of
from edgetrack.locks import folder_lock
from edgetrack.models.factory import bundled_weights, create_model, is_model_folder, save_model
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.spec import ProcessingSpec
from edgetrack.train.checkpoint import run_key
from edgetrack.train.data import needs_labeler, stage_sources
from edgetrack.train.distributed import DistInfo, barrier, cleanup, init_distributed, pick_device
from edgetrack.train.loop import StepFn, Trainer


def weights_hash(path: str | Path) -> str:
    p = Path(path)
    return sha256_file(p / "model.safetensors" if p.is_dir() else p)


def final_losses(losses: dict[str, float], folder: Path) -> dict[str, float]:
    """`losses`; when empty (a re-run with nothing left to train, from a checkpoint that predates recorded
    losses), the final losses `folder`'s manifest holds, written by the run that trained."""
    if losses or not (folder / "manifest.json").is_file():
        return losses
    try:
        recorded = read_manifest(folder).get("metrics", {}).get("final_losses")
    except ArtifactError:
        return losses
    return dict(recorded) if isinstance(recorded, dict) else losses


def load_teacher(name: str, weights: str | None, random_ok: bool, seed: int = 0) -> tuple[TrackerModel, str]:
    """The teacher and the sha256 of its weights; a preset with no weights is refused unless `random_ok`."""
    if is_model_folder(name):
        return create_model(name), weights_hash(name)
    if weights is not None:
        return create_model(name, checkpoint=weights, ce=False), weights_hash(weights)
    try:
        folder = bundled_weights(name)
    except CheckpointError:
        if not random_ok:
            raise ConfigError(f"teacher '{name}' has no weights: pass --teacher-weights PATH (for ostrack256 the "
                              "release OSTrack_ep0300.pth.tar), or --random-teacher for a smoke run") from None
        torch.manual_seed(seed)
        return create_model(name, ce=False), "random"
    return create_model(name, pretrained=True, ce=False), weights_hash(folder)


def compress_step(task: CompressTask, schedule: ReplacementSchedule, seed: int,
                  epoch_of: Callable[[int], float]) -> StepFn:
    """The training step of `compress`: sample this step's route, then the task's losses through `module`.

    The route depends only on (seed, step), so it is identical on every rank and after a resume.
    """

    def step_fn(module: nn.Module, batch: Mapping[str, Tensor], step: int) -> dict[str, Tensor]:
        route = schedule.sample(np.random.default_rng([seed, step]), epoch_of(step))
        return task(batch, route, forward=module)

    return step_fn


def run_compress(cfg: CompressConfig, out: str | Path, resume: bool = True, fresh: bool = False,
                 on_mismatch: str = "refuse") -> Path:
    """Train a student by replacement training (or an ablation method); return its artifact folder.

    `resume` continues OUT/checkpoint.pt when it is a checkpoint of these very settings; one of other settings
    is refused with the differing keys (`on_mismatch="fresh"` starts over instead); `fresh` always starts over.
    """
    out = Path(out)
    check_out_folder(out)
    device = pick_device(cfg.train.device)
    dist = init_distributed(device)
    try:
        with folder_lock(out, enabled=dist.is_main):
            return _compress(cfg, out, resume, fresh, on_mismatch, device, dist)
    finally:
        cleanup(dist)


def _compress(cfg: CompressConfig, out: Path, resume: bool, fresh: bool, on_mismatch: str, device: torch.device,
              dist: DistInfo) -> Path:
    teacher, teacher_sha = load_teacher(cfg.teacher, cfg.teacher_weights, cfg.random_teacher, cfg.train.seed)
    plan = StagePlan(teacher.cfg.depth, cfg.layers, tuple(cfg.stage_sizes))
    torch.manual_seed(cfg.train.seed)
    student, model, task = family_of(teacher).hook("compression")(teacher, cfg, plan)
    labeler = (labeler_for_model(f"teacher {cfg.teacher}", teacher, teacher_sha, str(device))
               if needs_labeler(cfg.data) else None)
    sources, labels_key = stage_sources(cfg.data, labeler, dist)
    dataset = PairDataset(sources, ProcessingSpec.from_model_config(student.cfg), cfg.pairs,
                          cfg.data.weights or None, seed=cfg.train.seed)
    schedule = ReplacementSchedule(cfg.schedule, cfg.train.epochs, len(plan))
    trainer: Trainer
    step_fn = compress_step(task, schedule, cfg.train.seed, lambda s: trainer.epoch(s))
    trainer = Trainer(model, step_fn, dataset, cfg.train, out, device, dist, state_module=student,
                      progress_extra=lambda s: {"p": schedule.p(trainer.epoch(s))},
                      run=run_key(cfg.to_dict(), teacher_sha256=teacher_sha, world_size=dist.world_size,
                                  **labels_key))
    if resume and not fresh:
        trainer.resume(on_mismatch)
    losses = trainer.fit()
    barrier(dist)
    if dist.is_main:
        save_model(student.eval().cpu(), out / "student", stage="compress", config=cfg.to_dict(),
                   parents={"teacher": teacher_sha}, metrics={"final_losses": final_losses(losses, out / "student")},
                   plan={"stages": [list(s) for s in plan.stages], "init": cfg.init, "block": cfg.block,
                         "mlp_ratio": student.cfg.mlp_ratio})
    barrier(dist)  # no process returns before rank 0 has written the weights the next stage reads
    return out / "student"
