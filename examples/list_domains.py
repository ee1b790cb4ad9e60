"""List every domain on a xend host, as ``xm list`` does, and a few typed fields.

    python examples/list_domains.py [URL]

With no URL, an emulator is started for the duration of the example.
"""

from __future__ import annotations

import argparse
import asyncio

import aioxend
from aioxend.cli import format_domain_table
from aioxend.emulator import Emulator


async def show(url: str) -> None:
    """Print the host summary, then the domains in xm list's table (the CLI's formatter)."""
    async with aioxend.connect(url) as client:
        node = await client.node_info(show_numa=False)
        print(f"{client.url} ({client.protocol}): host {node.host}, {node.nr_cpus} CPUs")
        for line in format_domain_table(await client.domains()):
            print(line)


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
