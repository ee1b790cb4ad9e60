"""Shared pieces of the benchmarks: timing samples, percentiles, tables, server processes.

Every figure is measured in the benchmark's own process, which holds only the client: the
servers run in child processes (``ServerProcess``), so ``time.process_time()`` charges
the client alone, and the server's CPU time is read from ``/proc`` to tell which side
limited a run. A side that kept its core busy for at least ``BUSY`` of the wall time is
called the limit; when neither did, the run was bound by round trips (latency).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BUSY",
    "Sample",
    "Table",
    "machine_description",
    "percentile",
]

BUSY = 0.85


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class Sample:
    """One timed run: completed calls, wall and CPU seconds, and per-call latencies."""

    calls: int
    wall: float
    client_cpu: float
    server_cpu: float | None
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        """Calls per wall-clock second."""
        return self.calls / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """Client CPU microseconds per call."""
        return self.client_cpu / self.calls * 1e6 if self.calls else float("nan")

    @property
    def per_cpu_second(self) -> float:
        """Calls per second of client CPU time: the figure the targets are set in."""
        return self.calls / self.client_cpu if self.client_cpu > 0 else float("nan")

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.50) * 1e3

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1e3

    @property
    def limit(self) -> str:
        """Which side limited the run: ``client``, ``server`` or ``latency``."""
        if self.wall <= 0:
            return "?"
        client = self.client_cpu / self.wall
        server = (self.server_cpu or 0.0) / self.wall
        if server >= BUSY and server >= client:
            return f"server ({server:.0%} CPU)"
        if client >= BUSY:
            return f"client ({client:.0%} CPU)"
        return f"latency (client {client:.0%}, server {server:.0%})"


class Table:
    """A Markdown table printed to stdout and kept for a ``--markdown`` file."""

    def __init__(self, title: str, columns: Sequence[str]) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows: list[list[str]] = []
        self.notes: list[str] = []

    def add(self, *cells: object) -> None:
        """Add a row, formatting floats to 3 significant figures."""
        row = [_cell(c) for c in cells]
        self.rows.append(row)
        print("  " + " | ".join(row), flush=True)

    def note(self, text: str) -> None:
        """A line printed under the table."""
        self.notes.append(text)
        print("  " + text, flush=True)

    def header(self) -> None:
        """Print the title and column names to stdout."""
        print(f"\n## {self.title}\n  " + " | ".join(self.columns), flush=True)

    def markdown(self) -> str:
        """The table as Markdown."""
        lines = [f"## {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def write_markdown(path: str | None, tables: Sequence[Table], preamble: str = "") -> None:
    """Write the tables to ``path`` (if given) as one Markdown document."""
    if not path:
        return
    text = preamble + "\n".join(t.markdown() for t in tables)
    Path(path).write_text(text)


def machine_description() -> str:
    """One line naming the machine, CPU count, OS and Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {sys.version.split()[0]}, load average {load} at start"
    )


def now_utc() -> str:
    """The current UTC time, to the minute."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
