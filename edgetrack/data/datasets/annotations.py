"""Parsers for the text files of tracking datasets: boxes, per-frame flags, name lists and tables."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from edgetrack.errors import DataError

_SEPARATORS = re.compile(r"[,\s]+")
_DIGITS = re.compile(r"(\d+)")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def _numbered_lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line; trailing blank lines dropped, inner blank lines kept as errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise DataError(f"cannot read {what} file {path}: {err.strerror or err}") from None
    text = text.rstrip()
    return enumerate(text.splitlines(), 1) if text else iter(())


def _fields(line: str) -> list[str]:
    # a few datasets end lines with a separator; that must not read as an empty fifth column
    return _SEPARATORS.split(line.strip(" \t,"))


def read_boxes(path: str | Path) -> np.ndarray:
    """Boxes (N, 4) x, y, w, h from a text file whose lines use comma, tab or space separators; NaN allowed.

    Every ground-truth file of every reader is parsed here, so this is the one place that checks a line:
    4 numbers, none infinite, width and height not negative (NaN or 0,0,0,0 marks an absent target).
    """
    path = Path(path)
    rows = [_parse_box(path, lineno, line) for lineno, line in _numbered_lines(path, "annotation")]
    if not rows:
        raise DataError(f"annotation file {path} is empty")
    return np.asarray(rows, dtype=np.float64)


def _parse_box(path: Path, lineno: int, line: str) -> list[float]:
    """One ground-truth line as [x, y, w, h], or a DataError naming the file, the line and its text."""
    fields = _fields(line)
    try:
        if len(fields) != 4:
            raise ValueError
        box = [float(f) for f in fields]
    except ValueError:
        raise _line_error(path, lineno, line, "expected 4 numbers x,y,w,h separated by commas, tabs or "
                                              "spaces") from None
    if any(math.isinf(v) for v in box):
        raise _line_error(path, lineno, line, "infinite value; write NaN,NaN,NaN,NaN where the target is absent")
    # a negative size is not a box (often x1,y1,x2,y2 read as x,y,w,h); read as 'absent' it would go unnoticed
    if box[2] < 0 or box[3] < 0:
        raise _line_error(path, lineno, line, "negative width or height; boxes are x,y,w,h in pixels, and "
                                              "NaN,NaN,NaN,NaN or 0,0,0,0 marks an absent target")
    return box


def _line_error(path: Path, lineno: int, line: str, problem: str) -> DataError:
    return DataError(f"{path}, line {lineno}: {problem}, got {line.strip()[:80]!r}")


def read_flags(path: str | Path, length: int | None = None) -> np.ndarray:
    """Integer labels (one per frame) from a file with one value a line or all values on one line."""
    path = Path(path)
    values: list[int] = []
    for lineno, line in _numbered_lines(path, "label"):
        for field in _fields(line):
            try:
                value = float(field)
                if not value.is_integer():
                    raise ValueError
            except ValueError:
                raise DataError(f"{path}, line {lineno}: expected integer labels, got {field[:40]!r}") from None
            values.append(int(value))
    if length is not None and len(values) != length:
        raise DataError(f"{path} has {len(values)} labels for {length} annotated frames")
    return np.asarray(values, dtype=np.int64)


def read_names(path: str | Path) -> list[str]:
    """Non-empty lines of a list file, '#' comments skipped."""
    path = Path(path)
    names = [line.split("#", 1)[0].strip() for _, line in _numbered_lines(path, "list")]
    return [n for n in names if n]


def parse_table(text: str, source: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a whitespace-separated table with '#' comments; each row a dict of the named columns."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != len(columns):
            raise DataError(f"{source}, line {lineno}: expected {len(columns)} columns "
                            f"({' '.join(columns)}), got {len(fields)}")
        rows.append(dict(zip(columns, fields, strict=True)))
    return rows


def read_text(path: Path) -> str:
    """A short text file (language description, meta info), stripped; '' when absent."""
    if not path.is_file():
        return ""
    return path.read_text(encoding="utf-8-sig", errors="replace").strip()


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key that orders 'seq-2' before 'seq-10'."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in _DIGITS.split(name))


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder in natural order."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def count_images(folder: Path, suffix: str = ".jpg") -> int:
    """How many images with `suffix` a folder holds (for splits that annotate only the first frame)."""
    return sum(1 for p in folder.iterdir() if p.suffix.lower() == suffix and not p.name.startswith("."))


def check_frame_count(gt: Path, boxes: int, folder: Path, suffix: str = ".jpg") -> int:
    """The frame count of a sequence annotated box by box: its images, which must match its boxes one to one.

    A ground-truth file shorter than the video (or images missing) would otherwise shorten the sequence
    without a word, and its score would be computed on part of it.
    """
    if not folder.is_dir():
        raise DataError(f"{folder} (the frames of {gt}) does not exist")
    images = count_images(folder, suffix)
    if images != boxes:
        raise DataError(f"{gt} has {boxes} boxes but {folder} holds {images} {suffix} frames; one box per frame is "
                        "expected: the annotation is truncated or frames are missing")
    return images
