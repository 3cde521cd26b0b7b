"""The training loop: AdamW, step LR, grad clipping, AMP, DDP, atomic checkpoints, exact resume."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler

from edgetrack.errors import ConfigError
from edgetrack.train.checkpoint import (
    NAME,
    differing_keys,
    load_training_state,
    rng_state,
    save_training_state,
    set_rng_state,
)
from edgetrack.train.config import TrainConfig
from edgetrack.train.distributed import DistInfo
from edgetrack.train.progress import TrainProgress

StepFn = Callable[[nn.Module, Mapping[str, Tensor], int], dict[str, Tensor]]


class StepSampler(Sampler[int]):
    """Global sample indices for steps [start, end) of this rank: step s, rank r -> s*B*W + r*B + k.

    Every sample is generated from its index, so the data seen at a step never depends on where a run resumed.
    """

    def __init__(self, start: int, end: int, batch: int, dist: DistInfo) -> None:
        self.start, self.end, self.batch, self.dist = start, end, batch, dist

    def __iter__(self) -> Iterator[int]:
        b, w, r = self.batch, self.dist.world_size, self.dist.rank
        for step in range(self.start, self.end):
            base = step * b * w + r * b
            yield from range(base, base + b)

    def __len__(self) -> int:
        return (self.end - self.start) * self.batch


def autocast_for(device: torch.device, mode: str) -> tuple[Callable[[], Any], torch.amp.GradScaler | None]:
    """Autocast context factory and grad scaler: bf16/fp16 on CUDA, fp32 on the CPU."""
    if device.type != "cuda" or mode == "off":
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if mode == "bf16" or (mode == "auto" and torch.cuda.is_bf16_supported()) else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def param_groups(module: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """Trainable parameters; backbone ones at lr x backbone_lr_scale."""
    named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    head = [p for n, p in named if "backbone" not in n]
    backbone = [p for n, p in named if "backbone" in n]
    groups = [{"params": head}] if head else []
    if backbone:
        groups.append({"params": backbone, "lr": cfg.optim.lr * cfg.optim.backbone_lr_scale})
    return groups


class Trainer:
    """Runs `step_fn` over a pair dataset; `state_module` is what checkpoints save (e.g. the student).

    `run` is the run's key (`train.checkpoint.run_key`): checkpoints store it, and `resume` continues only a
    checkpoint of the same run.
    """

    def __init__(self, module: nn.Module, step_fn: StepFn, dataset: Dataset, cfg: TrainConfig, out_dir: Path,
                 device: torch.device, dist: DistInfo | None = None, state_module: nn.Module | None = None,
                 progress_extra: Callable[[int], dict[str, float]] | None = None,
                 run: Mapping[str, Any] | None = None) -> None:
        self.cfg, self.out_dir, self.device = cfg, Path(out_dir), device
        self.run = dict(run or {})
        self.dist = dist or DistInfo()
        self.module = module.to(device)
        self.state_module = state_module or module
        self.step_fn, self.dataset, self.progress_extra = step_fn, dataset, progress_extra
        self.optimizer = torch.optim.AdamW(param_groups(module, cfg), lr=cfg.optim.lr,
                                           weight_decay=cfg.optim.weight_decay)
        self.steps_per_epoch = cfg.steps_per_epoch(self.dist.world_size)
        self.total_steps = cfg.total_steps(self.dist.world_size)
        drop = cfg.optim.lr_drop_epoch
        drop_step = None if drop is None else round(drop * self.steps_per_epoch)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: cfg.optim.lr_gamma if drop_step is not None and s >= drop_step else 1.0)
        self.forward_module = self._wrap(module)
        self.autocast, self.scaler = autocast_for(device, cfg.amp)
        self.step = 0
        # the latest step's losses (and training seconds), checkpointed so a resume with nothing left to train
        # reports the losses of the run that trained instead of an empty record
        self.losses: dict[str, float] = {}

    def _wrap(self, module: nn.Module) -> nn.Module:
        if not self.dist.enabled:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        # routes leave some student blocks unused in an iteration
        return nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)

    def epoch(self, step: int | None = None) -> float:
        return (self.step if step is None else step) / self.steps_per_epoch

    def resume(self, on_mismatch: str = "refuse") -> bool:
        """Continue from OUT/checkpoint.pt when it belongs to this run; False when starting from step 0.

        A checkpoint of other settings is refused with the differing keys (`on_mismatch="refuse"`), or set
        aside and training starts over (`"fresh"`, for callers whose own keying already says the run is new).
        """
        state = load_training_state(self.out_dir)
        if state is None:
            return False
        old = state.get("run")
        if old != self.run:
            changes = differing_keys(old, self.run) if isinstance(old, dict) else ["(the checkpoint records none)"]
            if on_mismatch == "fresh":
                return False
            shown = "; ".join(changes[:8]) + (f"; and {len(changes) - 8} more" if len(changes) > 8 else "")
            raise ConfigError(f"{self.out_dir / NAME} is a checkpoint of other settings ({shown}); resuming it "
                              "would mix two runs. Pass --fresh to start over in this folder, or choose another "
                              "--out")
        self.state_module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.losses = {k: float(v) for k, v in state.get("losses", {}).items()}  # none in older checkpoints
        return True

    def save(self) -> None:
        if not self.dist.is_main:
            return
        state = {"model": self.state_module.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "rng": rng_state(), "step": self.step, "run": self.run,
                 "losses": self.losses}
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        save_training_state(self.out_dir, state)

    def _loader(self, stop: int) -> DataLoader:
        sampler = StepSampler(self.step, stop, self.cfg.batch_size, self.dist)
        return DataLoader(self.dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.workers, persistent_workers=False, drop_last=True,
                          pin_memory=self.device.type == "cuda",
                          # own generator: creating the iterator must not draw from the global RNG (resume)
                          generator=torch.Generator().manual_seed(self.cfg.seed))

    def train_step(self, batch: Mapping[str, Tensor]) -> dict[str, float]:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with self.autocast():
            losses = self.step_fn(self.forward_module, batch, self.step)
        self.optimizer.zero_grad(set_to_none=True)
        total = losses["total"]
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def fit(self, stop_at: int | None = None) -> dict[str, float]:
        """Train to the end (or to step `stop_at`); returns the last step's losses and this run's training seconds.

        With no step left to train, the losses the checkpoint recorded (empty for checkpoints older than that).
        """
        stop = min(self.total_steps, stop_at or self.total_steps)
        self.module.train()
        writer = self._writer()
        bar = TrainProgress(self.total_steps, self.step, enabled=self.dist.is_main, log_every=self.cfg.log_every)
        with bar as progress:
            start = time.perf_counter()
            for batch in self._loader(stop):
                last = self.train_step(batch)
                extra = self.progress_extra(self.step) if self.progress_extra else {}
                progress.update(self.step, {**last, **extra})
                if writer is not None and self.step % self.cfg.log_every == 0:
                    for key, value in {**last, **extra, "lr": self.scheduler.get_last_lr()[0]}.items():
                        writer.add_scalar(f"train/{key}", value, self.step)
                self.losses = {**last, "seconds": time.perf_counter() - start}
                if self.step % self.cfg.checkpoint_every == 0 or self.step == stop:
                    self.save()
        if writer is not None:
            writer.close()
        return dict(self.losses)

    def _writer(self) -> Any:
        if not (self.cfg.tensorboard and self.dist.is_main):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional; training works without it
            return None
        return SummaryWriter(str(self.out_dir / "tensorboard"))
