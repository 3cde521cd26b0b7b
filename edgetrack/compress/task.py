"""CompressTask: the named losses of one batch for the `replacement`, `distill` and `naive` methods."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from torch import Tensor

from edgetrack.compress.losses import box_losses, feature_mimic, focal_loss
from edgetrack.compress.replacement import ReplacementModel
from edgetrack.config.base import FrozenConfig
from edgetrack.models.head import HeadOutput
from edgetrack.runtime.decode_torch import cxcywh_to_xyxy, decode_torch, xywh_to_xyxy

if TYPE_CHECKING:  # the stage's config imports this module
    from edgetrack.compress.config import CompressConfig
    from edgetrack.compress.stages import StagePlan
    from edgetrack.models.tracker import TrackerModel


Method = Literal["replacement", "distill", "naive"]


class LossWeights(FrozenConfig):
    """CompressTracker's weights: track = focal + 2 GIoU + 5 L1; prediction guidance 2 GIoU + 5 L1; features x0.2.

    `feat_normalise` is edgetrack's option, not the paper's: "layernorm" computes the feature-mimicking MSE on
    per-token standardised features (see `losses.feature_mimic`), "none" is the paper's raw MSE.
    """

    focal: float = 1.0
    giou: float = 2.0
    l1: float = 5.0
    pred: float = 1.0
    feat: float = 0.2
    feat_normalise: Literal["none", "layernorm"] = "none"


def track_losses(out: HeadOutput, heatmap: Tensor, box_xywh: Tensor, w: LossWeights) -> dict[str, Tensor]:
    """OSTrack's loss against ground truth: the box is decoded at the predicted peak (no window)."""
    pred_box, _ = decode_torch(out.score_map, out.size_map, out.offset_map)
    boxes = box_losses(cxcywh_to_xyxy(pred_box), xywh_to_xyxy(box_xywh).clamp(0.0, 1.0))
    focal = focal_loss(out.score_map, heatmap)
    total = w.focal * focal + w.giou * boxes["giou"] + w.l1 * boxes["l1"]
    return {"focal": focal, "giou": boxes["giou"], "l1": boxes["l1"], "iou": boxes["iou"], "track": total}


def prediction_guidance(student: HeadOutput, teacher: HeadOutput, w: LossWeights) -> dict[str, Tensor]:
    """2 GIoU + 5 L1 between the student's decoded box and the frozen teacher's."""
    s_box, _ = decode_torch(student.score_map, student.size_map, student.offset_map)
    t_box, _ = decode_torch(teacher.score_map, teacher.size_map, teacher.offset_map)
    boxes = box_losses(cxcywh_to_xyxy(s_box), cxcywh_to_xyxy(t_box.detach()))
    return {"pred_giou": boxes["giou"], "pred_l1": boxes["l1"], "pred": w.giou * boxes["giou"] + w.l1 * boxes["l1"]}


class CompressTask:
    """Loss dict for a batch: `total` plus every named term (for logging)."""

    def __init__(self, model: ReplacementModel, method: Method = "replacement",
                 weights: LossWeights | None = None) -> None:
        self.model, self.method, self.w = model, method, weights or LossWeights()
        self.len_template = model.student.cfg.template_feat ** 2

    def route_for(self, sampled: Sequence[bool]) -> list[bool]:
        """Only `replacement` mixes stages; the ablation methods always run the whole student."""
        return list(sampled) if self.method == "replacement" else [True] * len(self.model.plan)

    def __call__(self, batch: Mapping[str, Tensor], route: Sequence[bool],
                 forward: Callable[..., tuple[HeadOutput, list[Tensor]]] | None = None) -> dict[str, Tensor]:
        """Losses of one batch; `forward` is the (possibly DDP-wrapped) replacement model."""
        forward = forward or self.model
        out, feats = forward(batch["template"], batch["search"], self.route_for(route))
        losses = track_losses(out, batch["heatmap"], batch["search_box"], self.w)
        total = losses["track"]
        if self.method != "naive":
            t_out, t_feats = self.model.teacher_forward(batch["template"], batch["search"])
            losses.update(prediction_guidance(out, t_out, self.w))
            losses["feat"] = feature_mimic(feats, t_feats, self.len_template, self.w.feat_normalise)
            total = total + self.w.pred * losses["pred"] + self.w.feat * losses["feat"]
        losses["total"] = total
        return losses


def make_compression(teacher: TrackerModel, cfg: CompressConfig, plan: StagePlan
                     ) -> tuple[TrackerModel, ReplacementModel, CompressTask]:
    """The one-stream family's compression: a student copied from the teacher's stages, and its losses."""
    from edgetrack.compress.student import make_student

    student = make_student(teacher, cfg.layers, cfg.init, plan, cfg.block, cfg.mlp_ratio, drop_path=cfg.drop_path)
    model = ReplacementModel(teacher, student, plan)
    return student, model, CompressTask(model, cfg.method, cfg.losses)
