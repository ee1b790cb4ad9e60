"""The garbage-collector policy for large answers: the one module above the codecs that
touches ``gc`` (``aioxend.sxp``'s fast path pauses it while it reads a long text, a
call with no await, and enables it again on every exit).

Decoding a large answer builds hundreds of thousands of lists, and CPython 3.11 runs a
full collection each time the objects that survived young collections grow by a
quarter, so one 20 MB answer costs about six full passes over a growing heap, each one
blocking the event loop for tens of milliseconds (and finding nothing: a fresh decode
has no cycles). So once an answer passes ``GC_HOLD_BYTES``, automatic collection is held
off and the two young generations are collected every ``GC_STEP_BYTES`` instead: each
such pass visits only the objects of the last few megabytes, a few milliseconds, and
moves them to the old generation. When the hold ends, little is left young, so the
collection due then is short too. What remains is the full pass CPython makes later over
everything old, the decoded answer included, as it does for any program keeping that
much alive (an application can ``gc.freeze()`` long-lived results to spare it).

The hold covers the whole operation, decoding and building the typed result, and ends
however the operation does: a ``GcHold`` is an async context manager (``async with
GcHold() as hold``, or its ``end()`` in a ``finally``), and its exit releases it on
success, on an exception and on cancellation alike. Holds are counted,
so concurrent operations (in any thread) share one, and the collector comes back when
the last ends, and only if it was on when the first began. Reference counting still
frees everything acyclic meanwhile; cyclic garbage made by other code during the decode
waits for the next collection.
"""

from __future__ import annotations

import gc
import threading
from typing import Self

import anyio.lowlevel

__all__ = ["GC_HOLD_BYTES", "GC_STEP_BYTES", "GcHold"]

GC_HOLD_BYTES = 1024 * 1024
"""An answer larger than this is decoded with the cyclic garbage collector held off."""

GC_STEP_BYTES = 2 * 1024 * 1024
"""While the collector is held, the young objects are collected after each this many bytes."""

_lock = threading.Lock()
_holders = 0
_was_enabled = False


class GcHold:
    """One operation's claim on the collector, taken once its answer grows large; an
    async context manager whose exit ends the claim however the block ends.

    A decoder reports how many bytes it has read with ``advance(fed)`` whenever ``fed``
    passes ``due``: the first time past ``GC_HOLD_BYTES`` it holds the collector off,
    later every ``GC_STEP_BYTES`` it collects the young generations.
    """

    __slots__ = ("due", "held")

    def __init__(self) -> None:
        self.held = False
        self.due = GC_HOLD_BYTES

    def advance(self, fed: int) -> None:
        """``fed`` bytes have been decoded, more than ``due``: hold, or step."""
        global _holders, _was_enabled
        self.due = fed + GC_STEP_BYTES
        if self.held:
            if _was_enabled:
                gc.collect(1)  # what was decoded since the last step, moved to old
            return
        with _lock:
            if _holders == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _holders += 1
        self.held = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.held:  # rarely: nearly every answer stays small
            await self.end()

    async def end(self) -> None:
        """End a claim that ``held``, as leaving ``async with`` does (the hot paths call
        it in a ``finally`` when ``held``, sparing the two awaits of ``async with``)."""
        try:
            # Let timers that fell due meanwhile run before the collection that is due
            # now: the first yield queues us behind them, the second lets them run.
            # Cancelled here, the hold is still released below.
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
        finally:
            if self._release():
                gc.collect(0)  # the young collection due now, taken here

    def _release(self) -> bool:
        """End this claim; whether it was the last of a collector that was on before."""
        global _holders
        if not self.held:
            return False
        self.held = False
        with _lock:
            _holders -= 1
            if _holders != 0 or not _was_enabled:
                return False
            gc.enable()
        return True
