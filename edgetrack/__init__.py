"""edgetrack: compress transformer single-object trackers and run them on the edge."""

from __future__ import annotations

from importlib import metadata
from typing import Any

try:
    __version__ = metadata.version("edgetrack")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["Tracker", "TrackResult", "__version__"]


def __getattr__(name: str) -> Any:
    # lazy, so `import edgetrack` (and the CLI's start-up) does not pay for numpy/OpenCV until the runtime is used
    if name in ("Tracker", "TrackResult"):
        from edgetrack.runtime import tracker

        return getattr(tracker, name)
    raise AttributeError(f"module 'edgetrack' has no attribute '{name}'")
