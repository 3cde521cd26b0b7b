"""Shared rich consoles for command output (stdout) and messages (stderr)."""

from __future__ import annotations

from rich.console import Console

out = Console()
err = Console(stderr=True)
