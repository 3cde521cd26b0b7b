"""Readers for the standard on-disk layouts of tracking datasets, by name.

`load_dataset("lasot", "/data/LaSOT", "test")` returns a lazy `Dataset`: a sequence of `Sequence` objects whose
names are listed at once and whose annotations are read when a sequence is first asked for. Each module's
docstring states the layout it expects; `DATASETS.names()` lists the readers.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from edgetrack.data.datasets import coco, folder, got10k, lasot, otb, tnl2k, trackingnet, uav123
from edgetrack.data.datasets.annotations import read_boxes, read_flags
from edgetrack.data.datasets.base import DATASETS, Dataset, register
from edgetrack.errors import ConfigError
from edgetrack.registry import suggest

__all__ = ["DATASETS", "Dataset", "dataset_options", "load_dataset", "read_boxes", "read_flags", "register"]

# the reader modules register themselves on import
_READERS = (coco, folder, got10k, lasot, otb, tnl2k, trackingnet, uav123)


def dataset_options(name: str) -> list[str]:
    """Keyword options a dataset reader accepts besides root and split."""
    params = inspect.signature(DATASETS.get(name).__init__).parameters
    return [p for p in params if p not in ("self", "root", "split")]


def load_dataset(name: str, root: str | Path, split: str | None = None, **options: object) -> Dataset:
    """Open one split of a dataset by reader name; see the reader's docstring for its layout and options."""
    reader = DATASETS.get(name)
    known = dataset_options(name)
    for key in options:
        if key not in known:
            raise ConfigError(f"dataset '{name}' has no option '{key}'.{suggest(key, known)} "
                              f"Options: {', '.join(known) or 'none'}")
    return reader(root, split, **options)
