"""Create a guest from an SXP ``(vm ...)`` configuration, look at it, and destroy it.

    python examples/create_from_config.py [URL] [--config FILE] [--keep]

The configuration is the S-expression xm built from a config file and sent to xend
(``xend.domain.create`` over XML-RPC, ``op=create`` over SXP/HTTP). With no URL, an
emulator is started for the duration of the example. The new guest is destroyed at the
end unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib

import aioxend
from aioxend import sxp
from aioxend.emulator import Emulator

CONFIG = """
(vm (name example-guest)
    (memory 256)
    (maxmem 512)
    (vcpus 2)
    (on_poweroff destroy)
    (on_reboot restart)
    (on_crash restart)
    (image (linux (kernel /boot/vmlinuz-2.6.18-xen)
                  (ramdisk /boot/initrd-2.6.18-xen.img)
                  (args 'root=/dev/xvda1 ro console=hvc0')))
    (device (vbd (uname file:/var/lib/xen/images/example-guest.img)
                 (dev xvda)
                 (mode w)))
    (device (vif (mac 00:16:3e:5a:11:01) (bridge xenbr0))))
"""


async def create(url: str, config: str, keep: bool) -> None:
    """Create the guest, print its typed record and devices, then destroy it."""
    async with aioxend.connect(url) as client:
        dom = await client.create(config)
        print(f"created {dom.name}: id {dom.domid}, {dom.memory} MiB, {dom.vcpus} VCPUs")
        full = await client.domain(dom.name)
        print(f"state {full.state_string}, kernel {full.kernel}")
        for device in full.devices:
            fields = (device.dev, device.uname, device.mode, device.mac, device.bridge)
            print(f"  device {device.kind}: {', '.join(f for f in fields if f)}")
        print(sxp.dumps(full.sxp, pretty=True))
        if not keep:
            await client.destroy(dom.name)
            print(f"destroyed {dom.name}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="xend URL (default: start an emulator)")
    parser.add_argument("--config", type=pathlib.Path, help="SXP (vm ...) file to use")
    parser.add_argument("--keep", action="store_true", help="do not destroy the new guest")
    args = parser.parse_args()
    config = args.config.read_text() if args.config is not None else CONFIG
    if args.url is not None:
        await create(args.url, config, args.keep)
        return
    async with Emulator(domains=0, xmlrpc_tcp="127.0.0.1:0") as emu:
        await create(emu.urls[0], config, args.keep)


if __name__ == "__main__":
    asyncio.run(main())
