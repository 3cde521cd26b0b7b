"""Shared rich consoles for command output (stdout) and messages (stderr)."""

from __future__ import annotations

import os
import sys

from rich.console import Console

# Piped output (logs, CI, `| tee`) has no terminal width; rich would fall back to 80 columns and squeeze the
# wide latency and metrics tables into ellipses, so use a log-friendly width there unless COLUMNS is set.
_PIPED_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160

out = Console(width=_PIPED_WIDTH)
err = Console(stderr=True, width=_PIPED_WIDTH)
