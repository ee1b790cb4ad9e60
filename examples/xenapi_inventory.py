"""Inventory of a Xen-API pool (xapi) or xend host: its hosts, its VMs and their power states.

    python examples/xenapi_inventory.py [URL] [--username root] [--password ...]

With no URL, a Xen-API emulator (a two-host pool) is started for the duration of the
example. The wire is chosen by the client: JSON-RPC on xapi, XML-RPC on xend.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass

from aioxend import xenapi
from aioxend.emulator.xenapi import XenAPIServer


async def show(url: str, username: str, password: str) -> None:
    """Print each host, then each VM (not templates, not control domains) by host."""
    async with xenapi.connect(url, username=username, password=password) as xapi:
        major, minor = xapi.api_version or (0, 0)
        print(f"{xapi.url} over {xapi.protocol}, API version {major}.{minor}")
        hosts = await xapi.host.get_all_records()
        for host in hosts.values():
            print(f"host {host.name_label} ({host.address})")
        vms = await xapi.VM.get_all_records()
        guests = [vm for vm in vms.values() if not vm.is_a_template and not vm.is_control_domain]
        for vm in sorted(guests, key=lambda vm: vm.name_label):
            where = hosts[vm.resident_on].name_label if vm.resident_on in hosts else "-"
            print(f"  {vm.name_label:<12} {vm.power_state.value:<10} on {where}")
        print(
            f"{len(guests)} VMs, {sum(vm.power_state.value == 'Running' for vm in guests)} running"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="Xen-API URL (default: start an emulator)")
    parser.add_argument("--username", default="root")
    parser.add_argument("--password", help="asked for when a URL is given without it")
    args = parser.parse_args()
    if args.url is not None:
        password = args.password if args.password is not None else getpass.getpass()
        await show(args.url, args.username, password)
        return
    async with XenAPIServer(tcp="127.0.0.1:0", hosts=2, vms=4) as server:
        await show(server.url, "root", "xenroot")


if __name__ == "__main__":
    asyncio.run(main())
