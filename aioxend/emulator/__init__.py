"""A xend emulator: a real server speaking xend's XML-RPC and legacy SXP/HTTP protocols.

No Xen host is needed. ``Emulator`` serves an in-memory host (Domain-0 plus seeded guests
``vm1``..``vmN``, deterministic for a seed) the way xend 4.4 did, byte for byte where
clients can tell, with fault injection for reliability tests::

    async with Emulator(domains=3, xmlrpc_unix="/tmp/x.sock", sxp_tcp="127.0.0.1:0") as emu:
        emu.urls              # ["httpu:///tmp/x.sock", "http://127.0.0.1:PORT/"]
        emu.host.domain("vm1").state_string      # "-b----" / "r-----" / "--p---" ...
        emu.faults.add("drop_mid", "xend.domain.pause", rate=0.5)

    with Emulator.in_thread(xmlrpc_tcp="127.0.0.1:0") as emu:   # for sync or trio code
        ...

``emu.host`` (a ``Host``) is inspectable from any thread: ``domain(name|domid|uuid)``
and ``domains()`` lock; a ``Domain``'s attributes (``status``, ``state_string``,
``memory``, ``devices``, ``sysrq_keys``...) are plain values, and a test may set simple
ones (``on_crash = "preserve"``, ``host.scheduler = "sedf"``) directly; hold
``emu.host.lock`` for anything compound. ``emu.faults`` (a ``FaultInjector``) locks
internally. ``python -m aioxend.emulator`` (or ``aioxend emulator``) runs one from the
shell; see ``main``.
"""

import importlib.util

if importlib.util.find_spec("aiohttp") is None:  # the server side only: the client never needs it
    raise ModuleNotFoundError(
        "the emulator needs aiohttp, which is not installed: pip install 'aioxend[emulator]'",
        name="aiohttp",
    )

from aioxend.emulator._cli import main
from aioxend.emulator._faults import FAULT_KINDS, FaultInjector, FaultRule
from aioxend.emulator._host import Host
from aioxend.emulator._limits import ServerLimits
from aioxend.emulator._records import Device, Domain
from aioxend.emulator._server import Emulator

__all__ = [
    "FAULT_KINDS",
    "Device",
    "Domain",
    "Emulator",
    "FaultInjector",
    "FaultRule",
    "Host",
    "ServerLimits",
    "main",
]
