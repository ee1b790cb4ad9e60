"""Event-loop friendliness: how late a 10 ms ticker runs while a 20 MB answer decodes.

The canned server (its own process) answers ``xend.domains_with_state`` with about 20 MB
of domain records. While a client fetches and decodes it over a real socket, a ticker
task on the same event loop sleeps 10 ms at a time and records how late each wake-up
was. A client that decodes the whole body in one go blocks the loop for as long as the
decode takes; aioxend decodes chunk by chunk as bytes arrive and so yields between
chunks. The target: worst lateness at most 50 ms.

Clients: aioxend (``domains()``, which also builds typed records, and the raw
``call()``), aioxmlrpc and aiohttp-xmlrpc, in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from _harness import Table, machine_description, now_utc, write_markdown
from bench_calls import Endpoint, aiohttp_xmlrpc_call, aioxmlrpc_call, endpoints
from canned_server import CannedServer, domain_records

TICK = 0.010
FetchFactory = Callable[
    [Endpoint], contextlib.AbstractAsyncContextManager[Callable[[], Awaitable[object]]]
]


def domains_for(megabytes: float) -> int:
    """How many canned domain records make a response of about ``megabytes`` MB."""
    sample = xmlrpc.client.dumps((domain_records(20),), methodresponse=True, allow_none=True)
    return max(1, int(megabytes * 1e6 / (len(sample) / 20)))


def _aioxend(typed: bool) -> FetchFactory:
    @contextlib.asynccontextmanager
    async def factory(endpoint: Endpoint) -> AsyncIterator[Callable[[], Awaitable[object]]]:
        import aioxend

        async with aioxend.connect(endpoint.url, protocol="xmlrpc") as c:
            if typed:
                yield c.domains
            else:

                async def raw() -> object:
                    return await c.call("xend.domains_with_state", True, "all", False)

                yield raw

    return factory


def _competitor(which: str) -> FetchFactory:
    @contextlib.asynccontextmanager
    async def factory(endpoint: Endpoint) -> AsyncIterator[Callable[[], Awaitable[object]]]:
        maker = aioxmlrpc_call if which == "aioxmlrpc" else aiohttp_xmlrpc_call
        async with maker(endpoint, "domains", 1) as call:

            async def fetch() -> object:
                return await call(0)

            yield fetch

    return factory


CLIENTS: dict[str, FetchFactory] = {
    "aioxend domains()": _aioxend(True),
    "aioxend call()": _aioxend(False),
    "aioxmlrpc": _competitor("aioxmlrpc"),
    "aiohttp-xmlrpc": _competitor("aiohttp-xmlrpc"),
}


class GcPauses:
    """The longest garbage-collector pause while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


async def idle_lateness(seconds: float) -> float:
    """Worst lateness of the ticker with nothing else running: the machine's noise floor."""

    async def nothing() -> object:
        await asyncio.sleep(seconds)
        return True

    worst, _, _ = await lateness_during(nothing)
    return worst


async def lateness_during(fetch: Callable[[], Awaitable[object]]) -> tuple[float, float, int]:
    """(worst lateness s, fetch seconds, ticks) of a ticker running while ``fetch`` runs."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst, ticks
        while not done.is_set():
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            worst = max(worst, loop.time() - due)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 3)
    t0 = time.perf_counter()
    result: Any = await fetch()
    elapsed = time.perf_counter() - t0
    done.set()
    await task
    if not result:
        raise RuntimeError("empty answer")
    return worst, elapsed, ticks


def run(endpoint: Endpoint, name: str, repeats: int) -> tuple[float, float, float]:
    """Worst lateness, mean fetch time and longest GC pause over ``repeats`` fetches."""

    async def main() -> tuple[float, float, float]:
        async with CLIENTS[name](endpoint) as fetch:
            await fetch()  # warm-up: connection and first-call setup
            worst, total = 0.0, 0.0
            with GcPauses() as pauses:
                for _ in range(repeats):
                    late, elapsed, _ = await lateness_during(fetch)
                    worst, total = max(worst, late), total + elapsed
            return worst, total / repeats, pauses.longest

    return asyncio.run(main())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; ``--quick`` uses one repeat per client."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one fetch per client")
    parser.add_argument("--markdown", help="write the table to this Markdown file")
    parser.add_argument("--mb", type=float, default=20.0, help="response size in MB")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    print(f"bench_loop on {machine_description()}, {now_utc()}")
    count = domains_for(args.mb)
    tables = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        CannedServer(os.path.join(tmp, "canned.sock"), domains=count) as server,
    ):
        for endpoint in endpoints(server):
            table = Table(
                f"bench_loop: 10 ms ticker while a {args.mb:.0f} MB xend.domains answer "
                f"({count} domains) decodes, {endpoint.kind} socket",
                [
                    "client",
                    "worst lateness ms",
                    "longest GC pause ms",
                    "fetch+decode s",
                    "lateness vs aioxend call()",
                ],
            )
            table.header()
            tables.append(table)
            floor = asyncio.run(idle_lateness(2.0))
            table.add("(idle ticker, no fetch: the machine's noise)", floor * 1e3, "-", "-", "-")
            results: dict[str, tuple[float, float, float]] = {}
            for name in CLIENTS:
                try:
                    results[name] = run(endpoint, name, repeats)
                except Exception as exc:
                    table.note(f"{name}: failed: {type(exc).__name__}: {exc}")
            ref = results.get("aioxend call()")
            for name, (worst, mean, gc_pause) in results.items():
                ratio = f"{worst / ref[0]:.1f}x" if ref and ref[0] > 0 else "-"
                table.add(name, worst * 1e3, gc_pause * 1e3, mean, ratio)
            table.note(f"Target: worst lateness <= 50 ms; {repeats} fetch(es) per client.")
    write_markdown(args.markdown, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
