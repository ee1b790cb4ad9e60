"""The one seam between the client and the wire: a request in, a streaming response out.

A transport sends an HTTP request (method, target, headers, body bytes) and returns a
``Response`` as soon as the status line and headers are in; the body then arrives as an
async iterator of chunks so a codec can decode while bytes arrive. The caller must close
the response (``async with response:``, or ``Transport.stream``): a response closed
before its body was read to the end gives its connection up instead of pooling it.
Transports know nothing of XML-RPC or SXP.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO, Self

from aioxend.errors import LimitExceeded

__all__ = [
    "WHOLE_BODY_LIMIT",
    "BodyStream",
    "Limits",
    "Request",
    "Response",
    "Timeouts",
    "Transport",
]


@dataclass(frozen=True)
class Timeouts:
    """Time limits in seconds; ``None`` means no limit.

    ``connect`` bounds opening a connection (TLS included), ``read`` the wait for any
    next bytes, ``write`` sending the request, ``pool`` the wait for a free pooled
    connection, and ``total`` the whole exchange from send to the last body byte.
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    write: float | None = 60.0
    pool: float | None = 60.0
    total: float | None = None


@dataclass(frozen=True)
class Limits:
    """Bounds that guard memory and file descriptors.

    ``max_connections`` caps open connections per transport; ``max_keepalive`` caps idle
    pooled ones; ``keepalive_expiry`` closes an idle connection after that many seconds.
    ``max_header_bytes`` and ``max_header_lines`` bound a response head (and a chunked
    body's trailers); ``max_body_bytes`` any body streamed through ``aiter_bytes``.
    """

    max_connections: int = 100
    max_keepalive: int = 20
    keepalive_expiry: float = 30.0
    max_header_bytes: int = 64 * 1024
    max_header_lines: int = 100
    max_body_bytes: int = 256 * 1024 * 1024


WHOLE_BODY_LIMIT = 16 * 1024 * 1024
"""What ``Response.aread`` keeps at most by default (16 MiB).

A body read whole (an SXP text answer such as ``dmesg``, an error page) sits in memory
at once, so it gets this bound, far below ``Limits.max_body_bytes``, which bounds
bodies a decoder consumes while they stream.
"""


BodyStream = BinaryIO | AsyncIterable[bytes]
"""A request body sent as it is read: a binary file, or an async iterator of bytes."""


@dataclass(frozen=True)
class Request:
    """An HTTP request: its body in memory (``body``), or streamed (``stream``).

    ``target`` is the request target (path and query). ``retry_safe`` tells the
    transport the request may be sent again on a fresh connection when a kept-alive one
    turns out dead before any response byte arrived (idempotent reads); without it a
    transport only retries when the request provably was never sent.
    ``timeouts`` overrides the transport's own for this call.

    ``stream`` sends a large body (a Xen-API import ``PUT`` of a disk image) without
    holding it: a binary file or an async iterator, written as it is read, each write
    waiting while the connection's buffer is full (backpressure). It goes with a known
    ``content_length`` (xapi refuses chunked uploads); a regular file's is found from its
    size when not given. ``progress(sent)`` is called with the bytes of the body sent so
    far after each write. A streamed request is never resent.

    ``follow_redirects`` (0: never) follows up to that many redirects of a ``GET`` or
    ``PUT`` (xapi answers import and export with ``302`` to another host); the
    ``Authorization`` and ``Cookie`` headers go only to the request's own origin.

    ``unbounded_body`` lifts ``Limits.max_body_bytes`` from the response: for a body
    the caller writes out as it comes (a Xen-API export of many GB), never one it keeps.
    """

    method: str
    target: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    timeouts: Timeouts | None = None
    retry_safe: bool = False
    stream: BodyStream | None = None
    content_length: int | None = None
    progress: Callable[[int], object] | None = None
    follow_redirects: int = 0
    unbounded_body: bool = False


@dataclass
class Response(abc.ABC):
    """Status and headers of a response whose body streams through ``aiter_bytes``.

    Header names are lower-case. ``http_version`` is e.g. ``"1.1"``.
    """

    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    http_version: str = "1.1"

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of a header (name case-insensitive), or ``default``."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    @abc.abstractmethod
    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk, as it arrives; iterate it once."""

    async def aread(self, limit: int | None = WHOLE_BODY_LIMIT) -> bytes:
        """The whole body; more than ``limit`` bytes (``None``: no bound) raises
        ``LimitExceeded("whole_body_bytes")``."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.aiter_bytes():
            size += len(chunk)
            if limit is not None and size > limit:
                raise LimitExceeded("whole_body_bytes", limit)
            parts.append(chunk)
        return b"".join(parts)

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection: back to the pool if the body was read, else closed."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Transport(abc.ABC):
    """Sends HTTP requests over one kind of connection, pooling where it can."""

    @abc.abstractmethod
    async def send(self, request: Request) -> Response:
        """Send ``request`` and return once the response headers are in."""

    @asynccontextmanager
    async def stream(self, request: Request) -> AsyncIterator[Response]:
        """``send`` wrapped so the response is always closed."""
        response = await self.send(request)
        try:
            yield response
        finally:
            await response.aclose()

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close every connection; later sends raise ``RuntimeError``."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
