from __future__ import annotations

import pytest
from pydantic import ValidationError

from edgetrack.config.base import FrozenConfig, apply_overrides, load_config
from edgetrack.config.model import ModelConfig
from edgetrack.errors import ConfigError


class Optim(FrozenConfig):
    lr: float = 4e-5
    weight_decay: float = 1e-4


class Train(FrozenConfig):
    epochs: int = 500
    optim: Optim = Optim()
    datasets: tuple[str, ...] = ("lasot",)


def test_defaults_yaml_and_overrides(tmp_path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("epochs: 10\noptim:\n  lr: 0.001\n")
    cfg = load_config(Train, path, ["optim.weight_decay=0.05", "datasets=[got10k, coco]"])
    assert cfg.epochs == 10
    assert cfg.optim.lr == pytest.approx(0.001)
    assert cfg.optim.weight_decay == pytest.approx(0.05)
    assert cfg.datasets == ("got10k", "coco")


def test_configs_are_frozen() -> None:
    cfg = load_config(Train)
    with pytest.raises(ValidationError):
        cfg.epochs = 3  # type: ignore[misc]
    assert cfg.replace(epochs=3).epochs == 3 and cfg.epochs == 500


def test_unknown_key_suggests_closest() -> None:
    with pytest.raises(ConfigError, match="unknown config key 'optim.weight_decy'. Did you mean 'optim.weight_decay'"):
        load_config(Train, None, ["optim.weight_decy=0.1"])
    with pytest.raises(ConfigError, match="unknown config key 'epoch'. Did you mean 'epochs'"):
        load_config(Train, {"epoch": 3})
    # a misspelt section keeps the rest of the key in the suggestion
    with pytest.raises(ConfigError, match=r"unknown config key 'optm.lr'. Did you mean 'optim.lr'\?"):
        load_config(Train, None, ["optm.lr=0.1"])


def test_bad_value_and_bad_override_form(tmp_path) -> None:
    with pytest.raises(ConfigError, match="invalid Train for 'epochs'"):
        load_config(Train, None, ["epochs=many"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(Train, None, ["epochs"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(Train, tmp_path / "missing.yaml")


def test_apply_overrides_does_not_mutate_input() -> None:
    data = {"optim": {"lr": 1.0}}
    out = apply_overrides(data, ["optim.lr=2.0"])
    assert data == {"optim": {"lr": 1.0}} and out == {"optim": {"lr": 2.0}}


def test_model_config_checks_geometry() -> None:
    with pytest.raises(ValidationError, match="multiple of patch size"):
        ModelConfig(search_size=250)
    with pytest.raises(ValidationError, match="divisible by num_heads"):
        ModelConfig(embed_dim=100, num_heads=12)
    assert ModelConfig().search_feat == 16 and ModelConfig().template_feat == 8
