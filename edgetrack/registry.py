"""Named entries (models, datasets, backends, targets) with "did you mean" errors."""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from edgetrack.errors import RegistryError

T = TypeVar("T")


def closest(name: str, choices: list[str]) -> str | None:
    """The choice closest to `name`, or None when none is close."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return close[0] if close else None


def suggest(name: str, choices: list[str]) -> str:
    """Return ' Did you mean X?' for the closest choice, or ''."""
    close = closest(name, choices)
    return f" Did you mean '{close}'?" if close else ""


class Registry(Generic[T]):
    """A mapping from names to entries, filled with the `register` decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries:
                raise RegistryError(f"{self.kind} '{name}' is registered twice")
            self._entries[name] = entry
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        self.register(name)(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise RegistryError(
                f"unknown {self.kind} '{name}'.{suggest(name, list(self._entries))} Known: {known}"
            ) from None

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
