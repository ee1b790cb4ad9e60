"""Talk to xend over its legacy S-expression/HTTP protocol (the one libvirt used).

    python examples/legacy_sxp.py [URL]

Before Xen 3.0.2, and on later hosts with ``xend-http-server`` or ``xend-unix-server``
enabled, xend answered ``GET /xend/domain/<name>`` with S-expressions and took
operations as ``op=`` form posts. aioxend speaks it with the same methods and the same
typed results as XML-RPC. With no URL, an emulator serving only that protocol is started.
"""

from __future__ import annotations

import argparse
import asyncio

import aioxend
from aioxend import sxp
from aioxend.emulator import Emulator


async def tour(url: str) -> None:
    """List, inspect and resize one guest, and show the errors, over SXP/HTTP."""
    async with aioxend.connect(url, protocol="sxp") as client:
        print(f"connected to {client.url} over {client.protocol}")
        domains = await client.domains()
        for dom in domains:
            print(f"  {dom.name:<20} id={dom.domid} mem={dom.memory} state={dom.state_string}")
        guests = [d for d in domains if d.domid not in (None, 0)]
        if guests:
            name = guests[0].name
            record = await client.domain(name)
            print(f"GET /xend/domain/{name}, pretty-printed as xm list -l would:")
            print(sxp.dumps(record.sxp, pretty=True))
            target = max((record.memory or 256) // 2, 64)
            await client.set_memory(name, target)  # POST op=mem_target_set target=...
            after = await client.domain(name)
            print(f"{name}: op=mem_target_set {record.memory} -> {after.memory} MiB")
        try:
            await client.domain("no-such-guest")
        except aioxend.InvalidDomain as exc:
            print(f"unknown domain (HTTP 404 on this protocol): {type(exc).__name__}: {exc}")
        try:
            await client.call("xend.domains", 0)
        except aioxend.UnsupportedOperation as exc:
            print(f"raw XML-RPC calls are not possible here: {exc}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="xend SXP/HTTP URL (default: start an emulator)")
    url = parser.parse_args().url
    if url is not None:
        await tour(url)
        return
    async with Emulator(domains=2, sxp_tcp="127.0.0.1:0") as emu:
        await tour(emu.urls[0])


if __name__ == "__main__":
    asyncio.run(main())
