"""Append a result table to benchmarks/RESULTS.md with the machine, date and command."""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def append_result(title: str, header: Sequence[str], rows: Sequence[Sequence[object]], notes: str = "") -> str:
    """Write one section (title, machine, date, command, table, notes) to RESULTS.md and return it."""
    command = f"python -m benchmarks.{Path(sys.argv[0]).stem} " + " ".join(sys.argv[1:])
    section = (f"\n## {title}\n\n- machine: {machine()}\n- date: {dt.date.today().isoformat()}\n"
               f"- command: `{command}`\n\n{markdown_table(header, rows)}\n")
    if notes:
        section += f"\n{notes.strip()}\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nEach section is appended by a script in benchmarks/.\n")
    with RESULTS.open("a") as f:
        f.write(section)
    return section
