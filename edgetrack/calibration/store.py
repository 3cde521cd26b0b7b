"""CalibrationSet: input arrays keyed by input name, a fingerprint and provenance, stored as one .npz."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgetrack.artifacts import check_out_file, remove_stale_siblings, temp_sibling
from edgetrack.errors import ArtifactError

META_KEY = "__meta__"


@dataclass
class CalibrationSet:
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """sha256 over the input names, shapes and bytes (order independent of dict order)."""
        digest = hashlib.sha256()
        for name in sorted(self.arrays):
            a = np.ascontiguousarray(self.arrays[name], dtype=np.float32)
            digest.update(name.encode())
            digest.update(str(a.shape).encode())
            digest.update(a.tobytes())
        return digest.hexdigest()

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values()))) if self.arrays else 0

    def save(self, path: str | Path) -> Path:
        """Write atomically; the file holds one array per input plus a JSON meta entry."""
        path = Path(path)
        check_out_file(path, "the calibration file to write (e.g. calib.npz)")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {**self.meta, "fingerprint": self.fingerprint, "samples": len(self)}
        remove_stale_siblings(path)
        tmp = temp_sibling(path, ".npz")  # np.savez would add the suffix to a name without it
        try:
            np.savez(tmp, **self.arrays, **{META_KEY: np.array(json.dumps(meta))})
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self.meta = meta
        return path

    @classmethod
    def load(cls, path: str | Path) -> CalibrationSet:
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"calibration file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files if k != META_KEY}
                meta = json.loads(str(data[META_KEY])) if META_KEY in data.files else {}
        except Exception:  # noqa: BLE001 - numpy, zipfile and json each raise their own types for a damaged file
            # numpy's own message for a non-zip file suggests allow_pickle=True: never advise unpickling a
            # file of unknown origin
            raise ArtifactError(f"{path} is not a readable calibration set (an .npz from edgetrack calibrate): it "
                                "is empty, truncated or another kind of file; run edgetrack calibrate again") from None
        return cls(arrays, meta)

    def check_inputs(self, shapes: dict[str, tuple[int, ...]], where: str = "this model") -> None:
        """Refuse a set whose input names or per-sample shapes do not fit `shapes` (name -> (1, C, H, W))."""
        for name, shape in shapes.items():
            if name not in self.arrays:
                raise ArtifactError(f"calibration set has no '{name}' input (it has {sorted(self.arrays)}); "
                                    f"it was made for another model than {where}")
            if tuple(self.arrays[name].shape[1:]) != tuple(shape[1:]):
                raise ArtifactError(f"calibration '{name}' samples are {tuple(self.arrays[name].shape[1:])} but "
                                    f"{where} takes {tuple(shape[1:])}: the file was made for another model; "
                                    "run edgetrack calibrate with this model")
