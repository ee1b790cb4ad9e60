"""Survive the loss of a pool master: a client with ``pool=True`` finds the new master.

    python examples/pool_failover.py [URL] [--username root] [--password ...] [--calls N]

With a URL, the example reads the pool every ``--interval`` seconds ``--calls`` times and
prints each change of master and how long no call succeeded (fail the master over
meanwhile: ``xe pool-emergency-transition-to-master`` on a member, or HA). With none, it
starts a three-host emulated pool, kills its master mid-run (a crash, then a hang), makes a
member the master at once, and prints the failover time: from the master's death to the
first successful call on the new master (the client's search alone; an HA election adds
its own time), the median and the worst of ``--trials`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import statistics
import time
from typing import Literal

from aioxend import XendError, xenapi
from aioxend.emulator.xenapi import XenAPIServer

Death = Literal["crash", "hang"]
DEATHS: tuple[Death, ...] = ("crash", "hang")
CALL_TIMEOUT = 0.5
"""Seconds a call may take: how soon a master that hangs is given up on."""


async def watch(url: str, username: str, password: str, calls: int, interval: float) -> None:
    """Read the pool ``calls`` times; print each master change and each outage."""
    async with xenapi.connect(url, username=username, password=password, pool=True) as xapi:
        print(f"master {xapi.url}")
        master, failing_since = xapi.url, None
        for _ in range(calls):
            started = time.monotonic()
            try:
                await xapi.pool.get_all()
            except XendError as exc:
                failing_since = failing_since or started
                print(f"call failed: {exc}")
            else:
                if failing_since is not None:
                    print(f"calls succeed again after {time.monotonic() - failing_since:.3f} s")
                    failing_since = None
                if xapi.url != master:
                    master = xapi.url
                    took = time.monotonic() - started
                    print(f"new master {master} (the call that found it took {took:.3f} s)")
            await asyncio.sleep(interval)


async def failover_seconds(death: Death) -> float:
    """One run: seconds from the master's death to a call answered by the new master."""
    async with (
        XenAPIServer(tcp="127.0.0.1:0", hosts=3, vms=4) as server,
        xenapi.connect(
            server.url, username="root", password="xenroot", pool=True, timeout=CALL_TIMEOUT
        ) as xapi,
    ):
        new_master = server.member_urls[1]
        await xapi.VM.get_all()
        died = time.perf_counter()
        server.kill_master(death)
        server.promote(new_master)
        while True:
            try:
                await xapi.VM.get_all()  # a read: sent again after the search
            except XendError:
                continue
            if xapi.url == new_master:
                return time.perf_counter() - died


async def measure(trials: int) -> None:
    for death in DEATHS:
        times = [await failover_seconds(death) for _ in range(trials)]
        median, worst = statistics.median(times), max(times)
        extra = f", call timeout {CALL_TIMEOUT} s" if death == "hang" else ""
        print(
            f"failover after a master {death}{extra}: {median * 1000:.1f} ms "
            f"(median of {trials}, worst {worst * 1000:.1f} ms)"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="a pool's URL (default: an emulated pool)")
    parser.add_argument("--username", default="root")
    parser.add_argument("--password", help="asked for when a URL is given without it")
    parser.add_argument("--calls", type=int, default=600, help="reads of a real pool")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between reads")
    parser.add_argument("--trials", type=int, default=5, help="emulated failovers of each kind")
    args = parser.parse_args()
    if args.url is not None:
        password = args.password if args.password is not None else getpass.getpass()
        await watch(args.url, args.username, password, args.calls, args.interval)
        return
    await measure(args.trials)


if __name__ == "__main__":
    asyncio.run(main())
