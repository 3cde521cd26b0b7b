"""Read PyTorch pickles without executing code from them.

Releases such as OSTrack's `.pth.tar` pickle training settings objects next to the weights, so
`torch.load(weights_only=True)` refuses them. This unpickler resolves only tensor-rebuilding functions
and plain containers; any other global becomes an inert `Refused` placeholder that records its name and
absorbs construction arguments, so a malicious `__reduce__` (os.system, eval, ...) never runs.
"""

from __future__ import annotations

import collections
import pickle
import types
from pathlib import Path
from typing import Any

import torch

_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): torch._utils._rebuild_parameter_with_state,
    ("torch", "Size"): torch.Size,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "slice"): slice,
}
_DTYPES = {name for name in dir(torch) if isinstance(getattr(torch, name, None), torch.dtype)}


class Refused:
    """Stand-in for a global the unpickler would not import; it does nothing at all."""

    qualname = "?"

    def __new__(cls, *args: Any, **kwargs: Any) -> Refused:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __repr__(self) -> str:
        return f"<refused {self.qualname}>"


def _refused(module: str, name: str) -> type[Refused]:
    return type(f"Refused_{name}", (Refused,), {"qualname": f"{module}.{name}"})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that imports only an allow-list and replaces everything else by `Refused`."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _DTYPES:
            return getattr(torch, name)
        if module == "torch" and name.endswith("Storage"):
            return getattr(torch, name)
        return _refused(module, name)


# torch.load accepts any module object exposing `Unpickler` and `load`.
restricted_pickle = types.ModuleType("edgetrack_restricted_pickle")
restricted_pickle.Unpickler = RestrictedUnpickler  # type: ignore[attr-defined]
restricted_pickle.load = lambda f, **kw: RestrictedUnpickler(f, **kw).load()  # type: ignore[attr-defined]
restricted_pickle.__dict__.update({"UnpicklingError": pickle.UnpicklingError})


def load_pickle(path: str | Path) -> Any:
    """Load a torch checkpoint on the CPU; code inside the pickle is never executed."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # extra pickled objects: fall back to the allow-list unpickler below
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted_pickle)
