"""Model families are plug-ins: every stage asks the registry, so a new family is one registration."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from edgetrack.errors import CheckpointError, RegistryError
from edgetrack.families import FAMILIES, Family, family, family_of, format_owner
from edgetrack.models.factory import build_model, create_model, save_model
from edgetrack.models.presets import PRESETS, preset_config
from edgetrack.models.profile import count_macs
from edgetrack.models.tracker import TrackerModel
from edgetrack.runtime.contract import BaseTracker
from edgetrack.runtime.online_tracker import OnlineTemplateTracker, tracker_for_model
from edgetrack.runtime.tracker import Tracker
from tests.conftest import MICRO

PACKAGE = Path(__file__).resolve().parents[2] / "edgetrack"
#: modules that may name a family: the registry, the presets, and each family's own modules
FAMILY_MODULES = {"families/__init__.py", "families/ostrack.py", "families/vittrack.py", "families/mixformerv2.py",
                  "models/mixformerv2.py", "export/mixformerv2.py", "compress/mixformerv2.py"}


def test_every_preset_belongs_to_a_registered_family_whose_hooks_resolve() -> None:
    for name in PRESETS.names():
        fam = family_of(preset_config(name))
        for field in ("model_class", "compression", "tracker"):
            assert callable(fam.hook(field)), (name, field)
    with pytest.raises(RegistryError, match="Did you mean 'ostrack'"):
        family("ostrak")


def test_each_family_gets_its_own_model_tracking_loop_and_checkpoint_formats() -> None:
    torch.manual_seed(0)
    ostrack = TrackerModel(MICRO).eval()
    assert isinstance(tracker_for_model(ostrack), Tracker)
    assert family("mixformerv2").hook("tracker") == OnlineTemplateTracker.from_model
    assert format_owner("mixformerv2") is family("mixformerv2") and format_owner("ostrack") is None
    assert count_macs(preset_config("mixformerv2_s")) == family("mixformerv2").hook("macs")(
        preset_config("mixformerv2_s"))


def test_a_new_family_is_one_registration(monkeypatch, tmp_path) -> None:
    class Wide(TrackerModel):
        """A stand-in family: the one-stream model under another class."""

    monkeypatch.setitem(FAMILIES._entries, "wide", Family(
        name="wide", model_class=f"{__name__}:_WIDE", compression="edgetrack.compress.task:make_compression",
        tracker="edgetrack.runtime.tracker:Tracker.from_model"))
    monkeypatch.setitem(globals(), "_WIDE", Wide)
    cfg = MICRO.replace(family="wide")
    model = build_model(cfg)
    assert type(model) is Wide
    folder = save_model(model, tmp_path / "w")  # saving, loading and tracking need nothing else
    assert type(create_model(folder)) is Wide
    with tracker_for_model(model) as tracker:
        assert isinstance(tracker, BaseTracker)


def test_a_checkpoint_format_of_one_family_is_refused_by_another(tmp_path) -> None:
    path = tmp_path / "mix.pth.tar"
    mix = build_model(preset_config("mixformerv2_s").replace(depth=1, embed_dim=32, num_heads=2))
    torch.save({"net": mix.state_dict()}, path)
    with pytest.raises(CheckpointError, match="a mixformerv2 checkpoint; load it with a mixformerv2 preset"):
        create_model("tiny", checkpoint=path)


def test_no_stage_branches_on_a_family_name() -> None:
    # `cfg.family == "x"` and text searches such as `'"x"' in config_text` are what the registry replaces
    pattern = re.compile(r"family\s*[!=]=\s*[\"']|[\"']+(mixformerv2|ostrack|vittrack)[\"']+\s+in\s")
    found = [f"{p.relative_to(PACKAGE)}:{i}" for p in PACKAGE.rglob("*.py")
             if str(p.relative_to(PACKAGE)) not in FAMILY_MODULES
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert found == []


def test_candidate_elimination_comes_from_the_family() -> None:
    from edgetrack.errors import ModelError
    from edgetrack.models.factory import model_config

    assert tuple(model_config("ostrack256", ce=True).ce_loc) == family("ostrack").candidate_elimination[0]
    assert tuple(model_config("tiny", ce=True).ce_loc) == (3,)  # blocks past a 4-block model's depth are dropped
    with pytest.raises(ModelError, match="family mixformerv2 has no candidate elimination"):
        model_config("mixformerv2_s", ce=True)
