"""The train / finetune stage: ground-truth training of one tracker, saved as an artifact folder."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from edgetrack.artifacts import check_out_folder
from edgetrack.compress.config import TrainStageConfig
from edgetrack.compress.run import final_losses, weights_hash
from edgetrack.compress.task import track_losses
from edgetrack.data.pairs import PairDataset
from edgetrack.data.pseudo_labels import Labeler, labeler_for_model
from edgetrack.errors import DataError
from edgetrack.locks import folder_lock
from edgetrack.models.factory import create_model, is_model_folder, save_model
from edgetrack.runtime.spec import ProcessingSpec
from edgetrack.train.checkpoint import run_key
from edgetrack.train.data import needs_labeler, stage_sources
from edgetrack.train.distributed import DistInfo, barrier, cleanup, init_distributed, pick_device
from edgetrack.train.loop import Trainer


def run_train(cfg: TrainStageConfig, out: str | Path, resume: bool = True, stage: str = "train", fresh: bool = False,
              on_mismatch: str = "refuse") -> Path:
    """Train `cfg.model` on ground truth; return the saved model folder (OUT/model).

    Resuming follows `run_compress`: only a checkpoint of the same settings is continued.
    """
    out = Path(out)
    check_out_folder(out)
    device = pick_device(cfg.train.device)
    dist = init_distributed(device)
    try:
        with folder_lock(out, enabled=dist.is_main):
            return _train(cfg, out, resume, stage, fresh, on_mismatch, device, dist)
    finally:
        cleanup(dist)


def _train(cfg: TrainStageConfig, out: Path, resume: bool, stage: str, fresh: bool, on_mismatch: str,
           device: torch.device, dist: DistInfo) -> Path:
    torch.manual_seed(cfg.train.seed)
    if is_model_folder(cfg.model):
        model = create_model(cfg.model, drop_path=cfg.drop_path)
        parent = weights_hash(cfg.model)
    else:
        model = create_model(cfg.model, checkpoint=cfg.weights, drop_path=cfg.drop_path, ce=False)
        parent = weights_hash(cfg.weights) if cfg.weights else "scratch"
    sources, labels_key = stage_sources(cfg.data, _own_labeler(cfg, model, parent, device), dist)
    dataset = PairDataset(sources, ProcessingSpec.from_model_config(model.cfg), cfg.pairs,
                          cfg.data.weights or None, seed=cfg.train.seed)

    def step_fn(module: nn.Module, batch: Mapping[str, Tensor], step: int) -> dict[str, Tensor]:
        losses = track_losses(module(batch["template"], batch["search"]), batch["heatmap"],
                              batch["search_box"], cfg.losses)
        return {**losses, "total": losses["track"]}

    trainer = Trainer(model, step_fn, dataset, cfg.train, out, device, dist,
                      run=run_key(cfg.to_dict(), stage=stage, init=parent, world_size=dist.world_size, **labels_key))
    if resume and not fresh:
        trainer.resume(on_mismatch)
    losses = trainer.fit()
    barrier(dist)
    if dist.is_main:
        save_model(model.eval().cpu(), out / "model", stage=stage, config=cfg.to_dict(),
                   parents={"init": parent}, metrics={"final_losses": final_losses(losses, out / "model")})
    barrier(dist)  # no process returns before rank 0 has written the weights the next stage reads
    return out / "model"


def _own_labeler(cfg: TrainStageConfig, model: nn.Module, parent: str, device: torch.device) -> Labeler | None:
    """The starting model labels unlabeled clips when no labeler is named; a model from scratch cannot."""
    if not needs_labeler(cfg.data):
        return None
    if parent == "scratch":
        raise DataError("unlabeled clips need a labeler, and a model trained from scratch cannot label them: "
                        "pass --labeler SPEC (e.g. a model folder or opencv:nanotrack=B.onnx,H.onnx) or --weights")
    return labeler_for_model(cfg.model, model, parent, str(device))
