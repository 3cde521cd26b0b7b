"""Run a route through frozen teacher stages and student blocks (CompressTracker's replacement)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from edgetrack.compress.stages import StagePlan
from edgetrack.errors import ConfigError
from edgetrack.models.head import HeadOutput
from edgetrack.models.tracker import TrackerModel


def freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


class ReplacementModel(nn.Module):
    """Student embedding, per-stage student block or teacher blocks, student norm and head.

    Owns no randomness: the caller passes the route (one bool per stage, True = the student block runs).
    The teacher is frozen and always in eval mode. With every stage on the student, the output equals the
    standalone student's.
    """

    def __init__(self, teacher: TrackerModel, student: TrackerModel, plan: StagePlan | None = None) -> None:
        super().__init__()
        plan = plan or StagePlan(teacher.cfg.depth, student.cfg.depth)
        if (plan.teacher_depth, plan.student_depth) != (teacher.cfg.depth, student.cfg.depth):
            raise ConfigError(f"stage plan {plan.teacher_depth}->{plan.student_depth} does not match teacher depth "
                              f"{teacher.cfg.depth} and student depth {student.cfg.depth}")
        if teacher.cfg.embed_dim != student.cfg.embed_dim:
            raise ConfigError("teacher and student must share embed_dim for stage-wise replacement")
        self.plan = plan
        self.teacher = freeze(teacher)
        self.student = student

    def train(self, mode: bool = True) -> ReplacementModel:
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, template: Tensor, search: Tensor, route: Sequence[bool]) -> tuple[HeadOutput, list[Tensor]]:
        """Head output and the token features at the end of each stage (before the final norm)."""
        if len(route) != len(self.plan):
            raise ConfigError(f"route has {len(route)} entries for {len(self.plan)} stages")
        s = self.student.backbone
        tokens = s.embed(template, search)
        features = []
        for j, (stage, use_student) in enumerate(zip(self.plan.stages, route, strict=True)):
            if use_student:
                tokens = s.blocks[j](tokens)
            else:
                for i in stage:
                    tokens = self.teacher.backbone.blocks[i](tokens)
            features.append(tokens)
        return self.student.head(s.norm(tokens)), features

    @torch.no_grad()
    def teacher_forward(self, template: Tensor, search: Tensor) -> tuple[HeadOutput, list[Tensor]]:
        """The frozen teacher (no candidate elimination) with its stage-end features."""
        t = self.teacher.backbone
        tokens = t.embed(template, search)
        features = []
        for stage in self.plan.stages:
            for i in stage:
                tokens = t.blocks[i](tokens)
            features.append(tokens)
        return self.teacher.head(t.norm(tokens)), features
