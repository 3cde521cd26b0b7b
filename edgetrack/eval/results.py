"""Per-sequence result files (pytracking text format) and benchmark submission archives.

A results folder holds ``{name}.txt`` with one ``x<TAB>y<TAB>w<TAB>h`` line of integers per frame and,
optionally, ``{name}_time.txt`` with one per-frame time in seconds. Boxes are truncated toward zero, as the
reference toolkits write them. Files are written atomically, so a complete-looking file is a complete file and
an interrupted evaluation can resume with `result_exists`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from edgetrack.artifacts import remove_stale_siblings, temp_sibling
from edgetrack.errors import DataError

_SEPARATORS = re.compile(r"[,\s]+")


def _check_name(name: str) -> str:
    """Sequence names become file names, so they must not escape the results folder."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise DataError(f"sequence name {name!r} cannot be used as a file name; use a plain name without slashes")
    return name


def box_path(folder: str | Path, name: str) -> Path:
    """Path of a sequence's box file, ``{folder}/{name}.txt``."""
    return Path(folder) / f"{_check_name(name)}.txt"


def time_path(folder: str | Path, name: str) -> Path:
    """Path of a sequence's timing file, ``{folder}/{name}_time.txt``."""
    return Path(folder) / f"{_check_name(name)}_time.txt"


def _atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to a temporary sibling, then rename it over `path`, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(path)
    tmp = temp_sibling(path)
    try:
        with open(tmp, "x") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _int_boxes(boxes: ArrayLike, name: str) -> np.ndarray:
    """Boxes as (N, 4) int64, truncated toward zero; non-finite values are refused with the frame index."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise DataError(f"results for '{name}' must be an (N, 4) array of x, y, w, h boxes, got shape {arr.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
    if len(bad):
        raise DataError(f"results for '{name}' have a non-finite box at frame {int(bad[0])}: {arr[bad[0]].tolist()}")
    return np.trunc(arr).astype(np.int64)


def _box_text(boxes: np.ndarray, sep: str) -> str:
    return "".join(sep.join(str(v) for v in row) + "\n" for row in boxes.tolist())


def _time_values(times: ArrayLike, name: str, n_frames: int) -> np.ndarray:
    arr = np.asarray(times, dtype=np.float64).reshape(-1)
    if len(arr) != n_frames:
        raise DataError(f"'{name}' has {n_frames} boxes but {len(arr)} times; give one time per frame")
    return arr


def _time_text(times: np.ndarray) -> str:
    return "".join(f"{t:.9f}\n" for t in times.tolist())


def write_result(folder: str | Path, name: str, boxes: ArrayLike, times: ArrayLike | None = None) -> Path:
    """Write ``{name}.txt`` (and ``{name}_time.txt`` when `times` is given) into `folder`; returns the box file."""
    ints = _int_boxes(boxes, name)
    target = box_path(folder, name)
    if times is not None:
        # times first: a box file on disk then implies its timing file is complete too
        _atomic_write_text(time_path(folder, name), _time_text(_time_values(times, name, len(ints))))
    _atomic_write_text(target, _box_text(ints, "\t"))
    return target


def _data_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()]


def read_result(folder: str | Path, name: str) -> np.ndarray:
    """Read ``{name}.txt`` as a float (N, 4) array; tab-, comma- or space-separated values are accepted."""
    path = box_path(folder, name)
    if not path.is_file():
        raise DataError(f"no result file for sequence '{name}': {path} does not exist")
    rows = []
    for number, line in enumerate(_data_lines(path), start=1):
        fields = _SEPARATORS.split(line.strip())
        try:
            values = [float(v) for v in fields]
        except ValueError:
            raise DataError(f"{path} line {number}: {line!r} is not four numbers") from None
        if len(values) != 4:
            raise DataError(f"{path} line {number}: expected 4 values (x, y, w, h), found {len(values)}")
        rows.append(values)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_times(folder: str | Path, name: str) -> np.ndarray | None:
    """Per-frame seconds from ``{name}_time.txt``, or None when the sequence has no timing file."""
    path = time_path(folder, name)
    if not path.is_file():
        return None
    try:
        return np.asarray([float(line) for line in _data_lines(path)], dtype=np.float64)
    except ValueError as err:
        raise DataError(f"{path} is not one number per line ({err}); delete it and re-run the sequence") from None


def result_exists(folder: str | Path, name: str, n_frames: int) -> bool:
    """Whether ``{name}.txt`` exists with exactly `n_frames` boxes, i.e. the sequence need not be run again."""
    path = box_path(folder, name)
    return path.is_file() and len(_data_lines(path)) == n_frames


def _archive(folder: Path) -> Path:
    """Zip the contents of `folder` into ``{folder}.zip`` (entries relative to `folder`), atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp_base = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
    made = Path(shutil.make_archive(str(tmp_base), "zip", root_dir=folder))
    target = folder.with_name(f"{folder.name}.zip")
    os.replace(made, target)
    return target


def write_got10k_submission(folder: str | Path, boxes: Mapping[str, ArrayLike], times: Mapping[str, ArrayLike],
                            archive: bool = True) -> Path:
    """Write the GOT-10k test layout, ``{name}/{name}_001.txt`` (comma-separated) and ``{name}/{name}_time.txt``.

    The server reports speed from the timing files, so every sequence needs times. Returns ``{folder}.zip``
    when `archive` is true, else the folder.
    """
    folder = Path(folder)
    missing = sorted(set(boxes) - set(times))
    if missing:
        raise DataError(f"GOT-10k submissions need per-frame times; none given for {', '.join(missing[:5])}")
    for name, seq_boxes in boxes.items():
        ints = _int_boxes(seq_boxes, name)
        seq_times = _time_values(times[name], name, len(ints))
        seq_dir = folder / _check_name(name)
        _atomic_write_text(seq_dir / f"{name}_001.txt", _box_text(ints, ","))
        _atomic_write_text(seq_dir / f"{name}_time.txt", _time_text(seq_times))
    return _archive(folder) if archive else folder


def write_trackingnet_submission(folder: str | Path, boxes: Mapping[str, ArrayLike], archive: bool = True) -> Path:
    """Write the TrackingNet layout, one comma-separated ``{name}.txt`` per sequence; returns the zip or folder."""
    folder = Path(folder)
    for name, seq_boxes in boxes.items():
        _atomic_write_text(box_path(folder, name), _box_text(_int_boxes(seq_boxes, name), ","))
    return _archive(folder) if archive else folder
