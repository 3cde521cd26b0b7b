"""TNL2K (Wang et al., CVPR 2021): tracking by natural language and box, 1300 train and 700 test videos.

Layout assumed: <root>/<sequence>/{imgs/<frame>.jpg|png, groundtruth.txt (x,y,w,h a line), language.txt}.
Frame file names differ between sequences, so frames are the images of imgs/ in natural order, and their
count must match the annotation lines. The root may be the folder of one subset, or a folder holding the
subsets as 'TNL2K_test_subset' / 'TNL2K_train_subset' (or 'test' / 'train'); the split picks the subset.
A root without subset folders is taken as the test subset.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgetrack.data.datasets.annotations import list_images, read_boxes, read_text
from edgetrack.data.datasets.base import Dataset, register, select, sorted_names
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError

_SUBSETS = {"test": ("TNL2K_test_subset", "TNL2K_test", "test"),
            "train": ("TNL2K_train_subset", "TNL2K_train", "train")}


@register("tnl2k")
class TNL2K(Dataset):
    """TNL2K sequences with their language descriptions; splits test and train."""

    title = "TNL2K"
    layout = "<root>/<sequence>/{imgs/*.jpg|png, groundtruth.txt, language.txt}"
    splits = ("test", "train")
    default_split = "test"

    def __init__(self, root: str | Path, split: str | None = None, split_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self.split_file = Path(split_file) if split_file is not None else None
        subsets = [self.root / s for s in _SUBSETS[self.split] if (self.root / s).is_dir()]
        if subsets:
            self.base = subsets[0]
        elif self.split == "test" and not any((self.root / s).is_dir() for s in _SUBSETS["train"]):
            self.base = self.root
        else:
            raise self.layout_error(f"has no {self.split} subset folder ({' or '.join(_SUBSETS[self.split])})")
        self._name_list()  # one stat per sequence: errors surface on opening

    def _list(self) -> list[str]:
        with os.scandir(self.base) as entries:
            names = [e.name for e in entries
                     if e.is_dir() and os.path.isfile(os.path.join(e.path, "groundtruth.txt"))]
        if not names:
            raise self.layout_error(f"has no sequence folders with groundtruth.txt in {self.base}")
        names = sorted_names(names)
        return select(names, self.split_file, self.title) if self.split_file is not None else names

    def _load(self, name: str) -> Sequence:
        seq_dir = self.base / name
        gt = seq_dir / "groundtruth.txt"
        boxes = read_boxes(gt)
        image_dir = seq_dir / "imgs"
        if not image_dir.is_dir():
            raise self.layout_error(f"has no '{image_dir.relative_to(self.root)}'")
        frames = list_images(image_dir)
        if len(frames) != len(boxes):
            raise DataError(f"TNL2K sequence '{name}': {len(frames)} images in {image_dir} "
                            f"but {len(boxes)} boxes in {gt}")
        attributes: dict[str, object] = {}
        language = read_text(seq_dir / "language.txt")
        if language:
            attributes["language"] = language
        return Sequence(name, frames, boxes, attributes=attributes, dataset=self.key, annotation=gt)
