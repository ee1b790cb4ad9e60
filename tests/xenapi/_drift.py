"""Drift for the cache's tests: a VM that appears in or vanishes from the emulated pool
with no event, as if the server had lost the event (only ``valid_ref_counts`` can tell).

The emulator has no such fault, so this reaches into its state: the record table and
the change log's stamps (``aioxend/emulator/xenapi/_events.py``: an object without a
stamp is never reported; one stamped with an old generation only once it changes).
"""

from __future__ import annotations

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.emulator.xenapi._events import _Stamp

__all__ = ["add_silently", "remove_silently"]


def add_silently(server: XenAPIServer, like: str) -> str:
    """A copy of the VM ``like`` (a new ref and UUID), added without an event."""
    pool = server.pool
    with pool.lock, pool.events.lock:
        table = pool.objects["VM"]
        ref = f"OpaqueRef:drift-{pool.new_uuid()}"
        table[ref] = {**table[like], "uuid": pool.new_uuid(), "other_config": {}}
        # made at generation 1: an event.from since any later token does not report it,
        # one from "" (a resync) does, as do its later changes
        pool.events.stamps[("VM", ref)] = _Stamp(1, 1)
        return ref


def remove_silently(server: XenAPIServer, ref: str) -> None:
    """Remove the VM ``ref`` without an event."""
    pool = server.pool
    with pool.lock, pool.events.lock:
        del pool.objects["VM"][ref]
        pool.events.stamps.pop(("VM", ref), None)
