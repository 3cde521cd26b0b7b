"""Shared fixtures: deterministic seeds and small models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgetrack.config.model import ModelConfig
from edgetrack.models.tracker import TrackerModel

torch.set_num_threads(2)

#: a very small tracker for fast tests (template 32 px, search 64 px, 4 blocks)
MICRO = ModelConfig(name="micro", template_size=32, search_size=64, embed_dim=32, depth=4, num_heads=2,
                    head_channels=16)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def micro_model() -> TrackerModel:
    torch.manual_seed(0)
    return TrackerModel(MICRO).eval()


def randomize_bn(model: torch.nn.Module, seed: int = 0) -> None:
    """Give BatchNorm layers non-trivial statistics so checkpoint round trips are meaningful."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


@pytest.fixture(autouse=True)
def _label_cache(tmp_path_factory, monkeypatch) -> None:
    """Pseudo-labels go to a fresh cache per test, never to the user's ~/.cache."""
    monkeypatch.setenv("EDGETRACK_CACHE", str(tmp_path_factory.mktemp("cache")))
