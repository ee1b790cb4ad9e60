"""What the two protocol backends share: the call they are given and their interface.

A backend turns one ``Call`` (an ``Op`` from the table, the domain, the arguments and
the time limits) into HTTP requests on a ``Transport``, reads the answer while it
streams in, and returns it in the neutral shape the converters in ``_ops`` read (nested
lists of string atoms; text for the log and console ring; ``None`` for no answer).
Errors come out as the classes of ``aioxend.errors``, naming the operation and domain.
"""

from __future__ import annotations

import abc
import gc
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import anyio.lowlevel

from aioxend.errors import HTTPStatusError
from aioxend.protocols._ops import Dom, Op
from aioxend.transport import Response, Timeouts, Transport

__all__ = [
    "GC_HOLD_BYTES",
    "GC_STEP_BYTES",
    "LONG_LIST",
    "SLICE_SECONDS",
    "YIELD_EVERY",
    "Backend",
    "Call",
    "GcHold",
    "NotSxpServer",
    "NotXmlRpcServer",
    "WrongServer",
    "before_release",
    "chunks",
    "convert_each",
    "dom_text",
    "read_limited",
]

_T = TypeVar("_T")
_R = TypeVar("_R")

YIELD_EVERY = 256 * 1024
"""Bytes decoded between two yields to the event loop, so a long answer never starves it."""

SLICE_SECONDS = 0.005
"""Longest stretch of converting a large answer's items between two yields to the loop."""

LONG_LIST = 16
"""A list answer with more items than this is converted by ``convert_each``, yielding."""

GC_HOLD_BYTES = 1024 * 1024
"""An answer larger than this is decoded with the cyclic garbage collector held off."""

GC_STEP_BYTES = 2 * 1024 * 1024
"""While the collector is held, the young objects are collected after each this many bytes."""

ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read to explain it."""


@dataclass(frozen=True)
class Call:
    """One operation to run: what, on which domain, with which arguments and time limits."""

    op: Op
    dom: Dom | None = None
    args: Mapping[str, object] = field(default_factory=dict)
    timeouts: Timeouts | None = None
    # Set by a caller that converts the answer further: it releases the hold it gives,
    # so the collector stays off until the typed result is built (see ``GcHold``).
    gc_hold: GcHold | None = field(default=None, compare=False)

    @property
    def dom_label(self) -> str | None:
        """The domain as a message shows it."""
        return None if self.dom is None else dom_text(self.dom)


def dom_text(dom: Dom) -> str:
    """A domain reference as text: the name, the domid's digits, or the UUID."""
    return str(dom)


class WrongServer(HTTPStatusError):
    """The endpoint answered, but not as a server of the protocol in use (``speaks``).

    Its message is the status line and, unless it is markup, the body's first line, so
    the error a user sees says what answered without quoting an HTML page.
    """

    speaks: ClassVar[str] = "xend"

    def __init__(self, status: int, reason: str = "", body: bytes = b"") -> None:
        super().__init__(status, reason)
        self.body = body
        line = body.lstrip().split(b"\n", 1)[0][:80].decode("utf-8", "replace").strip()
        if line and not line.startswith("<"):
            self.args = (f"{self.args[0]}: {line}",)


class NotXmlRpcServer(WrongServer):
    """The endpoint answered, but not as an XML-RPC server (the auto mode falls back)."""

    speaks = "XML-RPC"


class NotSxpServer(WrongServer):
    """The endpoint answered, but not as xend's legacy SXP/HTTP server (an HTML error
    page, such as an XML-RPC server's 501 for a ``GET``)."""

    speaks = "xend SXP/HTTP"


async def chunks(response: Response) -> AsyncIterator[bytes]:
    """The response body chunk by chunk, yielding to the event loop every
    ``YIELD_EVERY`` bytes so a decoder fed from it never blocks the loop for long."""
    since_yield = 0
    async for chunk in response.aiter_bytes():
        yield chunk
        since_yield += len(chunk)
        if since_yield >= YIELD_EVERY:
            since_yield = 0
            await anyio.lowlevel.checkpoint()


# Decoding a large answer builds hundreds of thousands of lists, and CPython 3.11 runs a
# full collection each time the objects that survived young collections grow by a
# quarter, so one 20 MB answer costs about six full passes over a growing heap, each one
# blocking the event loop for tens of milliseconds (and finding nothing: a fresh decode
# has no cycles). So while such an answer decodes, automatic collection is held off and
# the decoder instead collects the two young generations itself every GC_STEP_BYTES
# (``GcHold.step``): each such pass visits only the objects of the last few megabytes,
# a few milliseconds, and moves them to the old generation. When the hold ends, little
# is left young, so the collection due then is short too. What remains is the full pass
# CPython makes later over everything old, the decoded answer included, as it does for
# any program keeping that much alive (an application can ``gc.freeze()`` long-lived
# results to spare it). The hold is counted, so concurrent decodes (in any thread)
# share it and the collector comes back when the last ends, and only if it was on when
# the first began. Reference counting still frees everything acyclic meanwhile; cyclic
# garbage made by other code during the decode waits for the next collection.
_gc_lock = threading.Lock()
_gc_holders = 0
_gc_was_enabled = False


class GcHold:
    """One holder's claim on the collector: ``acquire`` holds it off (once; again is a
    no-op), ``release`` ends this holder's claim (also once)."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held = False

    def acquire(self) -> None:
        """Hold the collector off until ``release`` (and every other holder's)."""
        global _gc_holders, _gc_was_enabled
        if self.held:
            return
        with _gc_lock:
            if _gc_holders == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_holders += 1
        self.held = True

    def step(self) -> None:
        """Collect the young generations now (they hold what was decoded since the last
        step), unless the collector was off before anyone held it."""
        if self.held and _gc_was_enabled:
            gc.collect(1)

    def release(self) -> None:
        """End this claim; the last one re-enables the collector if it was on before."""
        global _gc_holders
        if not self.held:
            return
        self.held = False
        with _gc_lock:
            _gc_holders -= 1
            if _gc_holders != 0 or not _gc_was_enabled:
                return
            gc.enable()
        # The young collection that is due now, taken here (a caller yields to the loop
        # just before releasing) rather than in the middle of someone's next step.
        gc.collect(0)


async def before_release() -> None:
    """Yield so that timers which fell due meanwhile run before ``GcHold.release``'s
    collection: the first yield queues us behind them, the second lets them run."""
    await anyio.lowlevel.checkpoint()
    await anyio.lowlevel.checkpoint()


async def convert_each(items: Sequence[_T], convert: Callable[[_T], _R]) -> list[_R]:
    """``[convert(item) for item in items]``, yielding to the event loop whenever
    ``SLICE_SECONDS`` have passed, so building records from a 20 MB answer does not
    stall other tasks. The clock is read every few items only."""
    out: list[_R] = []
    append = out.append
    clock = time.perf_counter
    until = clock() + SLICE_SECONDS
    for index, item in enumerate(items, 1):
        append(convert(item))
        if not index & 7 and clock() >= until:
            await anyio.lowlevel.checkpoint()
            until = clock() + SLICE_SECONDS
    return out


async def read_limited(response: Response, limit: int = ERROR_BODY_BYTES) -> bytes:
    """At most ``limit`` bytes of a body; the rest is left unread (the caller closes)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


class Backend(abc.ABC):
    """One protocol spoken over one transport."""

    protocol: ClassVar[str]

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @abc.abstractmethod
    async def invoke(self, call: Call) -> object:
        """Run ``call`` and return its answer in the neutral shape."""
