"""The lazy `Dataset` base class that every reader extends, and the `DATASETS` registry."""

from __future__ import annotations

from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator
from collections.abc import Sequence as SequenceABC
from importlib import resources
from pathlib import Path
from typing import ClassVar, TypeVar, overload

from edgetrack.data.datasets.annotations import natural_key, parse_table, read_names
from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError
from edgetrack.registry import Registry, suggest

T = TypeVar("T", bound="Dataset")


class Dataset(SequenceABC[Sequence]):
    """One split of a dataset, indexable by position or name; annotations are read when a sequence is asked for."""

    # Readers list names when opened (COCO on first use) and keep the last `cache_size` sequences read, since
    # training revisits sequences and should not parse the same annotation file again and again.
    key: ClassVar[str] = ""  # registry name, set by `register`
    title: ClassVar[str] = "dataset"  # name for people, used in messages
    layout: ClassVar[str] = ""  # expected on-disk layout, quoted in errors
    splits: ClassVar[tuple[str, ...]] = ("test",)
    default_split: ClassVar[str | None] = "test"
    aliases: ClassVar[dict[str, str]] = {}
    cache_size: ClassVar[int] = 64

    def __init__(self, root: str | Path, split: str | None = None) -> None:
        self.root = Path(root).expanduser()
        self.split = self._resolve_split(split)
        if not self.root.is_dir():
            raise self.layout_error("is not a folder" if self.root.exists() else "does not exist")
        self._names: list[str] | None = None
        self._positions: dict[str, int] | None = None
        self._cache: OrderedDict[str, Sequence] = OrderedDict()

    # --- to be provided by readers (abstract: a reader missing one cannot be instantiated)
    @abstractmethod
    def _list(self) -> list[str]:
        """Names of the split's sequences, in a stable order."""

    @abstractmethod
    def _load(self, name: str) -> Sequence:
        """Read one sequence's annotations."""

    # --- public interface
    def names(self) -> list[str]:
        """Sequence names of this split, without reading annotations."""
        return list(self._name_list())

    def sequence(self, name: str) -> Sequence:
        """The sequence called `name`."""
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        if name not in self._position_map():
            raise DataError(f"{self.title} split '{self.split}' has no sequence '{name}'."
                            f"{suggest(name, self.names())}")
        seq = self._load(name)
        self._cache[name] = seq
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return seq

    def __len__(self) -> int:
        return len(self._position_map())

    @overload
    def __getitem__(self, index: int | str) -> Sequence: ...

    @overload
    def __getitem__(self, index: slice) -> list[Sequence]: ...

    def __getitem__(self, index: int | str | slice) -> Sequence | list[Sequence]:
        if isinstance(index, str):
            return self.sequence(index)
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{self.title} split '{self.split}' has {n} sequences; index {index} asked for")
        return self._at(index % n)

    def _at(self, position: int) -> Sequence:
        return self.sequence(self._name_list()[position])

    def _name_list(self) -> list[str]:
        """The cached name list itself; `names()` hands out copies."""
        if self._names is None:
            self._names = self._list()
        return self._names

    def __iter__(self) -> Iterator[Sequence]:
        for i in range(len(self)):
            yield self[i]

    def __contains__(self, item: object) -> bool:
        # the ABC default would read every sequence to compare values
        name = item.name if isinstance(item, Sequence) else item
        return isinstance(name, str) and name in self._position_map()

    def __repr__(self) -> str:
        count = len(self._names) if self._names is not None else "?"
        return f"{type(self).__name__}(root='{self.root}', split={self.split!r}, sequences={count})"

    # --- helpers for readers
    def layout_error(self, problem: str) -> DataError:
        """A DataError naming the dataset, the root, what is wrong and the expected layout."""
        return DataError(f"{self.title} root {self.root} {problem}; expected {self.layout}")

    def require(self, relative: str) -> Path:
        """root/relative, or a layout error when it does not exist."""
        path = self.root / relative
        if not path.exists():
            raise self.layout_error(f"has no '{relative}'")
        return path

    def missing_error(self, missing: list[str], total: int, where: Callable[[str], str], hint: str) -> DataError:
        """A layout error for sequences a list names that the root does not hold."""
        return self.layout_error(f"lacks {len(missing)} of the {total} sequences of split '{self.split}' "
                                 f"(e.g. '{missing[0]}' at {where(missing[0])}); {hint}")

    def _position_map(self) -> dict[str, int]:
        if self._positions is None:
            self._positions = {n: i for i, n in enumerate(self._name_list())}
        return self._positions

    def _resolve_split(self, split: str | None) -> str:
        split = self.default_split if split is None else self.aliases.get(split, split)
        if split is None:
            raise DataError(f"{self.title} needs a split: one of {', '.join(self.splits)}")
        if split not in self.splits:
            raise DataError(f"{self.title} has no split '{split}'.{suggest(split, list(self.splits))} "
                            f"Splits: {', '.join(self.splits)}")
        return split


def register(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: add a reader to DATASETS under `name`."""

    def add(cls: type[T]) -> type[T]:
        cls.key = name
        DATASETS.add(name, cls)
        return cls

    return add


def select(available: list[str], split_file: str | Path, title: str) -> list[str]:
    """The names a split file lists (one per line; whole numbers index `available`), in file order."""
    listed = read_names(split_file)
    if listed and all(n.isdigit() for n in listed):
        # index lists (as some training recipes ship) refer to positions in the sorted sequence list
        too_big = [n for n in listed if int(n) >= len(available)]
        if too_big:
            raise DataError(f"split file {split_file} indexes sequence {too_big[0]} but {title} has {len(available)}")
        return [available[int(n)] for n in listed]
    known = set(available)
    missing = [n for n in listed if n not in known]
    if missing:
        raise DataError(f"split file {split_file} names {len(missing)} sequences that {title} does not have "
                        f"(e.g. '{missing[0]}')")
    return listed


def packaged_text(filename: str) -> str:
    """A data file shipped in edgetrack/data/datasets/splits/."""
    return resources.files("edgetrack.data.datasets").joinpath("splits", filename).read_text(encoding="utf-8")


def packaged_names(filename: str) -> list[str]:
    """Names listed in a shipped split file, '#' comments skipped."""
    lines = (line.split("#", 1)[0].strip() for line in packaged_text(filename).splitlines())
    return [n for n in lines if n]


def read_table(table_file: str | Path | None, packaged: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a sequence table: the given file, or the one shipped with the package."""
    if table_file is None:
        return parse_table(packaged_text(packaged), f"edgetrack/data/datasets/splits/{packaged}", columns)
    path = Path(table_file)
    if not path.is_file():
        raise DataError(f"sequence table {path} does not exist")
    return parse_table(path.read_text(encoding="utf-8-sig"), str(path), columns)


def sorted_names(names: list[str] | set[str]) -> list[str]:
    """Names in natural order ('bird-2' before 'bird-10')."""
    return sorted(names, key=natural_key)


DATASETS: Registry[type[Dataset]] = Registry("dataset")
