"""Build a standalone student from a teacher: one block per teacher stage, initialised from that stage.

Student block kinds (`block=`):

- `copy`: the teacher's own block, copied (CompressTracker).
- `narrow-mlp`: the teacher's attention copied, the MLP narrowed to `mlp_ratio` x dim hidden units
  (MixFormerV2-S's shape at ratio 1, CompressTracker-M-S).
- `separable`: SMAT's separable self-attention block (CompressTracker-SMAT), its MLP `mlp_ratio` wide
  (the teacher's ratio by default).

Narrowing keeps the hidden units with the largest |fc1 row| x |fc2 column| (L2 norms), in their original order,
so narrowing to the teacher's own width reproduces `copy` exactly. A separable block takes the teacher block's
norms, keys, values and output projection (`SeparableAttention.load_from_attention`) and a zero query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from edgetrack.compress.stages import StagePlan
from edgetrack.config.base import build_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError, RegistryError
from edgetrack.models.blocks import SeparableAttention
from edgetrack.models.layers import Attention, Mlp
from edgetrack.models.tracker import TrackerModel
from edgetrack.registry import Registry

StudentInit = Literal["stage-last", "stage-first"]
StudentBlock = Literal["copy", "narrow-mlp", "separable"]


@dataclass(frozen=True)
class BlockKind:
    """A student block kind: the model-config block it builds (None: the teacher's) and whether it takes (or
    needs) an MLP ratio."""

    model_block: str | None
    takes_ratio: bool
    needs_ratio: bool


STUDENT_BLOCKS: Registry[BlockKind] = Registry("student block")
STUDENT_BLOCKS.add("copy", BlockKind(None, takes_ratio=False, needs_ratio=False))
STUDENT_BLOCKS.add("narrow-mlp", BlockKind(None, takes_ratio=True, needs_ratio=True))
STUDENT_BLOCKS.add("separable", BlockKind("separable", takes_ratio=True, needs_ratio=False))


def block_choice_problem(block: str, mlp_ratio: float | None) -> str | None:
    """Why (`block`, `mlp_ratio`) is not a valid student choice, or None when it is."""
    try:
        kind = STUDENT_BLOCKS.get(block)
    except RegistryError as err:
        return str(err)
    if mlp_ratio is not None and mlp_ratio <= 0:
        return f"mlp_ratio must be > 0, not {mlp_ratio}"
    if mlp_ratio is not None and not kind.takes_ratio:
        return f"block '{block}' copies the teacher's MLP and takes no mlp_ratio; use block narrow-mlp to narrow it"
    if mlp_ratio is None and kind.needs_ratio:
        return f"block '{block}' needs an mlp_ratio (1 gives MixFormerV2-S's shape)"
    return None


def _kind_overrides(teacher_cfg: ModelConfig, block: str, mlp_ratio: float | None) -> dict[str, Any]:
    problem = block_choice_problem(block, mlp_ratio)
    if problem:
        raise ConfigError(problem)
    kind = STUDENT_BLOCKS.get(block)
    ratio = teacher_cfg.mlp_ratio if mlp_ratio is None else mlp_ratio
    if ratio > teacher_cfg.mlp_ratio or int(teacher_cfg.embed_dim * ratio) < 1:
        raise ConfigError(f"mlp_ratio {ratio} must give 1..{int(teacher_cfg.embed_dim * teacher_cfg.mlp_ratio)} "
                          f"hidden units (the teacher's ratio is {teacher_cfg.mlp_ratio}): a student MLP keeps a "
                          "subset of the teacher's")
    return {"block": kind.model_block or teacher_cfg.block, "mlp_ratio": ratio}


def student_name(teacher_cfg: ModelConfig, layers: int, block: str = "copy", mlp_ratio: float | None = None) -> str:
    """'ostrack256-s4', 'ostrack256-s4-narrow-mlp1', 'ostrack256-s4-separable'."""
    suffix = "" if block == "copy" else f"-{block}" + (f"{mlp_ratio:g}" if block == "narrow-mlp" else "")
    return f"{teacher_cfg.name}-s{layers}{suffix}"


def student_config(teacher_cfg: ModelConfig, layers: int, block: str = "copy", mlp_ratio: float | None = None,
                   **overrides: Any) -> ModelConfig:
    """The teacher's config with `layers` blocks of the student kind `block` and no candidate elimination."""
    kind = _kind_overrides(teacher_cfg, block, mlp_ratio)  # validates before anything else reads the choice
    data = {**teacher_cfg.to_dict(), "depth": layers, "ce_loc": [],
            "name": student_name(teacher_cfg, layers, block, mlp_ratio), **kind}
    return build_config(ModelConfig, {**data, **overrides})


def kept_hidden_units(mlp: Mlp, hidden: int) -> Tensor:
    """Indices, ascending, of the `hidden` units of `mlp` with the largest |fc1 row| x |fc2 column|."""
    score = mlp.fc1.weight.norm(dim=1) * mlp.fc2.weight.norm(dim=0)
    return score.topk(hidden).indices.sort().values


@torch.no_grad()
def load_narrowed_mlp(student: Mlp, teacher: Mlp) -> None:
    """Fill `student` with the teacher's strongest hidden units (all of them, in order, at equal width)."""
    idx = kept_hidden_units(teacher, student.fc1.out_features)
    student.load_state_dict({"fc1.weight": teacher.fc1.weight[idx], "fc1.bias": teacher.fc1.bias[idx],
                             "fc2.weight": teacher.fc2.weight[:, idx], "fc2.bias": teacher.fc2.bias})


@torch.no_grad()
def load_attention(student: nn.Module, teacher: nn.Module) -> None:
    """Copy an attention of the same kind; a separable attention from a ViT one takes its keys and values."""
    if type(student) is type(teacher):
        student.load_state_dict(teacher.state_dict())
    elif isinstance(student, SeparableAttention) and isinstance(teacher, Attention):
        student.load_from_attention(teacher)
    else:
        raise ConfigError(f"cannot initialise a student {type(student).__name__} from a teacher "
                          f"{type(teacher).__name__}")


def load_block(student: nn.Module, teacher: nn.Module) -> None:
    """Initialise one student block from one teacher block (norms, attention, narrowed MLP)."""
    for name in ("norm1", "norm2"):
        getattr(student, name).load_state_dict(getattr(teacher, name).state_dict())
    load_attention(student.attn, teacher.attn)
    load_narrowed_mlp(student.mlp, teacher.mlp)


def check_plan(teacher: Any, layers: int, init: str, plan: StagePlan | None) -> StagePlan:
    """The stage plan for a `layers`-block student of `teacher` (StagePlan's even split by default), checked."""
    if init not in ("stage-last", "stage-first"):
        raise ConfigError(f"unknown student init '{init}'; use 'stage-last' (CompressTracker) or 'stage-first'")
    plan = plan or StagePlan(teacher.cfg.depth, layers)
    if plan.teacher_depth != teacher.cfg.depth or plan.student_depth != layers:
        raise ConfigError(f"stage plan {plan.teacher_depth}->{plan.student_depth} does not fit a "
                          f"{teacher.cfg.depth}-block teacher and a {layers}-block student")
    return plan


def copy_stage_blocks(student: Any, teacher: Any, plan: StagePlan, init: str) -> None:
    """Student block j from the last (or first) teacher block of stage j, by `load_block`."""
    sources = plan.last_blocks if init == "stage-last" else plan.first_blocks
    for j, i in enumerate(sources):
        load_block(student.backbone.blocks[j], teacher.backbone.blocks[i])


@torch.no_grad()
def make_student(teacher: TrackerModel, layers: int, init: StudentInit = "stage-last",
                 plan: StagePlan | None = None, block: str = "copy", mlp_ratio: float | None = None,
                 **overrides: Any) -> TrackerModel:
    """A `layers`-block student whose block j is made from the last (or first) teacher block of stage j.

    `block` picks the student block kind (module docstring); patch embedding, position embeddings, final norm and
    head are copied; everything is trainable. A teacher's candidate elimination is dropped: students never use it.
    """
    plan = check_plan(teacher, layers, init, plan)
    student = TrackerModel(student_config(teacher.cfg, layers, block, mlp_ratio, **overrides))
    copy_stage_blocks(student, teacher, plan, init)
    for name in ("patch_embed", "norm"):
        getattr(student.backbone, name).load_state_dict(getattr(teacher.backbone, name).state_dict())
    student.backbone.pos_embed_z.copy_(teacher.backbone.pos_embed_z)
    student.backbone.pos_embed_x.copy_(teacher.backbone.pos_embed_x)
    student.box_head.load_state_dict(teacher.box_head.state_dict())
    return student.train(teacher.training)
