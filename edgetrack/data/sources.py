"""Training sources by name: OSTrack's four datasets with their training splits, or synthetic sequences."""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from pathlib import Path

from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError

#: dataset name -> (reader name, split) used for training, as in OSTrack
TRAINING_SPLITS = {
    "lasot": ("lasot", "train"),
    "got10k": ("got10k", "vot-train"),
    "got10k_train": ("got10k", "train"),
    "coco": ("coco", "train2017"),
    "trackingnet": ("trackingnet", "train"),
}
EVALUATION_ONLY = ("synthetic-test", "lasot_ext", "tnl2k", "uav123", "otb100")


def training_source(name: str, root: str | Path | None, synthetic_sequences: int = 200,
                    synthetic_length: int = 100) -> SequenceABC[Sequence]:
    """The sequences of one training dataset (lazy where the reader allows)."""
    if name in EVALUATION_ONLY:
        raise DataError(f"'{name}' is an evaluation set; training on it would leak into the reported scores")
    if name == "synthetic-train":
        from edgetrack.data.synthetic import synthetic_split

        return synthetic_split("synthetic-train", num_sequences=synthetic_sequences, length=synthetic_length)
    if name not in TRAINING_SPLITS:
        from edgetrack.registry import suggest

        known = ", ".join(["synthetic-train", *TRAINING_SPLITS])
        raise DataError(f"unknown training dataset '{name}'.{suggest(name, list(TRAINING_SPLITS))} Known: {known}")
    if root is None:
        raise DataError(f"training on '{name}' needs --data-root (the folder holding the {name} dataset)")
    from edgetrack.data.datasets import load_dataset

    reader, split = TRAINING_SPLITS[name]
    return load_dataset(reader, _dataset_root(Path(root), reader), split)


def _dataset_root(root: Path, reader: str) -> Path:
    """Accept either the dataset's own folder or a parent holding it under its usual name."""
    for child in (reader, reader.upper(), {"got10k": "GOT-10k", "lasot": "LaSOT", "coco": "COCO",
                                           "trackingnet": "TrackingNet"}.get(reader, reader)):
        if (root / child).is_dir():
            return root / child
    return root


def training_sources(cfg: object) -> list[SequenceABC[Sequence]]:
    """One sequence collection per configured dataset (DataConfig); synthetic-train when none is named."""
    names = list(getattr(cfg, "datasets", ())) or ["synthetic-train"]
    root = getattr(cfg, "data_root", None)
    n, length = getattr(cfg, "synthetic_sequences", 200), getattr(cfg, "synthetic_length", 100)
    return [training_source(name, root, n, length) for name in names]
