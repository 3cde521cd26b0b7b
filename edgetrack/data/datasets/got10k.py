"""GOT-10k (Huang et al., TPAMI 2019): train / val / test splits, plus the VOT-disjoint training subset.

Layout assumed (as distributed): <root>/{train,val,test}/list.txt names the split's sequence folders;
each <root>/<split>/<sequence>/ holds 00000001.jpg, 00000002.jpg, ..., groundtruth.txt (x,y,w,h a line),
absence.label (1 = target absent, a line per frame), cover.label (visible fraction in 0..8, 0 = fully
covered), cut_by_image.label and meta_info.ini ('key: value' lines). The test split annotates only the
first frame and has no label files; its length is the number of .jpg files in the folder.

'vot-train' is the train split without the sequences that overlap VOT, which training recipes use when they
report VOT results. The list is not part of the dataset and is not shipped here: pass it as `split_file`
(one name a line, or whole numbers indexing the sorted train list). Without it 'vot-train' is the whole
train split and a warning says so.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from edgetrack.data.datasets.annotations import check_frame_count, count_images, read_boxes, read_flags, read_names
from edgetrack.data.datasets.base import Dataset, register, select
from edgetrack.data.sequence import Sequence


@register("got10k")
class GOT10k(Dataset):
    """GOT-10k in its distributed layout; splits train, val, test and vot-train."""

    title = "GOT-10k"
    layout = ("<root>/{train,val,test}/list.txt and <root>/<split>/<sequence>/{00000001.jpg, ..., "
              "groundtruth.txt, absence.label, cover.label}")
    splits = ("train", "val", "test", "vot-train")
    default_split = None
    aliases = {"vottrain": "vot-train", "vot_train": "vot-train"}

    def __init__(self, root: str | Path, split: str | None = None, split_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self.folder_name = "train" if self.split == "vot-train" else self.split
        self.folder = self.root / self.folder_name
        self.list_path = self.require(f"{self.folder_name}/list.txt")
        self.split_file = Path(split_file) if split_file is not None else None
        if self.split == "vot-train" and self.split_file is None:
            warnings.warn("GOT-10k 'vot-train' without split_file= is the whole train split: sequences that "
                          "overlap VOT are not removed", UserWarning, stacklevel=2)
        self._name_list()  # one small file: read it now so that list errors surface on opening

    def _list(self) -> list[str]:
        names = read_names(self.list_path)
        if not names:
            raise self.layout_error(f"has an empty '{self.folder_name}/list.txt'")
        if self.split_file is not None:
            # index lists refer to positions in the sorted list (list.txt as distributed is sorted)
            names = select(sorted(names), self.split_file, f"GOT-10k {self.folder_name}")
        return names

    def _load(self, name: str) -> Sequence:
        seq_dir = self.folder / name
        rel = f"{self.folder_name}/{name}"
        if not seq_dir.is_dir():
            raise self.layout_error(f"has no '{rel}' although '{self.folder_name}/list.txt' names it")
        gt = seq_dir / "groundtruth.txt"
        if not gt.is_file():
            raise self.layout_error(f"has no '{rel}/groundtruth.txt'")
        boxes = read_boxes(gt)
        n = count_images(seq_dir) if self.split == "test" else check_frame_count(gt, len(boxes), seq_dir)
        frames = [seq_dir / f"{i:08d}.jpg" for i in range(1, n + 1)]
        attributes: dict[str, object] = dict(_meta_info(seq_dir / "meta_info.ini"))
        visible = None
        if (seq_dir / "absence.label").is_file():
            absent = read_flags(seq_dir / "absence.label", len(boxes))
            visible = absent == 0
            attributes["absent"] = absent.astype(bool)
            if (seq_dir / "cover.label").is_file():
                cover = read_flags(seq_dir / "cover.label", len(boxes))
                visible = visible & (cover > 0)  # cover 0: present but fully covered
                attributes["cover"] = cover
            if (seq_dir / "cut_by_image.label").is_file():
                attributes["cut_by_image"] = read_flags(seq_dir / "cut_by_image.label", len(boxes)).astype(bool)
        return Sequence(name, frames, boxes, visible=visible, attributes=attributes, dataset=self.key,
                        annotation=gt)


def _meta_info(path: Path) -> dict[str, str]:
    """'key: value' pairs of meta_info.ini (keys with underscores), {} when the file is absent."""
    if not path.is_file():
        return {}
    info = {}
    for line in path.read_text(encoding="utf-8-sig", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep and not line.startswith("["):
            info[key.strip().replace(" ", "_")] = value.strip()
    return info
