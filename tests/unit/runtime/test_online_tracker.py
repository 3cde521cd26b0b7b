from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgetrack.data.crops import CLIP_MARGIN, clip_box, map_box_back, preprocess
from edgetrack.data.synthetic import synthetic_sequence
from edgetrack.errors import ArtifactError, ConfigError, TrackingError
from edgetrack.export.mixformerv2 import ENCODER, STEP, export_mixformerv2
from edgetrack.models.mixformerv2 import MixFormerV2Model
from edgetrack.runtime.backends.onnxruntime_backend import OnnxRuntimeBackend
from edgetrack.runtime.decode_distribution import decode_distribution
from edgetrack.runtime.online_tracker import OnlineSettings, OnlineTemplateTracker
from tests.unit.models.test_mixformerv2 import MICRO_MIX

FRAMES = 9


def micro_model(score_bias: float | None = None) -> MixFormerV2Model:
    torch.manual_seed(0)
    model = MixFormerV2Model(MICRO_MIX).eval()
    if score_bias is not None:  # pins the score head: always (+) or never (-) confident
        with torch.no_grad():
            model.score_head.layers[1].weight.zero_()
            model.score_head.layers[1].bias.fill_(score_bias)
    return model


def full_forward_loop(model: MixFormerV2Model, seq, interval: int) -> list[np.ndarray]:
    """The original's loop written out: the whole network (both templates and search) runs every frame."""
    cfg = model.cfg
    crop_t = (cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
    template, _ = preprocess(seq.frame(0), seq.boxes[0], *crop_t)
    online = candidate = template
    best, box, boxes = -1.0, np.asarray(seq.boxes[0], np.float64), []
    height, width = seq.frame(0).shape[:2]
    for i in range(1, FRAMES):
        frame = seq.frame(i)
        search, crop = preprocess(frame, box, cfg.search_factor, cfg.search_size, cfg.mean, cfg.std)
        with torch.no_grad():
            out = model(*(torch.from_numpy(a) for a in (template, search, online)))
        box_norm, score = decode_distribution(out.side_logits.numpy(), out.score_logit.numpy())
        box = clip_box(map_box_back(box_norm, crop), width, height, CLIP_MARGIN)
        if score > 0.5 and score > best:
            candidate, best = preprocess(frame, box, *crop_t)[0], score
        if i % interval == 0:
            online, best, candidate = candidate, -1.0, template
        boxes.append(box)
    return boxes


def run(tracker: OnlineTemplateTracker, seq) -> list[np.ndarray]:
    tracker.initialize(seq.frame(0), seq.boxes[0])
    return [np.asarray(tracker.track(seq.frame(i)).box) for i in range(1, FRAMES)]


@pytest.mark.parametrize("score_bias", [None, 20.0], ids=["random-score", "confident"])
def test_cached_memory_loop_equals_full_forward_loop(score_bias: float | None) -> None:
    model, seq = micro_model(score_bias), synthetic_sequence(11, length=FRAMES)
    tracker = OnlineTemplateTracker.from_model(model, OnlineSettings(update_interval=3))
    got = run(tracker, seq)
    np.testing.assert_allclose(np.array(got), np.array(full_forward_loop(model, seq, 3)), atol=1e-3)
    assert tracker.updates == 1 + (FRAMES - 1) // 3  # memory recomputed once per update, not per frame


def test_confident_frame_becomes_the_online_template() -> None:
    model, seq = micro_model(score_bias=20.0), synthetic_sequence(12, length=FRAMES)
    tracker = OnlineTemplateTracker.from_model(model, OnlineSettings(update_interval=3))
    tracker.initialize(seq.frame(0), seq.boxes[0])
    first = tracker.track(seq.frame(1))  # the first confident frame after a reset is the candidate
    for i in (2, 3):
        tracker.track(seq.frame(i))
    cfg = model.cfg
    expected, _ = preprocess(seq.frame(1), first.box, cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
    assert first.score > 0.99
    np.testing.assert_array_equal(tracker.online_template, expected)


def test_unconfident_scores_keep_the_first_template() -> None:
    model, seq = micro_model(score_bias=-20.0), synthetic_sequence(12, length=FRAMES)
    tracker = OnlineTemplateTracker.from_model(model, OnlineSettings(update_interval=2))
    boxes = run(tracker, seq)
    assert len(boxes) == FRAMES - 1
    cfg = model.cfg
    template, _ = preprocess(seq.frame(0), seq.boxes[0], cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
    np.testing.assert_array_equal(tracker.online_template, template)


def test_onnx_split_parity_and_tracking(tmp_path: Path) -> None:
    model, seq = micro_model(), synthetic_sequence(13, length=FRAMES)
    folder = export_mixformerv2(model, tmp_path / "mix")
    cfg = model.cfg
    template, _ = preprocess(seq.frame(0), seq.boxes[0], cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
    online, _ = preprocess(seq.frame(2), seq.boxes[2], cfg.template_factor, cfg.template_size, cfg.mean, cfg.std)
    search, _ = preprocess(seq.frame(3), seq.boxes[2], cfg.search_factor, cfg.search_size, cfg.mean, cfg.std)
    memory = OnnxRuntimeBackend(folder / ENCODER).infer({"template": template, "online_template": online})["memory"]
    got = OnnxRuntimeBackend(folder / STEP).infer({"search": search, "memory": memory})
    with torch.no_grad():
        t, o, s = (torch.from_numpy(a) for a in (template, online, search))
        ref_memory = model.template_memory(t, o).permute(2, 0, 1, 3, 4, 5).numpy()  # batch first
        ref = model(t, s, o)  # the unsplit network
    assert np.abs(memory - ref_memory).max() < 1e-4
    assert np.abs(got["side_logits"] - ref.side_logits.numpy()).max() < 1e-4
    assert np.abs(got["score_logit"] - ref.score_logit.numpy()).max() < 1e-4
    settings = OnlineSettings(update_interval=3)
    onnx_boxes = run(OnlineTemplateTracker.from_onnx(folder, settings), seq)
    torch_boxes = run(OnlineTemplateTracker.from_model(model, settings), seq)
    np.testing.assert_allclose(np.array(onnx_boxes), np.array(torch_boxes), atol=1e-2)


def test_settings_and_misuse_are_refused(tmp_path: Path) -> None:
    assert OnlineSettings.for_benchmark("mixformerv2_b", "GOT10K").update_interval == 10
    assert OnlineSettings.for_benchmark("mixformerv2_s", "got10k").update_interval == 15
    assert OnlineSettings.for_benchmark("mixformerv2_b", "otb").update_interval == 200
    with pytest.raises(ConfigError, match="update_interval >= 1"):
        OnlineSettings(update_interval=0)
    tracker = OnlineTemplateTracker.from_model(micro_model())
    with pytest.raises(TrackingError, match="before initialize"):
        tracker.track(np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(ArtifactError, match="not a MixFormerV2 export"):
        OnlineTemplateTracker.from_onnx(tmp_path)


def test_export_stage_writes_the_split_graphs(tmp_path: Path) -> None:
    from edgetrack.artifacts import read_manifest
    from edgetrack.export.run import run_export
    from edgetrack.models import save_model

    folder = save_model(micro_model(), tmp_path / "mix")
    out = run_export(str(folder), tmp_path / "out")
    manifest = read_manifest(out)
    assert (out / ENCODER).is_file() and (out / STEP).is_file()
    assert max(manifest["metrics"]["parity_fp32"].values()) < 1e-4


def test_a_step_backend_that_keeps_inputs_gets_the_memory_once_per_update() -> None:
    """TensorRT keeps `set_input` arrays on the GPU: the tracker sends the memory per update, the crop per frame."""
    model, seq = micro_model(20.0), synthetic_sequence(13, length=FRAMES)
    reference = OnlineTemplateTracker.from_model(model, OnlineSettings(update_interval=3))
    tracker = OnlineTemplateTracker.from_model(model, OnlineSettings(update_interval=3))
    inner, calls = tracker.step, []

    class KeepsInputs:
        def set_input(self, name: str, array: np.ndarray) -> None:
            calls.append(name)
            self.kept = {name: array}

        def infer(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            assert set(inputs) == {"search"}
            return inner.infer({**inputs, **self.kept})

    tracker.step = KeepsInputs()
    assert np.allclose(run(tracker, seq), run(reference, seq))
    assert calls == ["memory"] * tracker.updates and tracker.updates == 1 + (FRAMES - 1) // 3
