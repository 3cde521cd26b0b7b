from __future__ import annotations

import pytest

from edgetrack.errors import RegistryError
from edgetrack.registry import Registry


def test_register_get_and_list() -> None:
    reg: Registry[int] = Registry("thing")
    reg.add("alpha", 1)
    reg.register("beta")(2)
    assert reg.get("beta") == 2
    assert reg.names() == ["alpha", "beta"]
    assert reg.names("a*") == ["alpha"]
    assert "alpha" in reg and len(reg) == 2


def test_unknown_name_suggests_closest() -> None:
    reg: Registry[int] = Registry("model")
    reg.add("ostrack256", 1)
    with pytest.raises(RegistryError, match="unknown model 'ostrak256'. Did you mean 'ostrack256'"):
        reg.get("ostrak256")


def test_duplicate_registration_refused() -> None:
    reg: Registry[int] = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(RegistryError, match="registered twice"):
        reg.add("a", 2)
