"""Your own sequences: any folder holding one subfolder per sequence.

Layout assumed: <root>/<NAME>/img/<frames>.jpg (or .png) and <root>/<NAME>/groundtruth.txt, one x,y,w,h line
per frame (0-based pixels; commas, tabs or spaces). A line of NaN or 0,0,0,0 marks a frame where the target is
absent; such frames are not visible, as in LaSOT. Sequences are the subfolders in natural order; frames are
sorted by name, numbers by value (2.jpg before 10.jpg). Files and hidden folders ('.git', '__MACOSX') are
skipped; every other subfolder must hold both img/ and groundtruth.txt, so a half-copied sequence is reported
rather than left out of the score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgetrack.data.datasets.annotations import list_images, read_boxes
from edgetrack.data.datasets.base import Dataset, register, sorted_names
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError


@register("folder")
class SequenceFolder(Dataset):
    """Every sequence folder under the root (NAME/img/ + NAME/groundtruth.txt), as one test split."""

    title = "sequence folder"
    layout = "<root>/<NAME>/{img/00001.jpg (or .png), ..., groundtruth.txt}"

    def __init__(self, root: str | Path, split: str | None = None) -> None:
        super().__init__(root, split)
        try:
            self._sequences = [p.name for p in self.root.iterdir() if p.is_dir() and not _hidden(p.name)]
        except OSError as err:
            raise self.layout_error(f"cannot be listed ({err.strerror})") from None
        if not self._sequences:
            raise self.layout_error("holds no sequence folders")
        for name in self._sequences:
            self._check_folder(name)

    def _check_folder(self, name: str) -> None:
        """Both parts of a sequence must be there: one without the other is a copy gone wrong."""
        folder = self.root / name
        parts = (("img/", (folder / "img").is_dir()), ("groundtruth.txt", (folder / "groundtruth.txt").is_file()))
        missing = [part for part, present in parts if not present]
        if missing:
            raise DataError(f"sequence folder {folder} has no {' and no '.join(missing)}; expected {self.layout}")

    def _list(self) -> list[str]:
        return sorted_names(self._sequences)

    def _load(self, name: str) -> Sequence:
        gt, img = self.root / name / "groundtruth.txt", self.root / name / "img"
        frames = list_images(img)
        if not frames:
            raise DataError(f"sequence '{name}': {img} holds no .jpg or .png frames")
        boxes = read_boxes(gt)
        if len(boxes) != len(frames):
            raise DataError(f"sequence '{name}': {gt} has {len(boxes)} ground-truth lines but {img} holds "
                            f"{len(frames)} frames; one line per frame is expected")
        seq = Sequence(name, frames, boxes, dataset=self.key, annotation=gt)
        if not seq.visible[0]:
            raise DataError(f"sequence '{name}': the first frame's box in {gt} (line 1: {_box_text(boxes[0])}) "
                            "is absent, so the tracker cannot be initialised; start the sequence at a frame "
                            "that shows the target")
        return seq


def _hidden(name: str) -> bool:
    # '.git', '.ipynb_checkpoints' and archive leftovers such as '__MACOSX' are never sequences
    return name.startswith((".", "__"))


def _box_text(box: np.ndarray) -> str:
    return ",".join(f"{v:g}" for v in box)
