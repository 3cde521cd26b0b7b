from __future__ import annotations

import pytest

from edgetrack.deploy.host import Gpu, Host
from edgetrack.deploy.plan import TargetMismatchError, plan_build
from edgetrack.deploy.targets import get_target

ORIN_NANO = Host(tensorrt="10.3.0.30", gpu=Gpu("Orin", "8.7", 7.4))
RTX_4090 = Host(tensorrt="10.7.0", gpu=Gpu("NVIDIA GeForce RTX 4090", "8.9", 24.0))
NO_GPU = Host(tensorrt=None, gpu=None, why_no_tensorrt="the tensorrt package is not installed",
              why_no_gpu="no CUDA GPU is visible")


def test_matching_host_builds_an_engine_here() -> None:
    assert plan_build(get_target("jetson-orin-nano"), ORIN_NANO).mode == "engine"
    assert plan_build(get_target("desktop-ada"), RTX_4090).mode == "engine"


def test_machine_without_gpu_writes_a_bundle_and_says_why() -> None:
    plan = plan_build(get_target("jetson-orin-nano"), NO_GPU)
    assert plan.mode == "bundle" and "no CUDA GPU is visible" in plan.reason


def test_workstation_building_for_a_jetson_writes_a_bundle() -> None:
    plan = plan_build(get_target("jetson-orin-nano"), RTX_4090)
    assert plan.mode == "bundle" and "RTX 4090" in plan.reason and "not a jetson-orin-nano" in plan.reason


def test_desktop_mismatch_is_refused_precisely_unless_forced() -> None:
    with pytest.raises(TargetMismatchError, match=r"compute capability 8.9.*needs 8.6.*--target desktop-ada"):
        plan_build(get_target("desktop-ampere"), RTX_4090)
    forced = plan_build(get_target("desktop-ampere"), RTX_4090, force=True)
    assert forced.mode == "engine" and "needs 8.6" in forced.forced[0]


def test_tensorrt_outside_the_range_is_refused() -> None:
    old = Host(tensorrt="8.6.1", gpu=Gpu("NVIDIA GeForce RTX 4090", "8.9", 24.0))
    with pytest.raises(TargetMismatchError, match=r"TensorRT 8.6.1 is installed but target desktop-ada expects "
                                                  r"TensorRT >=10.0,<12.0"):
        plan_build(get_target("desktop-ada"), old)
    jetpack5 = Host(tensorrt="8.5.2.2", gpu=Gpu("Orin", "8.7", 7.4))
    with pytest.raises(TargetMismatchError, match=r"JetPack 6.1"):
        plan_build(get_target("jetson-orin-nano"), jetpack5)


def test_bundle_on_request() -> None:
    assert plan_build(get_target("jetson-orin-nano"), ORIN_NANO, bundle=True).mode == "bundle"
