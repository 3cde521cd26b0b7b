"""Architecture and input-processing settings of a one-stream ViT tracker."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edgetrack.config.processing import CropSettings


class ModelConfig(CropSettings):
    """Everything needed to rebuild a tracker model; stored as config.json beside its weights (the processing
    fields come from `CropSettings`)."""

    name: str = "custom"
    family: str = "ostrack"
    patch_size: int = Field(16, gt=0)  # the token grid's stride, whatever the stem
    # OSTrack's patch projection; strided 3x3 conv-BN-ReLU layers with a 1x1 projection ("conv"); or VitTrack's
    # strided 3x3 convolutions with biases and HardSwish between them, the last one giving `embed_dim`
    stem: Literal["patch", "conv", "conv-hardswish"] = "patch"
    embed_dim: int = Field(768, gt=0)
    depth: int = Field(12, gt=0)
    num_heads: int = Field(12, gt=0)
    mlp_ratio: float = Field(4.0, gt=0)
    # OSTrack's pre-norm ViT block, or SMAT's separable self-attention block (`edgetrack.models.blocks`)
    block: Literal["vit", "separable"] = "vit"
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    head_channels: int = Field(256, ge=8)
    head_norm: Literal["batch", "folded"] = "batch"  # "folded": batch norm folded into the head convs' biases
    # MixFormerV2's distribution box head (family "mixformerv2"): bins per box side over the search crop
    head_bins: int = Field(96, gt=1)
    drop_path: float = Field(0.0, ge=0, lt=1)
    ce_loc: tuple[int, ...] = ()
    ce_keep_ratio: float = Field(0.7, gt=0, le=1)

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        for size in (self.template_size, self.search_size):
            if size % self.patch_size:
                raise ValueError(f"input size {size} is not a multiple of patch size {self.patch_size}")
        if self.stem != "patch" and (self.patch_size < 2 or self.patch_size & (self.patch_size - 1)):
            raise ValueError(f"a conv stem needs a power-of-two patch_size (its stride), not {self.patch_size}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.head_channels % 8:
            raise ValueError(f"head_channels {self.head_channels} must be a multiple of 8")
        bad = [i for i in self.ce_loc if not 0 <= i < self.depth]
        if bad:
            raise ValueError(f"ce_loc {bad} outside blocks 0..{self.depth - 1}")
        if self.ce_loc and self.block != "vit":
            raise ValueError(f"candidate elimination ranks tokens by attention maps, which '{self.block}' blocks do "
                             "not have: set ce_loc to []")
        return self

    @property
    def template_feat(self) -> int:
        return self.template_size // self.patch_size

    @property
    def search_feat(self) -> int:
        return self.search_size // self.patch_size
