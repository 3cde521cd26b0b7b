"""LaSOT (Fan et al., CVPR 2019) and its extension LaSOT_ext (IJCV 2021), which share one sequence layout.

Layout assumed: <root>/<class>/<class>-<n>/ with img/00000001.jpg, ..., groundtruth.txt (x,y,w,h a line),
full_occlusion.txt and out_of_view.txt (0/1 per frame, comma separated on one line) and nlp.txt (a sentence).
A flat <root>/<class>-<n>/ (as the separately packed test set unpacks) is accepted too. The target is visible
where it is neither fully occluded nor out of view; when the two label files are missing, where its box is
non-empty.

Splits of LaSOT follow protocol II: 'test' is the 280 sequences listed in splits/lasot_test.txt (4 of each of
the 70 classes), 'train' is every other sequence under the root (1120 in the full dataset), 'all' is both.
LaSOT_ext (15 classes x 10 sequences) is test-only: every sequence under its root.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from edgetrack.data.datasets.annotations import check_frame_count, read_boxes, read_flags, read_text
from edgetrack.data.datasets.base import Dataset, packaged_names, register, select, sorted_names
from edgetrack.data.sequence import Sequence

_SEQUENCE = re.compile(r"(.+)-(\d+)")


@register("lasot")
class LaSOT(Dataset):
    """LaSOT by class folders; splits train, test (protocol II) and all."""

    title = "LaSOT"
    layout = ("<root>/<class>/<class>-<n>/{img/00000001.jpg, ..., groundtruth.txt, full_occlusion.txt, "
              "out_of_view.txt}")
    splits = ("train", "test", "all")
    default_split = None

    def __init__(self, root: str | Path, split: str | None = None, split_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self.split_file = Path(split_file) if split_file is not None else None
        try:
            self._folders = _scan(self.root)
        except OSError as err:
            raise self.layout_error(f"cannot be listed ({err.filename}: {err.strerror})") from None
        if not self._folders:
            raise self.layout_error("holds no sequence folders (<class>/<class>-<n>/groundtruth.txt)")
        self._name_list()  # listing is cheap; a missing test sequence should fail on opening, not mid-run

    def _list(self) -> list[str]:
        available = sorted_names(self._folders)
        if self.split_file is not None:
            return select(available, self.split_file, self.title)
        if self.split == "all":
            return available
        test = packaged_names("lasot_test.txt")
        if self.split == "train":
            held_out = set(test)
            return [n for n in available if n not in held_out]
        missing = [n for n in test if n not in self._folders]
        if missing:
            raise self.missing_error(missing, len(test), lambda n: str(self.root / _class_of(n) / n),
                                     "pass split_file= to evaluate on a subset")
        return test

    def _load(self, name: str) -> Sequence:
        seq_dir = self._folders[name]
        gt = seq_dir / "groundtruth.txt"
        if not gt.is_file():
            raise self.layout_error(f"has no '{gt.relative_to(self.root)}'")
        boxes = read_boxes(gt)
        n = check_frame_count(gt, len(boxes), seq_dir / "img")
        attributes: dict[str, object] = {"class": _class_of(name)}
        visible = None
        occlusion, out_of_view = seq_dir / "full_occlusion.txt", seq_dir / "out_of_view.txt"
        if occlusion.is_file() and out_of_view.is_file():
            full = read_flags(occlusion, n).astype(bool)
            out = read_flags(out_of_view, n).astype(bool)
            visible = ~full & ~out
            attributes.update(full_occlusion=full, out_of_view=out)
        language = read_text(seq_dir / "nlp.txt")
        if language:
            attributes["language"] = language
        frames = [seq_dir / "img" / f"{i:08d}.jpg" for i in range(1, n + 1)]
        return Sequence(name, frames, boxes, visible=visible, attributes=attributes, dataset=self.key,
                        annotation=gt)


@register("lasot_ext")
class LaSOTExt(LaSOT):
    """LaSOT_ext: 150 test sequences of 15 new classes, in LaSOT's layout."""

    title = "LaSOT_ext"
    splits = ("test",)
    default_split = "test"

    def _list(self) -> list[str]:
        available = sorted_names(self._folders)
        return select(available, self.split_file, self.title) if self.split_file is not None else available


def _class_of(name: str) -> str:
    match = _SEQUENCE.fullmatch(name)
    return match.group(1) if match else name


def _scan(root: Path) -> dict[str, Path]:
    """Sequence name -> folder, from <root>/<class>/<class>-<n> or a flat <root>/<class>-<n>."""
    folders: dict[str, Path] = {}
    # scandir's entries know whether they are folders without a stat each, which keeps listing 1400 quick
    for child in os.scandir(root):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if _SEQUENCE.fullmatch(child.name) and os.path.isfile(os.path.join(child.path, "groundtruth.txt")):
            folders[child.name] = Path(child.path)
            continue
        for entry in os.scandir(child.path):
            match = _SEQUENCE.fullmatch(entry.name)
            if match and match.group(1) == child.name and entry.is_dir():
                folders[entry.name] = Path(entry.path)
    return folders
