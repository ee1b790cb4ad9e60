"""The few event-loop primitives a call needs, without loading anyio's asyncio backend.

anyio picks its backend module on the first primitive made or awaited (a ``Lock``, a
``Semaphore``, a cancel scope, a checkpoint), and importing ``anyio._backends._asyncio``
costs more than the whole of a first call. On asyncio these helpers use asyncio's own
(``asyncio.Lock``, ``asyncio.Semaphore``, ``asyncio.timeout_at``); under any other
library (trio) they are anyio's, so code on them runs on both. A deadline here is an
absolute time on the running loop's clock (``loop.time()`` on asyncio, anyio's clock
otherwise), the clock every ``Stream`` wait uses.
"""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

if TYPE_CHECKING:  # imported when first used: ``import aioxend`` does not load asyncio
    import asyncio

__all__ = [
    "Slots",
    "clock",
    "make_lock",
    "on_asyncio",
    "shielded_pass",
    "within",
]

_ANYIO_ASYNCIO = "anyio._backends._asyncio"


def on_asyncio() -> bool:
    """Whether asyncio runs this task (anyio asks sniffio too; trio needs it installed)."""
    try:
        import sniffio
    except ImportError:  # pragma: no cover - then anyio assumes asyncio, and so do we
        return True
    return sniffio.current_async_library() == "asyncio"


def clock() -> Callable[[], float]:
    """The running loop's clock; ``anyio.current_time`` would ask sniffio on every call."""
    if on_asyncio():
        import asyncio

        return asyncio.get_running_loop().time
    return anyio.current_time


def make_lock() -> asyncio.Lock | anyio.Lock:
    """A lock for the running loop."""
    if on_asyncio():
        import asyncio

        return asyncio.Lock()
    return anyio.Lock()


async def shielded_pass() -> None:
    """Let the loop run one pass (callbacks such as ``connection_lost``), uncancellable."""
    if _ANYIO_ASYNCIO in sys.modules or not on_asyncio():
        await anyio.lowlevel.cancel_shielded_checkpoint()
        return
    import asyncio

    loop = asyncio.get_running_loop()
    passed = loop.create_future()
    loop.call_soon(passed.set_result, None)
    try:
        await asyncio.shield(passed)
    except asyncio.CancelledError:
        await passed  # the pass still happens; the cancellation is delivered after it
        raise


@asynccontextmanager
async def within(until: float) -> AsyncIterator[Callable[[], bool]]:
    """Bound the enclosed wait by the absolute ``until``; yields "did it run out?"."""
    expired = False

    def ran_out() -> bool:
        return expired

    if until == math.inf:
        yield ran_out
        return
    if on_asyncio():
        import asyncio

        scope = asyncio.timeout_at(until)
        try:
            async with scope:
                yield ran_out
        except TimeoutError:
            if not scope.expired():
                raise  # a timeout from inside, not this one
            expired = True
        return
    with anyio.CancelScope(deadline=until) as cancel:
        yield ran_out
    expired = cancel.cancelled_caught


class Slots:
    """A counting semaphore of ``total`` slots: asyncio's on asyncio, anyio's otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.taken = 0
        self._asyncio: asyncio.Semaphore | None = None
        self._anyio: anyio.Semaphore | None = None

    def _made(self) -> asyncio.Semaphore | anyio.Semaphore:
        if self._asyncio is not None:
            return self._asyncio
        if self._anyio is not None:
            return self._anyio
        if on_asyncio():
            import asyncio

            self._asyncio = asyncio.Semaphore(self.total)
            return self._asyncio
        self._anyio = anyio.Semaphore(self.total)
        return self._anyio

    def take_nowait(self) -> bool:
        """Take a slot if one is free, without waiting."""
        semaphore = self._asyncio
        if semaphore is None and self._anyio is None:
            self._made()
            semaphore = self._asyncio
        if semaphore is not None:
            if semaphore.locked():
                return False
            # Not locked: acquire() would complete without suspending; done inline.
            semaphore._value -= 1
        else:
            assert self._anyio is not None
            try:
                self._anyio.acquire_nowait()
            except anyio.WouldBlock:
                return False
        self.taken += 1
        return True

    async def take(self) -> None:
        """Wait for a slot (bound the wait with ``within``)."""
        await self._made().acquire()
        self.taken += 1

    def give(self) -> None:
        """Give a slot back."""
        self.taken -= 1
        self._made().release()
