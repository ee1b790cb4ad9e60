"""Ask many xend hosts at once how they are, with bounded concurrency; collect failures.

    python examples/fleet_status.py [URL ...] [--concurrency N] [--timeout SECONDS]

``aioxend.Fleet`` runs one operation on every host, at most ``--concurrency`` at a time,
each within its own deadline, and hands back one result per host: a dead host is a line
in the report, never the end of the run. With no URL, eight emulators are started on
loopback TCP ports, and two URLs that lead nowhere are added to show the errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass

import aioxend
from aioxend.emulator import Emulator


@dataclass(frozen=True)
class HostStatus:
    """What one host reported."""

    host: str
    running: int
    paused: int
    free_memory: int | None


async def status(client: aioxend.XendClient) -> HostStatus:
    """The operation each host runs: node info plus a count of its domains by state."""
    node = await client.node_info()
    domains = await client.domains()
    paused = sum(1 for d in domains if "p" in (d.state_string or ""))
    return HostStatus(node.host or "?", len(domains) - paused, paused, node.free_memory)


def report(result: aioxend.HostResult[HostStatus]) -> None:
    """Print one host's line as soon as it has answered or failed."""
    if result.value is not None:
        s = result.value
        line = f"{s.host}: {s.running} running, {s.paused} paused, {s.free_memory} MiB free"
    else:
        line = f"FAILED {type(result.error).__name__}: {result.error}"
    print(f"{result.url:<60} {result.elapsed * 1000:6.1f} ms  {line}")


async def poll(urls: list[str], concurrency: int, per_host: float) -> None:
    """Run ``status`` on every host and print a summary."""
    async with aioxend.Fleet(urls, concurrency=concurrency, timeout=per_host) as fleet:
        results = await fleet.run(status, on_result=report)
    print(f"{len(results.succeeded)} hosts answered, {len(results.failed)} failed")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", metavar="URL", help="xend URLs (default: emulators)")
    parser.add_argument("--concurrency", type=int, default=4, help="hosts in flight at once")
    parser.add_argument("--timeout", type=float, default=5.0, help="per-host deadline (s)")
    args = parser.parse_args()
    if args.urls:
        await poll(args.urls, args.concurrency, args.timeout)
        return
    async with contextlib.AsyncExitStack() as stack:
        urls = []
        for i in range(8):
            emu = Emulator(domains=1 + i % 3, seed=i, xmlrpc_tcp="127.0.0.1:0")
            urls.extend((await stack.enter_async_context(emu)).urls)
        urls.append("httpu:///nonexistent/aioxend-example/xmlrpc.sock")  # no such socket
        urls.append("http://127.0.0.1:9/")  # the discard port: nothing listens on loopback
        await poll(urls, args.concurrency, args.timeout)


if __name__ == "__main__":
    asyncio.run(main())
