"""What the two protocol backends share: the call they are given and their interface.

A backend turns one ``Call`` (an ``Op`` from the table, the domain, the arguments and
the time limits) into HTTP requests on a ``Transport``, reads the answer while it
streams in, and returns it in the neutral shape the converters in ``_ops`` read (nested
lists of string atoms; text for the log and console ring; ``None`` for no answer).
Errors come out as the classes of ``aioxend.errors``, naming the operation and domain.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import anyio.lowlevel

from aioxend.errors import HTTPStatusError
from aioxend.protocols._ops import Dom, Op
from aioxend.transport import Response, Timeouts, Transport

__all__ = [
    "YIELD_EVERY",
    "Backend",
    "Call",
    "NotXmlRpcServer",
    "chunks",
    "dom_text",
    "read_limited",
]

YIELD_EVERY = 256 * 1024
"""Bytes decoded between two yields to the event loop, so a long answer never starves it."""

ERROR_BODY_BYTES = 64 * 1024
"""How much of an error response's body is read to explain it."""


@dataclass(frozen=True)
class Call:
    """One operation to run: what, on which domain, with which arguments and time limits."""

    op: Op
    dom: Dom | None = None
    args: Mapping[str, object] = field(default_factory=dict)
    timeouts: Timeouts | None = None

    @property
    def dom_label(self) -> str | None:
        """The domain as a message shows it."""
        return None if self.dom is None else dom_text(self.dom)


def dom_text(dom: Dom) -> str:
    """A domain reference as text: the name, the domid's digits, or the UUID."""
    return str(dom)


class NotXmlRpcServer(HTTPStatusError):
    """The endpoint answered, but not as an XML-RPC server (the auto mode falls back)."""


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
