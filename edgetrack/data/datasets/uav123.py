"""UAV123 (Mueller et al., ECCV 2016): 123 aerial sequences, several of them cut from one long video.

Layout assumed: <root>/data_seq/UAV123/<folder>/000001.jpg, ... and <root>/anno/UAV123/<sequence>.txt (x,y,w,h
a line, 'NaN' rows where the target is absent). Which frames of which folder make each sequence (e.g. bird1_2
is frames 775-1477 of bird1) comes from the table splits/uav123.txt (name, folder, start, end; inclusive,
1-based), the benchmark's own sequence configuration. Another table (e.g. for UAV20L) can be passed as
`table_file`. An annotation file whose length differs from its frame range is reported, not truncated.
"""

from __future__ import annotations

from pathlib import Path

from edgetrack.data.datasets.annotations import read_boxes
from edgetrack.data.datasets.base import Dataset, read_table, register
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError

_COLUMNS = ("name", "folder", "start", "end")


@register("uav123")
class UAV123(Dataset):
    """UAV123 with sequences cut from their folders by the packaged frame-range table."""

    title = "UAV123"
    layout = "<root>/data_seq/UAV123/<folder>/000001.jpg ... and <root>/anno/UAV123/<sequence>.txt"
    subset = "UAV123"

    def __init__(self, root: str | Path, split: str | None = None, table_file: str | Path | None = None) -> None:
        super().__init__(root, split)
        self.anno_dir = self.require(f"anno/{self.subset}")
        self.frame_dir = self.require(f"data_seq/{self.subset}")
        self._rows: dict[str, tuple[str, int, int]] = {}
        for row in read_table(table_file, "uav123.txt", _COLUMNS):
            try:
                start, end = int(row["start"]), int(row["end"])
            except ValueError:
                raise DataError(f"UAV123 table row {row['name']}: start and end must be whole numbers") from None
            self._rows[row["name"]] = (row["folder"], start, end)
        # checking every file up front turns a partial download into one clear message, not a failure mid-run
        missing = [n for n, (folder, _, _) in self._rows.items()
                   if not (self.anno_dir / f"{n}.txt").is_file() or not (self.frame_dir / folder).is_dir()]
        if missing:
            raise self.missing_error(missing, len(self._rows), self._where, "pass table_file= to read a subset")

    def _where(self, name: str) -> str:
        folder = self._rows[name][0]
        return f"anno/{self.subset}/{name}.txt and data_seq/{self.subset}/{folder}/"

    def _list(self) -> list[str]:
        return list(self._rows)

    def _load(self, name: str) -> Sequence:
        folder, start, end = self._rows[name]
        anno = self.anno_dir / f"{name}.txt"
        boxes = read_boxes(anno)
        if len(boxes) != end - start + 1:
            raise DataError(f"{anno} has {len(boxes)} boxes but UAV123 sequence '{name}' spans frames "
                            f"{start}-{end} of {folder} ({end - start + 1} frames)")
        frames = [self.frame_dir / folder / f"{k:06d}.jpg" for k in range(start, end + 1)]
        return Sequence(name, frames, boxes, attributes={"folder": folder, "first_frame": start},
                        dataset=self.key, annotation=anno)
