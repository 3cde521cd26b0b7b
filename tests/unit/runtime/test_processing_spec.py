"""One processing spec: the model config, the export's io_spec.json and the runtime read the same fields."""

from __future__ import annotations

import pytest

from edgetrack.errors import ConfigError
from edgetrack.models.presets import PRESETS, preset_config
from edgetrack.runtime.io_spec import IOSpec
from edgetrack.runtime.spec import ProcessingSpec

NAMES = list(ProcessingSpec.model_fields)


def test_the_io_spec_stores_exactly_the_processing_fields() -> None:
    io_only = {"inputs", "outputs", "layout", "fused_postprocess", "dynamic_batch", "model_name", "extra"}
    assert set(IOSpec.model_fields) - io_only == set(NAMES)


def test_a_processing_field_is_declared_once() -> None:
    # every processing field but the feature size (a model config derives it) is inherited, not redeclared
    from edgetrack.config.model import ModelConfig
    from edgetrack.config.processing import CropSettings

    shared = set(CropSettings.model_fields)
    assert shared <= set(ModelConfig.model_fields) and set(NAMES) == shared | {"feat_size"}
    for cls in (ModelConfig, ProcessingSpec, IOSpec):
        assert not shared & set(vars(cls).get("__annotations__", {})), cls


@pytest.mark.parametrize("name", PRESETS.names())
def test_model_config_io_spec_and_json_give_the_same_spec(tmp_path, name) -> None:
    cfg = preset_config(name)
    direct = ProcessingSpec.from_model_config(cfg)
    assert direct.feat_size == cfg.search_feat and direct.min_score == cfg.min_score
    spec = IOSpec.from_model_config(cfg)
    spec.save(tmp_path)
    assert ProcessingSpec.from_io_spec(IOSpec.load(tmp_path)) == direct
    assert ProcessingSpec.read(IOSpec.load(tmp_path)).to_dict() == {n: spec.to_dict()[n] for n in NAMES}


def test_vittrack_keeps_its_whole_pixel_rule_and_threshold_end_to_end() -> None:
    spec = ProcessingSpec.from_io_spec(IOSpec.from_model_config(preset_config("vittrack")))
    assert (spec.integer_boxes, spec.min_score) == (True, 0.2)


def test_an_invalid_spec_is_refused() -> None:
    class Source:  # an io_spec.json edited by hand: the config's validation never saw it
        template_size, search_size, template_factor, search_factor, feat_size = 64, 128, 2.0, 4.0, 16
        mean, std, min_score = (0.5, 0.5, 0.5), (0.2, 0.2, 0.2), 1.5

    with pytest.raises(ConfigError, match="min_score"):
        ProcessingSpec.read(Source())
