"""List every domain on a xend host, as ``xm list`` does, and a few typed fields.

    python examples/list_domains.py [URL]

With no URL, an emulator is started for the duration of the example.
"""

from __future__ import annotations

import argparse
import asyncio

import aioxend
from aioxend.emulator import Emulator


async def show(url: str) -> None:
    """Print the host summary and one line per domain."""
    async with aioxend.connect(url) as client:
        node = await client.node_info()
        print(f"{client.url} ({client.protocol}): host {node.host}, {node.nr_cpus} CPUs")
        print(f"{'Name':<24} {'ID':>4} {'Mem':>6} {'VCPUs':>5} {'State':>7} {'Time(s)':>9}")
        for dom in await client.domains():
            domid = "" if dom.domid is None else str(dom.domid)
            print(
                f"{dom.name:<24} {domid:>4} {dom.memory or 0:>6} {dom.vcpus or 0:>5}"
                f" {dom.state_string or '------':>7} {dom.cpu_time or 0.0:>9.1f}"
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="xend URL (default: start an emulator)")
    url = parser.parse_args().url
    if url is not None:
        await show(url)
        return
    async with Emulator(domains=4, xmlrpc_tcp="127.0.0.1:0") as emu:
        await show(emu.urls[0])


if __name__ == "__main__":
    asyncio.run(main())
