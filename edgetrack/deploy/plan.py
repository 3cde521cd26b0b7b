"""Decide what `edgetrack build` does on this host for a target: build the engine here, or write a bundle."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from edgetrack.deploy.host import Host
from edgetrack.deploy.targets import TargetProfile, list_targets
from edgetrack.errors import EdgetrackError


class TargetMismatchError(EdgetrackError):
    """This host's GPU or TensorRT does not match the target profile."""


@dataclass(frozen=True)
class BuildPlan:
    """`engine`: build here; `bundle`: write a deploy bundle (`reason` says why); `forced`: overridden mismatches."""

    mode: Literal["engine", "bundle"]
    reason: str = ""
    forced: list[str] = field(default_factory=list)


def _profile_for(cc: str) -> str:
    names = [p.name for p in list_targets() if p.compute_capability == cc]
    return f" (--target {' or '.join(names)} matches this GPU)" if names else ""


def gpu_mismatch(profile: TargetProfile, host: Host) -> str:
    """A sentence when the host GPU's architecture differs from the profile's, else ''."""
    assert host.gpu is not None
    if host.gpu.compute_capability == profile.compute_capability:
        return ""
    return (f"this machine's GPU is {host.gpu.name} (compute capability {host.gpu.compute_capability}) but "
            f"target {profile.name} needs {profile.compute_capability}: an engine built here would not load there")


def trt_mismatch(profile: TargetProfile, host: Host) -> str:
    """A sentence when the installed TensorRT is outside the profile's range, else ''."""
    assert host.tensorrt is not None and profile.tensorrt is not None
    if profile.tensorrt.contains(host.tensorrt):
        return ""
    where = f" (JetPack {profile.jetpack})" if profile.jetpack else ""
    return (f"TensorRT {host.tensorrt} is installed but target {profile.name}{where} expects TensorRT "
            f"{profile.tensorrt}: an engine is tied to the TensorRT version that built it")


def plan_build(profile: TargetProfile, host: Host, force: bool = False, bundle: bool = False) -> BuildPlan:
    """Engine here when GPU and TensorRT match the profile; a bundle when this host cannot build (no GPU, no
    TensorRT, or a workstation building for a Jetson); a refusal for other mismatches unless `force`."""
    if bundle:
        return BuildPlan("bundle", "a deploy bundle was asked for (--bundle)")
    if host.gpu is None or host.tensorrt is None:
        why = host.why_no_gpu if host.gpu is None else host.why_no_tensorrt
        return BuildPlan("bundle", f"no engine can be built on this machine: {why}")
    problems = [p for p in (gpu_mismatch(profile, host), trt_mismatch(profile, host)) if p]
    if not problems:
        return BuildPlan("engine")
    if force:
        return BuildPlan("engine", forced=problems)
    if gpu_mismatch(profile, host) and profile.kind == "jetson":
        return BuildPlan("bundle", f"this machine's GPU ({host.gpu.name}, compute capability "
                                   f"{host.gpu.compute_capability}) is not a {profile.name}")
    hint = _profile_for(host.gpu.compute_capability) if gpu_mismatch(profile, host) else ""
    raise TargetMismatchError("; ".join(problems) + f".{hint} Pass --bundle to write a deploy bundle for the target "
                              "machine, or --force to build an engine for this machine anyway.")
