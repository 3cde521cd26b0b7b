"""Target profiles: what a deployment target's GPU, TensorRT and memory allow, validated on load.

The profiles live in `edgetrack/deploy/profiles/*.yaml`, inside the package, so they ship in the wheel as
package data and load the same way from an editable checkout or an installed package. The repository's
top-level `targets/` is a symbolic link to that folder: one set of files, two ways to reach it. A profile of
one's own is a YAML file with the same fields, passed by path (`--target my-board.yaml`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from edgetrack.config.base import FrozenConfig, build_config, read_yaml
from edgetrack.deploy.engine_script import version_tuple
from edgetrack.errors import ConfigError
from edgetrack.registry import Registry

PROFILE_DIR = Path(__file__).with_name("profiles")
PRECISIONS = ("fp32", "fp16", "int8")


def parse_version(text: str) -> tuple[int, ...]:
    """'10.3.0.30' -> (10, 3, 0, 30); leading numeric parts only ('10.3.0.post1' -> (10, 3, 0))."""
    parts = version_tuple(text)  # the bundle script's own parser, so both sides compare versions alike
    if not parts:
        raise ConfigError(f"'{text}' is not a version number (expected e.g. 10.3)")
    return parts


class VersionRange(FrozenConfig):
    """TensorRT versions from `min` (inclusive) up to `below` (exclusive), compared part by part."""

    min: str
    below: str

    @model_validator(mode="after")
    def _ordered(self) -> VersionRange:
        if parse_version(self.min) >= parse_version(self.below):
            raise ValueError(f"min {self.min} must be below {self.below}")
        return self

    def contains(self, version: str) -> bool:
        v = parse_version(version)
        return parse_version(self.min) <= v < parse_version(self.below)

    def __str__(self) -> str:
        return f">={self.min},<{self.below}"


class TargetProfile(FrozenConfig):
    """One deployment target: a Jetson module, a desktop GPU generation, or the CPU."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    kind: Literal["jetson", "desktop", "cpu"]
    description: str
    devices: tuple[str, ...] = ()
    compute_capability: str | None = Field(default=None, pattern=r"^\d+\.\d$")
    jetpack: str | None = None
    tensorrt: VersionRange | None = None
    typing: Literal["strong", "legacy"] | None = None
    dla_cores: int = Field(default=0, ge=0, le=4)
    memory_gb: float | None = Field(default=None, gt=0)
    workspace_mb: int | None = Field(default=None, ge=64)
    precisions: tuple[Literal["fp32", "fp16", "int8"], ...] = Field(min_length=1)
    default_precision: Literal["fp32", "fp16", "int8"] | None = None
    builder_optimization_level: int = Field(default=3, ge=0, le=5)
    # a family target (jetson-orin) names its member modules; a member names its family
    members: tuple[str, ...] = ()
    family: str | None = None
    # workspace from the device's memory at build time: share x memory, between workspace_mb and workspace_max_mb
    workspace_share: float | None = Field(default=None, gt=0, le=1)
    workspace_max_mb: int | None = Field(default=None, ge=64)

    @field_validator("compute_capability", mode="before")
    @classmethod
    def _cc_text(cls, value: object) -> object:
        # YAML reads an unquoted 8.7 as a float; accept it, but 8.10 would be read as 8.1, so quoting is safer
        return f"{value:.1f}" if isinstance(value, float) else value

    @model_validator(mode="after")
    def _consistent(self) -> TargetProfile:
        gpu_fields = {"compute_capability": self.compute_capability, "tensorrt": self.tensorrt,
                      "typing": self.typing, "workspace_mb": self.workspace_mb}
        if self.kind == "cpu":
            given = [k for k, v in gpu_fields.items() if v is not None]
            if given:
                raise ValueError(f"a cpu target has no GPU settings; remove {given}")
            return self
        missing = [k for k, v in gpu_fields.items() if v is None]
        if missing:
            raise ValueError(f"a {self.kind} target needs {missing}")
        assert self.tensorrt is not None  # checked just above; narrows the type
        if self.typing == "strong" and parse_version(self.tensorrt.min) < (10,):
            raise ValueError("strong typing (precision from Q/DQ and fp16 ONNX) needs TensorRT >= 10")
        if self.typing == "legacy" and parse_version(self.tensorrt.below) > (11,):
            raise ValueError("legacy precision flags and INT8 calibrators were removed in TensorRT 11; "
                             "set tensorrt.below <= 11.0 or typing: strong")
        if self.memory_gb is not None and self.workspace_mb is not None and self.workspace_mb > self.memory_gb * 1024:
            raise ValueError(f"workspace_mb {self.workspace_mb} exceeds the device memory ({self.memory_gb} GB)")
        if (self.workspace_share is None) != (self.workspace_max_mb is None):
            raise ValueError("workspace_share and workspace_max_mb go together (the share of the device's memory "
                             "and its cap)")
        if self.workspace_max_mb is not None and self.workspace_max_mb < self.workspace_mb:  # type: ignore[operator]
            raise ValueError(f"workspace_max_mb {self.workspace_max_mb} is below workspace_mb {self.workspace_mb}")
        if self.members and self.family:
            raise ValueError("a target is either a family (members) or one of its members (family), not both")
        if self.default_precision is not None and self.default_precision not in self.precisions:
            raise ValueError(f"default_precision {self.default_precision} is not one of precisions {self.precisions}")
        return self

    @property
    def sm(self) -> str:
        """'8.7' -> 'sm_87' (empty for the CPU)."""
        return "sm_" + self.compute_capability.replace(".", "") if self.compute_capability else ""

    @property
    def is_gpu(self) -> bool:
        return self.kind != "cpu"

    def workspace_for(self, memory_mb: float | None) -> int:
        """The builder workspace on a device with `memory_mb` (None: unknown), as build_engine.py computes it."""
        from edgetrack.deploy.engine_script import workspace_for

        return workspace_for(memory_mb, self.workspace_settings())

    def workspace_settings(self) -> dict[str, float | int | None]:
        return {"workspace_mb": self.workspace_mb, "workspace_share": self.workspace_share,
                "workspace_max_mb": self.workspace_max_mb}


def load_profile(path: str | Path) -> TargetProfile:
    """Read and validate one profile YAML; errors name the file and the field."""
    path = Path(path)
    try:
        profile = build_config(TargetProfile, read_yaml(path))
    except ConfigError as err:
        raise ConfigError(f"target profile {path}: {err}") from None
    if path.stem != profile.name:
        raise ConfigError(f"target profile {path}: its name '{profile.name}' must match the file name '{path.stem}'")
    return profile


def _registry() -> Registry[Path]:
    targets: Registry[Path] = Registry("target")
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        targets.add(path.stem, path)
    return targets


#: target name -> profile file; the files are read (and validated) when a target is asked for
TARGETS: Registry[Path] = _registry()


@cache
def _load_named(name: str) -> TargetProfile:
    return load_profile(TARGETS.get(name))


def get_target(name_or_path: str | Path) -> TargetProfile:
    """A shipped profile by name (with a did-you-mean error), or a profile YAML given by path."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")):
        if not Path(text).is_file():
            raise ConfigError(f"target profile file not found: {text}")
        return load_profile(text)
    return _load_named(text)


def list_targets() -> list[TargetProfile]:
    """Every shipped profile, validated, in name order."""
    return [get_target(name) for name in TARGETS.names()]


def family_problems(family: TargetProfile) -> list[str]:
    """Ways a family's members do not share what its single bundle assumes (GPU architecture, TensorRT, typing)."""
    problems = []
    for name in family.members:
        member = get_target(name)
        for field in ("kind", "compute_capability", "jetpack", "tensorrt", "typing"):
            if getattr(member, field) != getattr(family, field):
                problems.append(f"{name}: {field} {getattr(member, field)} differs from {family.name}'s "
                                f"{getattr(family, field)}")
        if member.family != family.name:
            problems.append(f"{name} does not name {family.name} as its family")
    return problems
