"""Count and time every call with hooks: Prometheus metrics, or plain counters without it.

    python examples/metrics.py [XEND_URL XENAPI_URL]

One ``aioxend.hooks.Hooks`` feeds a call counter (by API, operation and outcome) and a
latency histogram (by API and operation) for both clients, without wrapping a single
method. With ``prometheus_client`` installed they are its ``Counter`` and ``Histogram``
(printed in its text format at the end, as a scrape would see them); without it, a
``collections.Counter`` and fixed buckets. With no URLs, a xend emulator and a Xen-API
emulator are started for the duration of the example.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import tempfile
from typing import Any

import aioxend
from aioxend import xenapi
from aioxend.emulator import Emulator
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.hooks import CallEvent, Hooks

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
"""Upper bounds of the latency buckets, in seconds."""


class Metrics:
    """A call counter and a latency histogram, in Prometheus if it is installed."""

    def __init__(self) -> None:
        try:
            # optional: not a dependency of the project, so it may have no stubs here
            import prometheus_client as prom  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self.prom: Any = None
            self.calls: collections.Counter[tuple[str, str, str]] = collections.Counter()
            self.buckets: collections.Counter[tuple[str, str, float]] = collections.Counter()
            return
        self.prom = prom
        self.registry = prom.CollectorRegistry()
        self.counter = prom.Counter(
            "aioxend_calls", "Calls made", ["api", "operation", "outcome"], registry=self.registry
        )
        self.histogram = prom.Histogram(
            "aioxend_call_seconds",
            "Call latency",
            ["api", "operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def hooks(self) -> Hooks:
        """The hooks that feed these metrics (a client is given them at connect)."""
        return Hooks(on_response=self.ended, on_error=self.ended)

    def ended(self, event: CallEvent) -> None:
        """Count a call that ended, by outcome (``ok`` or its error class), and time it."""
        outcome = "ok" if event.error is None else type(event.error).__name__
        seconds = event.duration or 0.0
        if self.prom is not None:
            self.counter.labels(event.api, event.operation, outcome).inc()
            self.histogram.labels(event.api, event.operation).observe(seconds)
            return
        self.calls[event.api, event.operation, outcome] += 1
        bound = BUCKETS[min(bisect.bisect_left(BUCKETS, seconds), len(BUCKETS) - 1)]
        self.buckets[event.api, event.operation, bound] += 1

    def counts(self) -> dict[tuple[str, str, str], int]:
        """Calls per (api, operation, outcome), read back from whichever backend."""
        if self.prom is None:
            return dict(self.calls)
        found = {}
        for metric in self.registry.collect():
            for sample in metric.samples:
                if sample.name == "aioxend_calls_total":
                    labels = sample.labels
                    key = (labels["api"], labels["operation"], labels["outcome"])
                    found[key] = int(sample.value)
        return found

    def report(self) -> None:
        """Print the calls per operation, then the metrics as their backend shows them."""
        counts = self.counts()
        print(f"calls by operation ({'prometheus_client' if self.prom else 'plain counters'}):")
        for (api, operation, outcome), n in sorted(counts.items()):
            print(f"  {api:<7} {operation:<28} {outcome:<16} {n}")
        errors = sum(n for (_, _, outcome), n in counts.items() if outcome != "ok")
        print(f"{sum(counts.values())} calls, {errors} errors")
        if self.prom is not None:
            text = self.prom.generate_latest(self.registry).decode()
            shown = [line for line in text.splitlines() if 'operation="pause"' in line]
            print("\n".join(line for line in shown if "_created" not in line))
            return
        for (api, operation, bound), n in sorted(self.buckets.items()):
            if operation == "pause":
                print(f"  {api} {operation} <= {bound * 1e3:g} ms: {n}")


async def work(xend_url: str, xenapi_url: str, metrics: Metrics) -> None:
    """Some calls of each client, one of each failing, all seen by the same hooks."""
    async with aioxend.connect(xend_url, hooks=metrics.hooks()) as xend:
        for _ in range(3):
            await xend.pause("vm1")
            await xend.unpause("vm1")
        await xend.domains()
        with contextlib.suppress(aioxend.InvalidDomain):
            await xend.pause("no-such-guest")
    async with xenapi.connect(
        xenapi_url, username="root", password="xenroot", hooks=metrics.hooks()
    ) as xapi:
        for ref in await xapi.VM.get_all():
            await xapi.VM.get_power_state(ref)
        with contextlib.suppress(aioxend.XenAPIError):
            await xapi.call("VM.get_record", "OpaqueRef:no-such-vm")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", help="a xend URL and a Xen-API URL")
    args = parser.parse_args()
    metrics = Metrics()
    if args.urls:
        if len(args.urls) != 2:
            parser.error("give both a xend URL and a Xen-API URL, or neither")
        await work(args.urls[0], args.urls[1], metrics)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            async with (
                Emulator(domains=2, xmlrpc_unix=f"{tmp}/xend.sock") as emu,
                XenAPIServer(tcp="127.0.0.1:0", vms=3) as server,
            ):
                assert emu.xmlrpc_url is not None
                await work(emu.xmlrpc_url, server.url, metrics)
    metrics.report()


if __name__ == "__main__":
    asyncio.run(main())
