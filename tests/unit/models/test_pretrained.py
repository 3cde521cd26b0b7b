from __future__ import annotations

import numpy as np
import torch

from edgetrack.artifacts import read_manifest
from edgetrack.data.synthetic import static_baseline, synthetic_split
from edgetrack.eval.metrics import aggregate, ope_metrics
from edgetrack.eval.run import track_sequence
from edgetrack.models import create_model
from edgetrack.models.factory import bundled_weights
from edgetrack.runtime.tracker import Tracker


def test_bundled_tiny_teacher_is_small_fp16_and_loads_offline() -> None:
    folder = bundled_weights("tiny")
    assert (folder / "model.safetensors").stat().st_size <= 10 * 2**20
    assert (folder / "MODEL_CARD.md").is_file()
    assert read_manifest(folder)["stage"] == "train"
    model = create_model("tiny", pretrained=True)
    assert model.backbone.blocks[0].attn.qkv.weight.dtype == torch.float32  # fp16 on disk, fp32 in memory
    fresh = create_model("tiny")
    assert not torch.equal(model.backbone.blocks[0].attn.qkv.weight, fresh.backbone.blocks[0].attn.qkv.weight)


def test_bundled_teacher_tracks_better_than_standing_still() -> None:
    torch.set_num_threads(1)
    tracker = Tracker.from_model(create_model("tiny", pretrained=True))
    seqs = synthetic_split("synthetic-test")[:4]
    ours = aggregate([ope_metrics(track_sequence(tracker, s)[0], s.boxes, s.visible) for s in seqs])
    still = aggregate([ope_metrics(static_baseline(s), s.boxes, s.visible) for s in seqs])
    assert ours["auc"] > still["auc"] + 10
    assert np.isfinite(ours["precision"])
