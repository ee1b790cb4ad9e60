"""The transfer progress bar of ``aioxend xe``: its line, its pace, silence off a terminal."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from aioxend._xe._progress import ProgressBar, format_bytes, format_hms


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def last_line(stream: io.StringIO) -> str:
    return stream.getvalue().rsplit("\r", 1)[-1]


def test_line_shows_bytes_rate_and_eta() -> None:
    clock, stream = Clock(), Terminal()
    bar = ProgressBar(stream, 4 * 1024**3, clock=clock)
    clock.now += 10.0
    bar(1024**3)  # 1 GiB in 10 s: 102.4 MiB/s, 3 GiB to go, 30 s
    line = last_line(stream)
    assert line.startswith("[")
    assert line.endswith(" 1.0 GiB / 4.0 GiB  102.4 MiB/s  ( 25% ETA 00:00:30)")
    assert "#" in line
    assert ">" in line
    assert len(line) == 79


def test_unknown_total_shows_bytes_and_rate() -> None:
    clock, stream = Clock(), Terminal()
    bar = ProgressBar(stream, None, label="Export ", clock=clock)
    clock.now += 2.0
    bar(3 * 1024**2)
    assert last_line(stream)[4:] == "Export 3.0 MiB  1.5 MiB/s"


def test_redraws_at_most_ten_times_a_second() -> None:
    clock, stream = Clock(), Terminal()
    bar = ProgressBar(stream, 1000, clock=clock)
    for done in range(0, 1000, 10):
        clock.now += 0.01
        bar(done)
    assert 9 <= stream.getvalue().count("\r") <= 11
    bar.finish()
    assert stream.getvalue().endswith("\n")


def test_silent_off_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, 100)
    bar(50)
    bar.finish()
    assert stream.getvalue() == ""


def test_formats() -> None:
    assert format_bytes(0) == "0 B"
    assert format_bytes(1023) == "1023 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(5 * 1024**5) == "5120.0 TiB"
    assert format_hms(3661.9) == "01:01:01"
    assert format_hms(-5) == "00:00:00"
    assert format_hms(100 * 3600) == "++:++:++"


@given(
    total=st.integers(min_value=1, max_value=1 << 50),
    done=st.integers(min_value=0, max_value=1 << 51),
    elapsed=st.floats(min_value=0.0, max_value=1e7),
)
def test_line_fits_any_figures(total: int, done: int, elapsed: float) -> None:
    clock, stream = Clock(), Terminal()
    bar = ProgressBar(stream, total, clock=clock)
    clock.now += elapsed
    bar(done)
    assert len(last_line(stream)) <= 79
