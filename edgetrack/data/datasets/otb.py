"""OTB100 / OTB-2015 (Wu et al., TPAMI 2015): 100 targets in 98 videos.

Layout assumed: <root>/<Folder>/{img/0001.jpg ..., groundtruth_rect.txt}, boxes separated by commas, tabs or
spaces. The packaged table splits/otb100.txt (name, folder, annotation file, start, end, init_omit) records
the benchmark's irregular sequences, so that they need no code:
- frame ranges that do not start at 1: David (300-770), BlurCar1 (247-988), BlurCar3 (3-359), BlurCar4 (18-397);
  their annotation files hold one line per frame of the range;
- two targets in one video: Jogging-1/-2 and Skating2-1/-2 (groundtruth_rect.1.txt / .2.txt); Human4-2 uses
  Human4's groundtruth_rect.2.txt, the only target of that video in the benchmark;
- Tiger1 skips its first 5 frames (init_omit), as the benchmark's protocol does;
- image names are not uniform (Board has 5 digits, KiteSurf .png images), so frames are matched by number
  from the image folder's listing, not built from a pattern.
"""

from __future__ import annotations

from pathlib import Path

from edgetrack.data.datasets.annotations import list_images, read_boxes
from edgetrack.data.datasets.base import Dataset, read_table, register
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError

_COLUMNS = ("name", "folder", "anno", "start", "end", "init_omit")
_IMAGE_FOLDERS = ("img", "imgs", "jpg")


@register("otb100")
class OTB100(Dataset):
    """OTB100 with the benchmark's frame ranges and two-target videos from the packaged table."""

    title = "OTB100"
    layout = "<root>/<Folder>/{img/0001.jpg, ..., groundtruth_rect.txt}"

    def __init__(self, root: str | Path, split: str | None = None, table_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self._rows: dict[str, tuple[str, str, int, int, int]] = {}
        for row in read_table(table_file, "otb100.txt", _COLUMNS):
            try:
                numbers = int(row["start"]), int(row["end"]), int(row["init_omit"])
            except ValueError:
                raise DataError(f"OTB100 table row {row['name']}: start, end and init_omit must be whole "
                                "numbers") from None
            self._rows[row["name"]] = (row["folder"], row["anno"], *numbers)
        missing = [n for n, (folder, anno, *_) in self._rows.items() if not (self.root / folder / anno).is_file()]
        if missing:
            raise self.missing_error(missing, len(self._rows), self._where, "pass table_file= to read a subset")

    def _where(self, name: str) -> str:
        folder, anno = self._rows[name][:2]
        return f"{folder}/{anno}"

    def _list(self) -> list[str]:
        return list(self._rows)

    def _load(self, name: str) -> Sequence:
        folder, anno, start, end, omit = self._rows[name]
        gt = self.root / folder / anno
        boxes = read_boxes(gt)
        if len(boxes) != end - start + 1:
            raise DataError(f"{gt} has {len(boxes)} boxes but OTB100 sequence '{name}' spans frames "
                            f"{start}-{end} ({end - start + 1} frames)")
        by_number = _numbered_images(self.root / folder)
        if by_number is None:
            raise self.layout_error(f"has no image folder ({' or '.join(_IMAGE_FOLDERS)}) in '{folder}'")
        wanted = range(start + omit, end + 1)
        absent = [k for k in wanted if k not in by_number]
        if absent:
            raise DataError(f"OTB100 sequence '{name}' needs frames {start + omit}-{end} but {self.root / folder} "
                            f"lacks frame {absent[0]} ({len(absent)} missing)")
        attributes = {"folder": folder, "first_frame": start + omit}
        return Sequence(name, [by_number[k] for k in wanted], boxes[omit:], attributes=attributes,
                        dataset=self.key, annotation=gt)


def _numbered_images(folder: Path) -> dict[int, Path] | None:
    """Frame number -> image path for the first image folder found, None when there is none."""
    for sub in _IMAGE_FOLDERS:
        if (folder / sub).is_dir():
            return {int(p.stem): p for p in list_images(folder / sub) if p.stem.isdigit()}
    return None
