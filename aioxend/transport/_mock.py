"""A ``Stream`` whose far end is a script in memory: HTTP tests without sockets.

``MockStream(respond)`` calls ``respond(data)`` with every write the client makes; the
bytes it returns (if any) become readable, as a server's answer would. A test can also
``feed`` bytes at any moment (stray bytes on an idle connection), end the stream
(``feed_eof``) or break it (``fail``). ``MockConnector(respond)`` is a connector that
opens a fresh ``MockStream`` per connection and keeps them all, so a test can see how
many connections the client opened and what went over each:

    connector = MockConnector(lambda data: b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
    async with aioxend.connect("http://xen1:8006/", connector=connector) as client: ...

The whole of our HTTP/1.1 (connection, parser, pool) runs on it unchanged.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from aioxend.transport._stream import DeadlinePassed, Stream
from aioxend.transport._url import Endpoint

__all__ = ["MockConnector", "MockStream", "Respond"]

Respond = Callable[[bytes], bytes | Awaitable[bytes | None] | None]
"""What a mock server does with each write: the bytes it answers, or ``None``."""


class MockStream(Stream):
    """A stream answered by ``respond`` (see the module docstring)."""

    def __init__(self, respond: Respond | None = None) -> None:
        self._respond = respond
        self.sent: list[bytes] = []
        """Every write the client made, in order."""
        self._buffer = bytearray()
        self._eof = False
        self._error: OSError | None = None
        self.closed = False
        self._event: anyio.Event | None = None

    def feed(self, data: bytes) -> None:
        """Make ``data`` readable, as if the peer had sent it now."""
        self._buffer += data
        self._wake()

    def feed_eof(self) -> None:
        """End the stream, as if the peer had closed its end."""
        self._eof = True
        self._wake()

    def fail(self, error: OSError | None = None) -> None:
        """Break the stream: the next read or write raises ``error``."""
        self._error = error or ConnectionResetError(104, "Connection reset by peer")
        self._wake()

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()

    async def send(self, data: bytes, until: float = math.inf) -> None:
        await anyio.lowlevel.checkpoint()
        if self.closed:
            raise anyio.ClosedResourceError
        if self._error is not None:
            raise self._error
        self.sent.append(bytes(data))
        if self._respond is not None:
            answer = self._respond(bytes(data))
            if inspect.isawaitable(answer):
                answer = await answer
            if answer:
                self.feed(answer)

    async def receive(self, max_bytes: int = 65536, until: float = math.inf) -> bytes:
        while not self._buffer:
            if self.closed:
                raise anyio.ClosedResourceError
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            event = self._event = anyio.Event()
            with anyio.CancelScope(deadline=until) as scope:
                await event.wait()
            self._event = None
            if scope.cancelled_caught:
                raise DeadlinePassed
        data = bytes(self._buffer[:max_bytes])
        del self._buffer[:max_bytes]
        return data

    def reusable(self) -> bool:
        return not (self._buffer or self._eof or self._error or self.closed)

    async def aclose(self) -> None:
        self.closed = True
        self._wake()


class MockConnector:
    """A connector opening a new ``MockStream(respond)`` per connection; keeps them all."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.respond = respond
        self.streams: list[MockStream] = []
        self.endpoints: list[Endpoint] = []

    async def __call__(self, endpoint: Endpoint) -> MockStream:
        await anyio.lowlevel.checkpoint()
        stream = MockStream(self.respond)
        self.streams.append(stream)
        self.endpoints.append(endpoint)
        return stream
