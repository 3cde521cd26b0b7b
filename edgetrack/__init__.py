"""edgetrack: compress transformer single-object trackers and run them on the edge."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("edgetrack")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
