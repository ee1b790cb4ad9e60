"""The transfer progress bar of ``vm-import``/``vm-export``, drawn on a terminal only.

xe draws ``[*] ####>   ( 42% ETA 00:01:23)`` with a spinning ``*`` (``ocaml/xapi-cli-
server/cli_progress_bar.ml``) and ends with ``Total time: ...``. This bar keeps that
shape and adds the bytes moved and the rate, since a VM image is gigabytes:
``[\\] ######>        1.2 GiB / 4.0 GiB  85.3 MiB/s  ( 30% ETA 00:00:34)``. Without a
known total (an export whose size the server does not say) it shows the bytes and the
rate only. It redraws at most ten times a second, on one line (``\\r``), and writes
nothing at all to a stream that is not a terminal.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, TextIO

__all__ = ["ProgressBar", "format_bytes", "format_hms"]

_SPINNER: Final = "-\\|/"
_REDRAW_SECONDS: Final = 0.1
_WIDTH: Final = 79


def format_bytes(count: float) -> str:
    """``1.2 GiB``: binary units, one decimal from KiB up."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_hms(seconds: float) -> str:
    """``HH:MM:SS``, ``++:++:++`` past 99 hours (cli_progress_bar.ml ``hms``)."""
    secs = max(0, int(seconds))
    if secs >= 100 * 3600:
        return "++:++:++"
    return f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


class ProgressBar:
    """``bar(done, total)`` with the bytes moved so far; ``bar.finish()`` ends the line.

    ``total`` is the size when known at the start. ``clock`` is for tests.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int | None,
        *,
        label: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._shown = stream.isatty()
        self._total = total if total is not None and total > 0 else None
        self._label = label
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None
        self._done = 0
        self._spin = 0

    def __call__(self, done: int, total: int | None = None) -> None:
        """The bytes moved so far, and the total once it is known (an export learns it
        from the answer's ``Content-Length``), as ``xapi.import_vm``'s ``progress`` gives."""
        self._done = done
        if total is not None and total > 0:
            self._total = total
        if not self._shown:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < _REDRAW_SECONDS:
            return
        self._drawn_at = now
        self._stream.write("\r" + self.line(now))
        self._stream.flush()

    def line(self, now: float) -> str:
        """The bar as it reads at ``now``, ``_WIDTH`` characters at most."""
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        self._spin = (self._spin + 1) % len(_SPINNER)
        moved = format_bytes(self._done)
        if self._total is None:
            tail = f"{moved}  {format_bytes(rate)}/s"
            return f"[{_SPINNER[self._spin]}] {self._label}{tail}"[:_WIDTH]
        fraction = min(self._done / self._total, 1.0)
        eta = format_hms((self._total - self._done) / rate) if rate > 0 else "--:--:--"
        tail = (
            f" {moved} / {format_bytes(self._total)}  {format_bytes(rate)}/s"
            f"  ({int(fraction * 100):3d}% ETA {eta})"
        )
        width = max(_WIDTH - 4 - len(tail), 0)
        filled = int(fraction * width)
        bar = ("#" * (filled - 1) + ">" if filled else "").ljust(width)
        return f"[{_SPINNER[self._spin]}] {bar}{tail}"

    def finish(self) -> None:
        """Clear the bar and say how long it took and how much moved, as xe's
        ``Total time:`` line does; nothing off a terminal."""
        if not self._shown:
            return
        elapsed = self._clock() - self._started
        self._stream.write(
            f"\r\x1b[K{self._label}{format_bytes(self._done)} in {format_hms(elapsed)}"
            f" ({format_bytes(self._done / max(elapsed, 1e-9))}/s)\n"
        )
        self._stream.flush()

    def abort(self) -> None:
        """Clear the bar (the transfer failed; the error says why)."""
        if self._shown and self._drawn_at is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
