from __future__ import annotations

import os
import pickle

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from edgetrack.artifacts import read_manifest
from edgetrack.errors import CheckpointError, ModelError
from edgetrack.models import create_model, save_model
from edgetrack.models.checkpoint import detect_format, resize_pos_embed
from edgetrack.models.safe_pickle import load_pickle
from edgetrack.models.tracker import TrackerModel
from tests.conftest import MICRO, randomize_bn


class TrainingSettings:
    """Stands in for the settings object OSTrack pickles beside its weights."""

    def __init__(self) -> None:
        self.lr = 4e-4


class Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204 - pickle protocol
        return (os.system, (f"touch {self.marker}",))


def _outputs(model: TrackerModel) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    z = torch.randn(2, 3, model.cfg.template_size, model.cfg.template_size, generator=g)
    x = torch.randn(2, 3, model.cfg.search_size, model.cfg.search_size, generator=g)
    with torch.no_grad():
        return list(model(z, x))


def _ostrack_release(model: TrackerModel) -> dict:
    """A checkpoint laid out like OSTrack_ep0300.pth.tar."""
    net = dict(model.state_dict())
    net["backbone.cls_token"] = torch.zeros(1, 1, model.cfg.embed_dim)
    net["backbone.pos_embed"] = torch.zeros(1, 1 + 4 * 4, model.cfg.embed_dim)
    return {"net": net, "epoch": 300, "settings": TrainingSettings(), "net_type": "OSTrack"}


@pytest.fixture
def micro_folder(tmp_path, micro_model: TrackerModel):
    randomize_bn(micro_model)
    return save_model(micro_model, tmp_path / "micro", stage="test")


def test_ostrack_release_loads_strictly_with_same_outputs(tmp_path, micro_model, micro_folder) -> None:
    path = tmp_path / "OSTrack_ep0300.pth.tar"
    torch.save(_ostrack_release(micro_model), path)
    loaded = create_model(micro_folder, checkpoint=path)
    for a, b in zip(_outputs(micro_model), _outputs(loaded), strict=True):
        assert torch.equal(a, b)


def test_missing_and_unexpected_keys_name_the_format(tmp_path, micro_model, micro_folder) -> None:
    raw = _ostrack_release(micro_model)
    del raw["net"]["box_head.conv5_ctr.weight"]
    raw["net"]["backbone.extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth.tar"
    torch.save(raw, path)
    with pytest.raises(CheckpointError) as info:
        create_model(micro_folder, checkpoint=path)
    msg = str(info.value)
    assert "ostrack format" in msg and "box_head.conv5_ctr.weight" in msg and "backbone.extra.weight" in msg


def test_shape_mismatch_is_reported(tmp_path, micro_folder) -> None:
    other = TrackerModel(MICRO.replace(embed_dim=64))
    path = tmp_path / "wide.pth.tar"
    torch.save({"net": other.state_dict()}, path)
    with pytest.raises(CheckpointError, match="shape mismatches: backbone.pos_embed_z"):
        create_model(micro_folder, checkpoint=path)


def test_compresstracker_student_keys_and_depth(tmp_path, micro_model, micro_folder) -> None:
    student = TrackerModel(MICRO.replace(depth=2))
    randomize_bn(student, seed=3)
    net = {k.replace("backbone.blocks.", "backbone.distill_blocks."): v for k, v in student.state_dict().items()}
    path = tmp_path / "CompressTracker_ep0500.pth.tar"
    torch.save({"net": net}, path)
    assert detect_format({"net": net}) == "compresstracker"
    loaded = create_model(micro_folder, checkpoint=path)
    assert loaded.cfg.depth == 2
    for a, b in zip(_outputs(student.eval()), _outputs(loaded), strict=True):
        assert torch.equal(a, b)


def test_mae_checkpoint_fills_backbone_and_resizes_positions(tmp_path, micro_folder) -> None:
    dim = MICRO.embed_dim
    donor = TrackerModel(MICRO)
    encoder = {k.removeprefix("backbone."): v for k, v in donor.state_dict().items() if k.startswith("backbone.")}
    del encoder["pos_embed_z"], encoder["pos_embed_x"]
    pos = torch.randn(1, 1 + 14 * 14, dim)
    encoder.update(cls_token=torch.zeros(1, 1, dim), pos_embed=pos)
    path = tmp_path / "mae_pretrain_vit.pth"
    torch.save({"model": encoder}, path)
    model = create_model(micro_folder, checkpoint=path)
    grid = pos[:, 1:].reshape(1, 14, 14, dim).permute(0, 3, 1, 2)
    expected_x = F.interpolate(grid, size=(4, 4), mode="bicubic", align_corners=False).flatten(2).transpose(1, 2)
    torch.testing.assert_close(model.backbone.pos_embed_x.data, expected_x)
    assert model.backbone.pos_embed_z.shape == (1, 4, dim)
    torch.testing.assert_close(model.backbone.blocks[1].mlp.fc1.weight, donor.backbone.blocks[1].mlp.fc1.weight)


def test_resize_pos_embed_identity_and_cls_drop() -> None:
    pos = torch.randn(1, 16, 8)
    assert torch.equal(resize_pos_embed(pos, 4), pos)
    with_cls = torch.cat([torch.zeros(1, 1, 8), pos], dim=1)
    assert torch.equal(resize_pos_embed(with_cls, 4), pos)


def test_folder_round_trip_is_exact(micro_model, micro_folder) -> None:
    assert {p.name for p in micro_folder.iterdir()} == {"model.safetensors", "config.json", "manifest.json"}
    assert read_manifest(micro_folder)["stage"] == "test"
    loaded = create_model(micro_folder)
    assert loaded.cfg == micro_model.cfg
    for (ka, va), (kb, vb) in zip(micro_model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_safetensors_file_loads(tmp_path, micro_model, micro_folder) -> None:
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in micro_model.state_dict().items()}, str(path))
    loaded = create_model(micro_folder, checkpoint=path)
    assert torch.equal(loaded.backbone.norm.weight, micro_model.backbone.norm.weight)


def test_malicious_pickle_does_not_run(tmp_path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth.tar"
    torch.save({"net": {"backbone.norm.weight": torch.ones(2)}, "settings": Exploit(str(marker))}, path)
    raw = load_pickle(path)
    assert not marker.exists()
    assert torch.equal(raw["net"]["backbone.norm.weight"], torch.ones(2))
    assert "posix.system" in repr(raw["settings"]) or "os.system" in repr(raw["settings"])


def test_raw_pickle_exploit_does_not_run(tmp_path) -> None:
    marker = tmp_path / "pwned2"
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"net": {}, "x": Exploit(str(marker))}, protocol=2))
    with pytest.raises(CheckpointError):
        create_model("tiny", checkpoint=path)  # an empty 'net' matches nothing
    assert not marker.exists()


def test_unreadable_and_missing_checkpoints(tmp_path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        create_model("tiny", checkpoint=bad)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        create_model("tiny", checkpoint=tmp_path / "nope.pth")
    with pytest.raises(ModelError, match="not a model folder"):
        create_model(str(tmp_path / "no_such_dir/"))
    with pytest.raises(CheckpointError, match="no bundled weights"):
        create_model("ostrack256", pretrained=True)
