"""CompressTracker for a MixFormerV2 teacher: student construction and the losses of its distribution head.

The student (CompressTracker-M-S: MixFormerV2-B's 8 layers -> 4 layers with MixFormerV2-S's MLP ratio 1) is made
block by block as for OSTrack (`edgetrack.compress.student.load_block`: norms and attention copied, the MLP
narrowed to its strongest hidden units); patch embedding, position embeddings, prediction tokens and both heads
are copied. `ReplacementModel` runs it unchanged: a MixFormerV2 model offers `embed`, `blocks`, `norm` (none) and
`head`, and its blocks take and give the whole token sequence.

Losses differ from OSTrack's where the heads differ. There is no score map, so the track loss is 2 GIoU + 5 L1 on
the box decoded from the four distributions (expectation over bins) against the ground truth. Prediction guidance
is 2 GIoU + 5 L1 between the student's decoded box and the frozen teacher's: since each side's coordinate is the
expectation of its distribution, the gradient reaches every bin's logit through the softmax. Feature mimicking
averages template tokens (both templates) and the rest (search and prediction tokens) separately. The score head
is copied and left out of these losses: MixFormerV2 trains it in a later stage of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from edgetrack.compress.losses import box_losses, feature_mimic
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.compress.stages import StagePlan
from edgetrack.compress.student import StudentInit, check_plan, copy_stage_blocks, student_config
from edgetrack.compress.task import LossWeights, Method
from edgetrack.errors import ConfigError
from edgetrack.models.mixformerv2 import MixFormerV2Model, MixOutput
from edgetrack.runtime.decode_distribution_torch import distribution_boxes
from edgetrack.runtime.decode_torch import cxcywh_to_xyxy, xywh_to_xyxy

if TYPE_CHECKING:  # the stage's config imports this module
    from edgetrack.compress.config import CompressConfig


_COPIED = ("patch_embed",)
_COPIED_PARAMS = ("pos_embed_s", "pos_embed_t", "reg_tokens", "pos_embed_reg")


@torch.no_grad()
def make_mixformer_student(teacher: MixFormerV2Model, layers: int, init: StudentInit = "stage-last",
                           plan: StagePlan | None = None, block: str = "narrow-mlp", mlp_ratio: float | None = 1.0,
                           **overrides: Any) -> MixFormerV2Model:
    """A `layers`-block MixFormerV2 student; block j comes from the last (or first) teacher block of stage j."""
    if block == "separable":
        raise ConfigError("MixFormerV2 students keep asymmetric ViT attention: use block copy or narrow-mlp")
    plan = check_plan(teacher, layers, init, plan)
    student = MixFormerV2Model(student_config(teacher.cfg, layers, block, mlp_ratio, **overrides))
    copy_stage_blocks(student, teacher, plan, init)
    for name in _COPIED:
        getattr(student.backbone, name).load_state_dict(getattr(teacher.backbone, name).state_dict())
    for name in _COPIED_PARAMS:
        getattr(student.backbone, name).copy_(getattr(teacher.backbone, name))
    student.box_head.load_state_dict(teacher.box_head.state_dict())
    student.score_head.load_state_dict(teacher.score_head.state_dict())
    return student.train(teacher.training)


def decoded_xyxy(out: MixOutput) -> Tensor:
    """(B, 4) normalised xyxy boxes: the expectation of each side's distribution."""
    return cxcywh_to_xyxy(distribution_boxes(out.side_logits))


def mixformer_track_losses(out: MixOutput, box_xywh: Tensor, w: LossWeights) -> dict[str, Tensor]:
    """2 GIoU + 5 L1 between the decoded box and the ground truth (normalised to the search crop)."""
    boxes = box_losses(decoded_xyxy(out), xywh_to_xyxy(box_xywh).clamp(0.0, 1.0))
    total = w.giou * boxes["giou"] + w.l1 * boxes["l1"]
    return {"giou": boxes["giou"], "l1": boxes["l1"], "iou": boxes["iou"], "track": total}


def mixformer_prediction_guidance(student: MixOutput, teacher: MixOutput, w: LossWeights) -> dict[str, Tensor]:
    """2 GIoU + 5 L1 between the student's decoded box and the frozen teacher's."""
    boxes = box_losses(decoded_xyxy(student), decoded_xyxy(teacher).detach())
    return {"pred_giou": boxes["giou"], "pred_l1": boxes["l1"], "pred": w.giou * boxes["giou"] + w.l1 * boxes["l1"]}


class MixFormerCompressTask:
    """Loss dict of one batch (`total` and every term) for a MixFormerV2 teacher and student."""

    def __init__(self, model: ReplacementModel, method: Method = "replacement",
                 weights: LossWeights | None = None) -> None:
        self.model, self.method, self.w = model, method, weights or LossWeights()
        self.len_template = 2 * model.student.cfg.template_feat ** 2  # template and online template

    def route_for(self, sampled: Sequence[bool]) -> list[bool]:
        """Only `replacement` mixes stages; the ablation methods always run the whole student."""
        return list(sampled) if self.method == "replacement" else [True] * len(self.model.plan)

    def __call__(self, batch: Mapping[str, Tensor], route: Sequence[bool],
                 forward: Callable[..., tuple[Any, list[Tensor]]] | None = None) -> dict[str, Tensor]:
        forward = forward or self.model
        out, feats = forward(batch["template"], batch["search"], self.route_for(route))
        losses = mixformer_track_losses(out, batch["search_box"], self.w)
        total = losses["track"]
        if self.method != "naive":
            t_out, t_feats = self.model.teacher_forward(batch["template"], batch["search"])
            losses.update(mixformer_prediction_guidance(out, t_out, self.w))
            losses["feat"] = feature_mimic(feats, t_feats, self.len_template, self.w.feat_normalise)
            total = total + self.w.pred * losses["pred"] + self.w.feat * losses["feat"]
        losses["total"] = total
        return losses


def make_compression(teacher: MixFormerV2Model, cfg: CompressConfig, plan: StagePlan
                     ) -> tuple[MixFormerV2Model, ReplacementModel, MixFormerCompressTask]:
    """MixFormerV2's compression: its own student copy (prediction tokens, distribution head) and losses."""
    student = make_mixformer_student(teacher, cfg.layers, cfg.init, plan, cfg.block, cfg.mlp_ratio,
                                     drop_path=cfg.drop_path)
    model = ReplacementModel(teacher, student, plan)
    return student, model, MixFormerCompressTask(model, cfg.method, cfg.losses)
