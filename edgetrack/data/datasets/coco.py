"""COCO instances (Lin et al., ECCV 2014) as one-frame sequences, one per object, for training pairs.

Layout assumed: <root>/annotations/instances_<split>.json and <root>/<split>/<file_name> for split train2017,
val2017 (or the 2014 ones); 'train' and 'val' mean the 2017 splits. Objects marked iscrowd and boxes smaller
than `min_area` square pixels (default 16, i.e. 4 x 4: too small to crop a template from) are left out.

The annotation file (450 MB for train2017) is parsed on first use, not when the dataset is opened, and is
reduced at once to a few arrays (box, image, category per object), so the parsed JSON does not stay in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from edgetrack.data.datasets.base import Dataset, register
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError


@register("coco")
class COCO(Dataset):
    """COCO object instances, each a one-frame sequence named '<image id>_<annotation id>'."""

    title = "COCO"
    layout = "<root>/annotations/instances_<split>.json and <root>/<split>/<image>.jpg"
    splits = ("train2017", "val2017", "train2014", "val2014")
    default_split = "train2017"
    aliases = {"train": "train2017", "val": "val2017"}

    def __init__(self, root: str | Path, split: str | None = None, min_area: float = 16.0) -> None:
        super().__init__(root, split)
        self.json_path = self.require(f"annotations/instances_{self.split}.json")
        self.image_dir = self.require(self.split)
        self.min_area = float(min_area)
        self._boxes: np.ndarray | None = None  # (N, 4) float32, filled on first use
        self._image_of = np.zeros(0, dtype=np.int64)
        self._ann_ids = np.zeros(0, dtype=np.int64)
        self._categories = np.zeros(0, dtype=np.int32)
        self._files: dict[int, str] = {}
        self._category_names: dict[int, str] = {}

    def _index(self) -> np.ndarray:
        """Parse the annotation JSON once, keeping only what sequences need."""
        if self._boxes is not None:
            return self._boxes
        try:
            with open(self.json_path, "rb") as f:
                data = json.load(f)
            self._files = {int(im["id"]): str(im["file_name"]) for im in data["images"]}
            self._category_names = {int(c["id"]): str(c["name"]) for c in data.get("categories", [])}
            kept = [a for a in data["annotations"] if not a.get("iscrowd", 0)]
            boxes = np.asarray([a["bbox"] for a in kept], dtype=np.float32).reshape(-1, 4)
            ok = (boxes[:, 2] > 0) & (boxes[:, 3] > 0) & (boxes[:, 2] * boxes[:, 3] >= self.min_area)
            index = np.flatnonzero(ok)
            self._image_of = np.asarray([kept[i]["image_id"] for i in index], dtype=np.int64)
            self._ann_ids = np.asarray([kept[i]["id"] for i in index], dtype=np.int64)
            self._categories = np.asarray([kept[i].get("category_id", -1) for i in index], dtype=np.int32)
            self._boxes = boxes[index]
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataError(f"COCO annotation file {self.json_path} is not valid JSON: {err}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise DataError(f"COCO annotation file {self.json_path} lacks the instances fields "
                            f"(images, annotations with id, image_id, bbox): {err!r}") from None
        return self._boxes

    def __len__(self) -> int:
        return len(self._index())

    def _list(self) -> list[str]:
        self._index()
        return [f"{i}_{a}" for i, a in zip(self._image_of.tolist(), self._ann_ids.tolist(), strict=True)]

    def _at(self, position: int) -> Sequence:
        # by position without building the 860k-name list that name lookup needs
        self._index()
        return self._make(position)

    def _load(self, name: str) -> Sequence:
        return self._make(self._position_map()[name])

    def _make(self, position: int) -> Sequence:
        boxes = self._index()
        image_id, ann_id = int(self._image_of[position]), int(self._ann_ids[position])
        if image_id not in self._files:
            raise DataError(f"COCO annotation {ann_id} in {self.json_path} refers to unknown image {image_id}")
        category = int(self._categories[position])
        attributes = {"image_id": image_id, "annotation_id": ann_id, "category_id": category,
                      "category": self._category_names.get(category, "")}
        return Sequence(f"{image_id}_{ann_id}", [self.image_dir / self._files[image_id]],
                        boxes[position].astype(np.float64), attributes=attributes, dataset=self.key)
