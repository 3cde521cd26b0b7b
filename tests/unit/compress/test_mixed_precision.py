from __future__ import annotations

import pytest
import torch

from edgetrack.compress.losses import focal_loss
from edgetrack.compress.task import LossWeights, track_losses
from edgetrack.models.head import CenterPredictor


def _saturated_head() -> CenterPredictor:
    torch.manual_seed(0)
    head = CenterPredictor(32, 16)
    with torch.no_grad():
        head.conv5_ctr.bias.fill_(30.0)  # every cell a confident peak: sigmoid is 1.0 in bf16
    return head


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    feat = torch.randn(2, 32, 8, 8)
    heat = torch.zeros(2, 1, 8, 8)
    heat[:, :, 4, 4] = 1.0
    return feat, heat, torch.tensor([[0.4, 0.4, 0.2, 0.2]] * 2)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_saturated_score_map_gives_finite_loss_and_gradient_under_autocast(dtype: torch.dtype) -> None:
    head = _saturated_head()
    feat, heat, box = _batch()
    with torch.autocast("cpu", dtype=dtype):
        out = head(feat)
        losses = track_losses(out, heat, box, LossWeights())
    assert out.score_map.dtype == torch.float32
    assert torch.isfinite(losses["track"])
    losses["track"].backward()
    grads = [p.grad for p in head.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_fp16_with_grad_scaler_takes_finite_steps() -> None:
    head = _saturated_head()
    feat, heat, box = _batch()
    opt = torch.optim.SGD(head.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu")
    stepped = 0
    for _ in range(30):  # the scaler halves its scale after an overflowing step, then steps
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.float16):
            loss = track_losses(head(feat), heat, box, LossWeights())["track"]
        assert torch.isfinite(loss)
        scale = scaler.get_scale()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        stepped += scaler.get_scale() >= scale
    assert stepped > 0
    assert all(torch.isfinite(p).all() for p in head.parameters())


def test_the_bf16_failure_this_guards_against_is_real() -> None:
    # in bf16 the head's clamp bound 1 - 1e-4 is exactly 1.0, and the focal loss of such a map is NaN
    pred = torch.full((1, 1, 4, 4), 1 - 1e-4).to(torch.bfloat16)
    assert float(pred.max()) == 1.0
    heat = torch.zeros(1, 1, 4, 4)
    heat[..., 1, 1] = 1.0
    raw = focal_loss.__wrapped__(pred, heat.to(torch.bfloat16))
    assert torch.isnan(raw)
    assert torch.isfinite(focal_loss(torch.full((1, 1, 4, 4), 1 - 1e-4), heat))
