from __future__ import annotations

import pytest
import yaml

from edgetrack.config.base import build_config
from edgetrack.deploy.targets import TargetProfile, get_target, list_targets, load_profile, parse_version
from edgetrack.errors import ConfigError, RegistryError

SHIPPED = {"jetson-orin", "jetson-orin-agx", "jetson-orin-nx", "jetson-orin-nano", "jetson-xavier-nx", "desktop-ampere",
           "desktop-ada", "desktop-hopper", "cpu"}


def _profile(**changes) -> dict:
    base = get_target("jetson-orin-nano").to_dict()
    base.update(changes)
    return base


def test_every_shipped_profile_validates_with_the_documented_architecture() -> None:
    profiles = {p.name: p for p in list_targets()}
    assert set(profiles) == SHIPPED
    assert {n: profiles[n].compute_capability for n in ("desktop-ampere", "desktop-ada", "desktop-hopper")} == {
        "desktop-ampere": "8.6", "desktop-ada": "8.9", "desktop-hopper": "9.0"}
    assert profiles["jetson-orin-nano"].sm == "sm_87" and profiles["jetson-orin-nano"].dla_cores == 0
    xavier = profiles["jetson-xavier-nx"]
    assert xavier.typing == "legacy" and xavier.tensorrt.contains("8.5.2.2") and not xavier.tensorrt.contains("8.6")
    assert profiles["jetson-orin-agx"].typing == "strong" and profiles["cpu"].tensorrt is None


def test_invalid_profiles_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError, match="strong typing .* needs TensorRT >= 10"):
        build_config(TargetProfile, _profile(tensorrt={"min": "8.5", "below": "8.6"}))
    with pytest.raises(ConfigError, match="workspace_mb 9000 exceeds"):
        build_config(TargetProfile, _profile(workspace_mb=9000))
    with pytest.raises(ConfigError, match="default_precision fp16 is not one of"):
        build_config(TargetProfile, _profile(precisions=["int8"]))
    with pytest.raises(ConfigError, match="needs \\['compute_capability'\\]"):
        build_config(TargetProfile, _profile(compute_capability=None))
    with pytest.raises(ConfigError, match="min 11.0 must be below 10.0"):
        build_config(TargetProfile, _profile(tensorrt={"min": "11.0", "below": "10.0"}))
    with pytest.raises(ConfigError, match="workspace"):
        build_config(TargetProfile, _profile(workspace=10))  # unknown key (typo)


def test_profile_files_by_path_and_unknown_names(tmp_path) -> None:
    mine = _profile(name="my-board", compute_capability=8.7)  # YAML reads 8.7 unquoted as a float
    (tmp_path / "my-board.yaml").write_text(yaml.safe_dump(mine))
    assert get_target(str(tmp_path / "my-board.yaml")).compute_capability == "8.7"
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(mine))
    with pytest.raises(ConfigError, match="must match the file name"):
        load_profile(tmp_path / "other.yaml")
    with pytest.raises(RegistryError, match="Did you mean 'jetson-orin-nano'"):
        get_target("jetson-orin-nan")
    with pytest.raises(ConfigError, match="not found"):
        get_target(str(tmp_path / "missing.yaml"))


def test_versions_compare_numerically() -> None:
    assert parse_version("10.3.0.30") == (10, 3, 0, 30) and parse_version("10.3.0.post1") == (10, 3, 0)
    assert parse_version("10.10") > parse_version("10.9")
    with pytest.raises(ConfigError, match="not a version"):
        parse_version("latest")


def test_jetson_orin_is_a_family_of_the_orin_modules() -> None:
    from edgetrack.deploy.targets import family_problems

    orin = get_target("jetson-orin")
    assert orin.members == ("jetson-orin-agx", "jetson-orin-nx", "jetson-orin-nano") and family_problems(orin) == []
    assert all(get_target(m).family == "jetson-orin" for m in orin.members)
    assert orin.dla_cores == 0 and orin.memory_gb is None  # not every member has a DLA; memory is read on the device
    # its workspace, from the memory each module reports, is what that module's own target uses
    for name in orin.members:
        member = get_target(name)
        assert orin.workspace_for(member.memory_gb * 1024) == member.workspace_mb, name
    assert orin.workspace_for(32 * 1024) == 4096 and orin.workspace_for(None) == 1024
    assert get_target("jetson-orin-nano").workspace_for(64 * 1024) == 1024  # a module target keeps its own


def test_family_and_workspace_fields_are_checked() -> None:
    with pytest.raises(ConfigError, match="workspace_share and workspace_max_mb go together"):
        build_config(TargetProfile, _profile(workspace_share=0.1))
    with pytest.raises(ConfigError, match="below workspace_mb"):
        build_config(TargetProfile, _profile(workspace_share=0.1, workspace_max_mb=512))
    with pytest.raises(ConfigError, match="either a family"):
        build_config(TargetProfile, _profile(members=["a"], family="b"))


def test_targets_cli_shows_the_family_and_explains_it(capsys) -> None:
    from edgetrack.cli.app import run

    assert run(["targets", "list"]) == 0
    listed = capsys.readouterr().out
    assert "3 members" in listed and "jetson-orin: one bundle for jetson-orin-agx, jetson-orin-nx" in listed
    assert run(["targets", "show", "jetson-orin"]) == 0
    shown = capsys.readouterr().out
    assert "family target" in shown and "reads the module's memory" in shown and "engine.json records" in shown
