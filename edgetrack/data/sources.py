"""Training sources by name: OSTrack's four datasets with their training splits, synthetic sequences, or a
folder of the user's unlabeled clips (`unlabeled:DIR`, pseudo-labelled by a labeler; `data.pseudo_labels`)."""

from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from pathlib import Path

from edgetrack.data.pseudo_labels import LabelConfig, Labeler, ProgressFn, labeler_for_spec, pseudo_labeled
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
UNLABELED = "unlabeled:"


class LabeledClips(list):  # type: ignore[type-arg]
    """Pseudo-labelled clips (a list of Sequence) with the key of the labels they carry."""

    def __init__(self, sequences: list[Sequence], key: str) -> None:
        super().__init__(sequences)
        self.key = key


def is_unlabeled(name: str) -> bool:
    return name.startswith(UNLABELED)


def training_source(name: str, root: str | Path | None, synthetic_sequences: int = 200,
                    synthetic_length: int = 100, labeler: Labeler | None = None,
                    labels: LabelConfig | None = None, progress: ProgressFn | None = None) -> SequenceABC[Sequence]:
    """The sequences of one training dataset (lazy where the reader allows); `unlabeled:DIR` needs a labeler."""
    if is_unlabeled(name):
        return unlabeled_source(name[len(UNLABELED):], labeler, labels, progress)
    if name in EVALUATION_ONLY:
        raise DataError(f"'{name}' is an evaluation set; training on it would leak into the reported scores")
    if name == "synthetic-train":
        from edgetrack.data.synthetic import synthetic_split

        return synthetic_split("synthetic-train", num_sequences=synthetic_sequences, length=synthetic_length)
    if name not in TRAINING_SPLITS:
        from edgetrack.registry import suggest

        known = ", ".join(["synthetic-train", *TRAINING_SPLITS, "unlabeled:DIR"])
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


def unlabeled_source(folder: str, labeler: Labeler | None, labels: LabelConfig | None = None,
                     progress: ProgressFn | None = None) -> LabeledClips:
    """The clips of `folder`, pseudo-labelled by `labeler` (cached)."""
    if not folder:
        raise DataError("'unlabeled:' needs a folder: --data unlabeled:DIR (DIR/NAME/img/*.jpg, DIR/NAME/init.txt)")
    if labeler is None:
        raise DataError(f"training on unlabeled:{folder} needs a labeler to pseudo-label its clips; pass "
                        "--labeler SPEC (a model folder, an export, a preset or opencv:NAME)")
    sequences, key = pseudo_labeled(folder, labeler, labels, progress=progress)
    if not any(int(seq.visible.sum()) >= 2 for seq in sequences):
        raise DataError(f"{labeler.name} kept no frame of the clips in {folder} beyond their first (its scores or "
                        "forward-backward IoUs are all below the thresholds); inspect them with edgetrack label, "
                        "use a stronger --labeler or lower data.pseudo_labels.min_score / min_fb_iou")
    return LabeledClips(sequences, key)


def training_sources(cfg: object, labeler: Labeler | None = None,
                     progress: ProgressFn | None = None) -> list[SequenceABC[Sequence]]:
    """One sequence collection per configured dataset (DataConfig); synthetic-train when none is named.

    Unlabeled clips are labelled by `cfg.labeler` when set (any tracker spec), else by `labeler`.
    """
    names = list(getattr(cfg, "datasets", ())) or ["synthetic-train"]
    root = getattr(cfg, "data_root", None)
    n, length = getattr(cfg, "synthetic_sequences", 200), getattr(cfg, "synthetic_length", 100)
    labels = getattr(cfg, "pseudo_labels", None)
    spec = getattr(cfg, "labeler", None)
    if spec and any(is_unlabeled(name) for name in names):
        labeler = labeler_for_spec(spec)
    return [training_source(name, root, n, length, labeler, labels, progress) for name in names]


def labels_fingerprint(sources: SequenceABC[SequenceABC[Sequence]]) -> list[str]:
    """The label keys of the pseudo-labelled sources, in order (for run keys: new labels, new run)."""
    return [s.key for s in sources if isinstance(s, LabeledClips)]
