"""A xend emulator: a real server speaking xend's XML-RPC and legacy SXP/HTTP protocols.

No Xen host is needed. ``Emulator`` serves an in-memory host (Domain-0 plus seeded guests
``vm1``..``vmN``) the way xend 4.4 did, byte for byte where clients can tell, with fault
injection for reliability tests. ``python -m aioxend.emulator`` runs one from the shell.
"""

from aioxend.emulator._cli import main
from aioxend.emulator._faults import FAULT_KINDS, FaultInjector, FaultRule
from aioxend.emulator._host import Device, Domain, Host
from aioxend.emulator._server import Emulator

__all__ = [
    "FAULT_KINDS",
    "Device",
    "Domain",
    "Emulator",
    "FaultInjector",
    "FaultRule",
    "Host",
    "main",
]
