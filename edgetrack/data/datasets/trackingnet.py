"""TrackingNet (Müller et al., ECCV 2018): 12 training chunks and a test set with hidden ground truth.

Layout assumed: <root>/TRAIN_0 ... <root>/TRAIN_11 and <root>/TEST, each with anno/<sequence>.txt (x,y,w,h a
line) and frames/<sequence>/0.jpg, 1.jpg, ... (numbered from 0, no padding). The test annotations hold only
the first frame's box; a test sequence's length is the number of .jpg files in its frame folder. 'train' reads
every TRAIN_<i> chunk present under the root (or those named in `chunks`), so a partial download still works.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from edgetrack.data.datasets.annotations import count_images, read_boxes
from edgetrack.data.datasets.base import Dataset, register, select, sorted_names
from edgetrack.data.sequence import Sequence

_CHUNK = re.compile(r"TRAIN_(\d+)")


@register("trackingnet")
class TrackingNet(Dataset):
    """TrackingNet chunks; splits train (all TRAIN_<i> chunks present, or `chunks`) and test."""

    title = "TrackingNet"
    layout = "<root>/{TRAIN_0..TRAIN_11,TEST}/{anno/<sequence>.txt, frames/<sequence>/0.jpg, 1.jpg, ...}"
    splits = ("train", "test")
    default_split = None

    def __init__(self, root: str | Path, split: str | None = None, chunks: Iterable[int] | None = None,
                 split_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self.split_file = Path(split_file) if split_file is not None else None
        if self.split == "test":
            self.chunks = ["TEST"]
        elif chunks is not None:
            self.chunks = [f"TRAIN_{int(i)}" for i in chunks]
        else:
            found = [d.name for d in self.root.iterdir() if d.is_dir() and _CHUNK.fullmatch(d.name)]
            self.chunks = sorted(found, key=lambda c: int(c.split("_")[1]))
            if not self.chunks:
                raise self.layout_error("has no TRAIN_<i> chunk folder")
        for chunk in self.chunks:
            self.require(f"{chunk}/anno")
        self._chunk_of: dict[str, str] = {}
        self._name_list()  # a directory listing per chunk: errors surface on opening

    def _list(self) -> list[str]:
        for chunk in self.chunks:
            # sequence names are unique across chunks, so the name alone identifies a sequence
            with os.scandir(self.root / chunk / "anno") as entries:
                for entry in entries:
                    if entry.name.endswith(".txt") and not entry.name.startswith("."):
                        self._chunk_of[entry.name[:-4]] = chunk
        names = sorted_names(self._chunk_of)
        if not names:
            raise self.layout_error(f"has no annotation files in {', '.join(c + '/anno' for c in self.chunks)}")
        return select(names, self.split_file, self.title) if self.split_file is not None else names

    def _load(self, name: str) -> Sequence:
        chunk = self._chunk_of[name]
        anno = self.root / chunk / "anno" / f"{name}.txt"
        boxes = read_boxes(anno)
        frame_dir = self.root / chunk / "frames" / name
        if not frame_dir.is_dir():
            raise self.layout_error(f"has no '{chunk}/frames/{name}'")
        n = count_images(frame_dir) if self.split == "test" else len(boxes)
        frames = [frame_dir / f"{i}.jpg" for i in range(n)]
        return Sequence(name, frames, boxes, attributes={"chunk": chunk}, dataset=self.key, annotation=anno)
