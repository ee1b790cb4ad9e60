"""Pause a guest, check that xend reports it paused, then unpause it.

    python examples/pause_resume.py [URL] [--domain NAME]

With no URL, an emulator is started for the duration of the example. With no
``--domain``, the first running guest (not Domain-0) is used.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile

import aioxend
from aioxend.emulator import Emulator


async def pause_and_resume(url: str, name: str | None) -> None:
    """Pause then unpause one guest, printing its state after each step."""
    async with aioxend.connect(url) as client:
        if name is None:
            running = [d for d in await client.domains() if d.domid not in (None, 0)]
            if not running:
                raise SystemExit("no running guest to pause")
            name = running[0].name
        print(f"{name}: {(await client.domain(name)).state_string}")
        await client.pause(name)
        state = (await client.domain(name)).state_string or ""
        print(f"{name}: {state} after pause")
        if "p" not in state:
            raise SystemExit(f"{name} is not reported paused: {state!r}")
        await client.unpause(name)
        print(f"{name}: {(await client.domain(name)).state_string} after unpause")
        try:
            await client.pause("no-such-guest")
        except aioxend.InvalidDomain as exc:
            print(f"as expected: {exc}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="xend URL (default: start an emulator)")
    parser.add_argument("--domain", help="guest to pause (default: first running guest)")
    args = parser.parse_args()
    if args.url is not None:
        await pause_and_resume(args.url, args.domain)
        return
    # An emulator on a temporary UNIX socket, as xend's own listener would be.
    with tempfile.TemporaryDirectory() as tmp:
        async with Emulator(domains=2, xmlrpc_unix=f"{tmp}/xmlrpc.sock") as emu:
            await pause_and_resume(emu.urls[0], args.domain)


if __name__ == "__main__":
    asyncio.run(main())
