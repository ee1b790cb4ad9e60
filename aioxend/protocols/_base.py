"""What the two protocol backends share: the call they are given and their interface.

A backend turns one ``Call`` (an ``Op`` from the table, the domain, the arguments and
the time limits) into HTTP requests on a ``Transport``, reads the answer while it
streams in, and brings it to the neutral shape the converters in ``_ops`` read (nested
lists of string atoms; text for the log and console ring; ``None`` for no answer).
``Backend.run`` is the whole operation, and the one place an answer is post-processed:
it holds the garbage collector for it (a ``_gc.GcHold``), has the backend fetch and decode
it (``invoke``), and builds the typed result with the op's converter, a long list item
by item, yielding to the loop. Errors come out as the classes of ``aioxend.errors``,
naming the operation and domain.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, NamedTuple

from aioxend.errors import HTTPStatusError
from aioxend.protocols._gc import GcHold
from aioxend.protocols._ops import Dom, Op
from aioxend.protocols._stream import (
    SLICE_SECONDS,
    YIELD_EVERY,
    chunks,
    convert_each,
    read_limited,
)
from aioxend.transport import Timeouts, Transport

__all__ = [
    "LONG_LIST",
    "SLICE_SECONDS",
    "YIELD_EVERY",
    "Backend",
    "Call",
    "NotSxpServer",
    "NotXmlRpcServer",
    "WrongServer",
    "chunks",
    "convert_each",
    "dom_text",
    "read_limited",
]

LONG_LIST = 16
"""A list answer with more items than this is converted by ``convert_each``, yielding."""


class Call(NamedTuple):
    """One operation to run: what, on which domain, with which arguments and time limits.

    A named tuple, not a frozen dataclass: one is made per call, and a tuple is made in
    a fraction of the time."""

    op: Op
    dom: Dom | None = None
    args: Mapping[str, object] = MappingProxyType({})
    timeouts: Timeouts | None = None

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


class Backend(abc.ABC):
    """One protocol spoken over one transport."""

    protocol: ClassVar[str]

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def run(self, call: Call) -> object:
        """Run ``call`` and return its typed result (what ``call.op.result`` makes of
        the answer), with the garbage collector held while a large answer decodes and
        converts, and restored however this ends."""
        hold = GcHold()
        try:
            value = await self.invoke(call, hold)
            each = call.op.each
            if each is not None and type(value) is list and len(value) > LONG_LIST:
                args = call.args
                return await convert_each(value, lambda item: each(item, args))
            return call.op.result(value, call.args)
        finally:
            if hold.held:
                await hold.end()

    @abc.abstractmethod
    async def invoke(self, call: Call, hold: GcHold) -> object:
        """Run ``call`` and return its answer in the neutral shape; a decoder reports
        the bytes it reads to ``hold`` (``GcHold.advance``)."""
