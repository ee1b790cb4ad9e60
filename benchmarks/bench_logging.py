"""What observing a call costs: logging off, hooks, DEBUG lines, and the bare call path.

One client against the canned-answer server (its own process) makes ``pause``/``unpause``
pairs at concurrency 1 in four modes, interleaved round by round on the same connection
so the machine's noise falls on all of them alike:

* ``bare``: the call without the per-call check (``XendClient._run_op``), the path as it
  was before logging and hooks existed but for one context-variable read per request;
* ``off``: the public method with nothing listening, what every user pays;
* ``hooks``: a no-op ``on_response`` hook;
* ``debug``: the two DEBUG lines per call formatted (a handler that formats and drops).

It prints client CPU µs per pair (the median of the rounds) and each mode's ratio to
``bare``. ``python benchmarks/bench_logging.py --pairs 2000 --rounds 7``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from _harness import machine_description, now_utc
from canned_server import CannedServer

import aioxend
from aioxend._default import DEFAULT
from aioxend.client import XendClient
from aioxend.hooks import CallEvent, Hooks


class _Formatting(logging.Handler):
    """Formats every record, as a real handler would, and keeps nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


async def _pairs(pair: Callable[[], Awaitable[None]], count: int) -> float:
    """CPU µs per pair over ``count`` pairs."""
    start = time.process_time()
    for _ in range(count):
        await pair()
    return (time.process_time() - start) / count * 1e6


async def measure(url: str, pairs: int, rounds: int) -> dict[str, list[float]]:
    """CPU µs per pair of each mode, one figure per round."""
    root = logging.getLogger("aioxend")
    handler = _Formatting()
    async with aioxend.connect(url, protocol="xmlrpc") as client:
        assert isinstance(client, XendClient)

        async def bare() -> None:
            await client._run_op("pause", "vm1", None, DEFAULT)
            await client._run_op("unpause", "vm1", None, DEFAULT)

        async def public() -> None:
            await client.pause("vm1")
            await client.unpause("vm1")

        def noop(event: CallEvent) -> None:
            pass

        figures: dict[str, list[float]] = {"bare": [], "off": [], "hooks": [], "debug": []}
        await _pairs(public, pairs // 4)  # warm up
        for _ in range(rounds):
            figures["bare"].append(await _pairs(bare, pairs))
            figures["off"].append(await _pairs(public, pairs))
            client._observer.hooks = Hooks(on_response=noop)
            figures["hooks"].append(await _pairs(public, pairs))
            client._observer.hooks = None
            root.addHandler(handler)
            root.setLevel(logging.DEBUG)
            try:
                figures["debug"].append(await _pairs(public, pairs))
            finally:
                root.removeHandler(handler)
                root.setLevel(logging.NOTSET)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000, help="pairs per mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"bench_logging on {machine_description()}, {now_utc()}")
    with tempfile.TemporaryDirectory() as tmp, CannedServer(f"{tmp}/canned.sock") as server:
        figures = asyncio.run(measure(server.urls[0], args.pairs, args.rounds))
    bare = statistics.median(figures["bare"])
    print("  mode | CPU µs/pair (median) | vs bare | rounds")
    for mode, values in figures.items():
        median = statistics.median(values)
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"  {mode} | {median:.1f} | {median / bare:.3f}x | {shown}")


if __name__ == "__main__":
    main()
