"""Poll a xend host and print every domain state change, for a bounded number of polls.

    python examples/watch_states.py [URL] [--iterations N] [--interval SECONDS]

xend has no push notifications over XML-RPC, so a watcher polls ``domains()``; one call
returns every domain with its state, which is cheap even for many guests. With no URL, an
emulator is started, and a second task pauses, unpauses and shuts down its guests so that
there is something to see.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import aioxend
from aioxend.emulator import Emulator


async def watch(url: str, iterations: int, interval: float) -> int:
    """Poll ``iterations`` times; print appearances, disappearances and state changes."""
    changes = 0
    seen: dict[str, str] = {}
    async with aioxend.connect(url) as client:
        for _ in range(iterations):
            now = {d.name: d.state_string or "------" for d in await client.domains()}
            for name, state in now.items():
                if name not in seen:
                    print(f"{name}: appeared ({state})")
                elif seen[name] != state:
                    print(f"{name}: {seen[name]} -> {state}")
                    changes += 1
            for name in seen.keys() - now.keys():
                print(f"{name}: gone")
                changes += 1
            seen = now
            await asyncio.sleep(interval)
    return changes


async def churn(url: str, interval: float) -> None:
    """Change guests' states now and then, so the watcher has transitions to show."""
    async with aioxend.connect(url) as client:
        guests = [d.name for d in await client.domains() if d.domid not in (None, 0)]
        for name in guests:
            await asyncio.sleep(interval * 1.5)
            await client.pause(name)
            await asyncio.sleep(interval * 1.5)
            await client.unpause(name)
        if guests:
            await client.destroy(guests[-1])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="xend URL (default: start an emulator)")
    parser.add_argument("--iterations", type=int, default=12, help="polls (default: 12)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between polls")
    args = parser.parse_args()
    if args.url is not None:
        await watch(args.url, args.iterations, args.interval)
        return
    async with Emulator(domains=2, xmlrpc_tcp="127.0.0.1:0") as emu:
        churner = asyncio.create_task(churn(emu.urls[0], args.interval))
        changes = await watch(emu.urls[0], args.iterations, args.interval)
        churner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await churner  # re-raises what the churner hit, if anything
        print(f"{changes} transitions seen")


if __name__ == "__main__":
    asyncio.run(main())
