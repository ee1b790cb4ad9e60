"""Watch a xend host's domains and print every change, for a bounded time.

    python examples/watch_states.py [URL] [--seconds S] [--interval SECONDS]

Neither legacy protocol has events, so ``client.watch()`` polls ``domains()`` every
``interval`` seconds and yields the same ``Event`` shape as Xen-API's ``xapi.events()``:
``add``, ``mod`` with the fields that changed, ``del``. With no URL, an emulator is
started (its XML-RPC and SXP listeners are watched in turn), and a second task pauses,
unpauses and destroys its guests so that there is something to see.
"""

from __future__ import annotations

import argparse
import asyncio

import anyio

import aioxend
from aioxend import DomainInfo
from aioxend.emulator import Emulator


async def watch(url: str, seconds: float, interval: float) -> int:
    """Print the changes seen within ``seconds``; returns how many mods and dels."""
    changes = 0
    states: dict[str, str] = {}
    async with aioxend.connect(url) as client:
        print(f"watching {url} over {client.protocol} every {interval:g} s")
        with anyio.move_on_after(seconds):
            async for event in client.watch(interval=interval):
                domain = event.snapshot
                if isinstance(domain, DomainInfo):
                    state, before = domain.state_string, states.get(event.ref, "")
                    states[event.ref] = state
                    if event.operation == "add":
                        print(f"{domain.name}: appeared ({state})")
                        continue
                    fields = ", ".join(sorted(event.changed or ()))
                    print(f"{domain.name}: {before} -> {state} ({fields})")
                else:
                    print(f"{event.ref}: gone")
                changes += 1
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
    parser.add_argument("--seconds", type=float, default=2.0, help="how long (default: 2)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between polls")
    args = parser.parse_args()
    if args.url is not None:
        await watch(args.url, args.seconds, args.interval)
        return
    loopback = "127.0.0.1:0"
    for emu in (Emulator(domains=2, xmlrpc_tcp=loopback), Emulator(domains=2, sxp_tcp=loopback)):
        async with emu:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(churn, emu.urls[0], args.interval)
                changes = await watch(emu.urls[0], args.seconds, args.interval)
            print(f"{changes} transitions seen")


if __name__ == "__main__":
    asyncio.run(main())
