"""Build a standalone student from a teacher: fewer blocks, each copied from a teacher stage."""

from __future__ import annotations

from typing import Any, Literal

import torch

from edgetrack.compress.stages import StagePlan
from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError
from edgetrack.models.tracker import TrackerModel

StudentInit = Literal["stage-last", "stage-first"]


def student_config(teacher_cfg: ModelConfig, layers: int, **overrides: Any) -> ModelConfig:
    """The teacher's config with `layers` blocks and no candidate elimination (students never use CE)."""
    data = {**teacher_cfg.to_dict(), "depth": layers, "ce_loc": [], "name": f"{teacher_cfg.name}-s{layers}"}
    return build_config(ModelConfig, {**data, **overrides})


@torch.no_grad()
def make_student(teacher: TrackerModel, layers: int, init: StudentInit = "stage-last",
                 plan: StagePlan | None = None, **overrides: Any) -> TrackerModel:
    """A `layers`-block student whose block j copies the last (or first) teacher block of stage j.

    Patch embedding, position embeddings, final norm and head are copied too; everything is trainable.
    """
    if init not in ("stage-last", "stage-first"):
        raise ConfigError(f"unknown student init '{init}'; use 'stage-last' (CompressTracker) or 'stage-first'")
    plan = plan or StagePlan(teacher.cfg.depth, layers)
    if plan.teacher_depth != teacher.cfg.depth or plan.student_depth != layers:
        raise ConfigError(f"stage plan {plan.teacher_depth}->{plan.student_depth} does not fit a "
                          f"{teacher.cfg.depth}-block teacher and a {layers}-block student")
    student = TrackerModel(student_config(teacher.cfg, layers, **overrides))
    sources = plan.last_blocks if init == "stage-last" else plan.first_blocks
    for j, i in enumerate(sources):
        student.backbone.blocks[j].load_state_dict(teacher.backbone.blocks[i].state_dict())
    for name in ("patch_embed", "norm"):
        getattr(student.backbone, name).load_state_dict(getattr(teacher.backbone, name).state_dict())
    student.backbone.pos_embed_z.copy_(teacher.backbone.pos_embed_z)
    student.backbone.pos_embed_x.copy_(teacher.backbone.pos_embed_x)
    student.box_head.load_state_dict(teacher.box_head.state_dict())
    return student.train(teacher.training)
