"""Read PyTorch pickles without executing code from them.

Releases such as OSTrack's `.pth.tar` pickle training settings objects next to the weights, so
`torch.load(weights_only=True)` refuses them. This unpickler resolves only tensor-rebuilding functions
and plain containers; any other global becomes an inert `Refused` placeholder that records its name and
absorbs construction arguments, so a malicious `__reduce__` (os.system, eval, ...) never runs.
"""

from __future__ import annotations

import collections
import pickle
import re
import types
import warnings
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
        with warnings.catch_warnings():  # torch says it would dispatch a TorchScript file to torch.jit.load: it won't
            warnings.filterwarnings("ignore", message=".*TorchScript archive", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # extra pickled objects: fall back to the allow-list unpickler below
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted_pickle)


#: what to do with a refused checkpoint file that came from another project
CONVERT = ("convert it to safetensors (or torch.save a plain state_dict()) with the project that made it; edgetrack "
           "reads tensors, plain containers and numbers")
_GLOBAL = re.compile(r"GLOBAL (\S+) was not an allowed global")


def refusal_reason(err: BaseException, advice: str = CONVERT) -> str:
    """Why torch refused a pickle, in edgetrack's words, then `advice`.

    torch's own message advises `weights_only=False`, which would run code from the file; that advice is never
    passed on, only what edgetrack accepts instead.
    """
    text = str(err).strip()
    if "weights_only" not in text.lower().replace(" ", "_"):
        return text
    if "TorchScript" in text:
        what = "it is a TorchScript archive (torch.jit.save), and loading one runs the code it holds"
    else:
        found = _GLOBAL.search(text)
        name = f" ({found.group(1)})" if found else ""
        what = f"it holds pickled objects other than tensors{name}, which edgetrack never unpickles"
    return f"{what}; {advice}" if advice else what
