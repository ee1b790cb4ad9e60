"""Bounds on what clients may hold of an emulator: connections, idle time, body bytes.

Strategy: every listener's protocol factory is wrapped by ``Gate.wrap``, so each
connection passes through a ``_Gated`` protocol that counts it, refuses it beyond
``max_connections`` with a ``503 Service Unavailable`` once its request head is in, and
closes it when no byte has arrived for ``idle_timeout`` seconds while no request is being
answered (``Gate.busy`` marks that time, so a slow answer is never cut). Request bodies
are reserved against ``max_body_bytes`` by their declared length before they are read
(``Gate.reserve``); a request that would cross it gets a 503 as well. One ``Gate`` serves
all of an emulator's xend listeners, so the bounds hold for the whole process, as a
front-end proxy's would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Gate", "ServerLimits", "busy_response"]


@dataclass(frozen=True)
class ServerLimits:
    """The bounds of one emulator; the defaults leave every test and benchmark room."""

    max_connections: int = 1024
    idle_timeout: float = 60.0
    max_body_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {self.max_connections}")
        if not self.idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive, not {self.idle_timeout}")
        if self.max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must not be negative, not {self.max_body_bytes}")


def busy_response(why: str) -> bytes:
    """A complete ``503`` answer that closes the connection."""
    body = f"Service unavailable: {why}\n".encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class _Gated(asyncio.Protocol):
    """One connection: counted, timed for idleness, then handed to the real protocol."""

    def __init__(self, gate: Gate, factory: Callable[[], asyncio.BaseProtocol]) -> None:
        self._gate = gate
        self._factory = factory
        self._inner: asyncio.Protocol | None = None
        self._refused: _Refusal | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.busy = 0
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        gate = self._gate
        loop = asyncio.get_running_loop()
        self._transport = transport
        if len(gate.open) >= gate.limits.max_connections:
            # refused: the 503 goes out once the request head is in (or after a grace
            # second), so that a client still sending never meets a closed socket
            self._refused = _Refusal(transport, loop)
            return
        self.last = loop.time()
        gate.open[transport] = self
        self._timer = loop.call_later(gate.limits.idle_timeout, self._check_idle)
        inner = self._factory()
        assert isinstance(inner, asyncio.Protocol)
        self._inner = inner
        inner.connection_made(transport)

    def _check_idle(self) -> None:
        loop = asyncio.get_running_loop()
        idle = self._gate.limits.idle_timeout
        quiet = loop.time() - self.last
        if self.busy == 0 and quiet >= idle and self._transport is not None:
            self._transport.close()
            return
        wait = idle if self.busy else idle - quiet
        self._timer = loop.call_later(wait, self._check_idle)

    def touch(self) -> None:
        """Something happened on the connection: its idle clock starts again."""
        self.last = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        self.touch()
        if self._inner is not None:
            self._inner.data_received(data)
        elif self._refused is not None:
            self._refused.data_received(data)

    def eof_received(self) -> bool | None:
        if self._refused is not None:
            self._refused.answer()
            return False
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._refused is not None:
            self._refused.cancel()
        if self._inner is None:
            return
        self._gate.open.pop(self._transport, None)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class _Refusal:
    """A connection over the bound: read its head, answer 503, linger briefly, close."""

    GRACE = 1.0  # seconds to wait for the head, then for the peer to close
    HEAD_BYTES = 8192

    def __init__(self, transport: asyncio.BaseTransport, loop: asyncio.AbstractEventLoop) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self._seen = b""
        self._answered = False
        self._timer = loop.call_later(self.GRACE, self.answer)

    def data_received(self, data: bytes) -> None:
        if self._answered:
            return  # the rest of the request is discarded
        self._seen = (self._seen + data)[-self.HEAD_BYTES :]
        if b"\r\n\r\n" in self._seen or len(self._seen) >= self.HEAD_BYTES:
            self.answer()

    def answer(self) -> None:
        """Send the 503 (once), stop writing, and close after the grace period."""
        transport = self._transport
        if self._answered:
            transport.close()
            return
        self._answered = True
        self._timer.cancel()
        transport.write(busy_response("too many connections"))
        if transport.can_write_eof():
            transport.write_eof()
        self._timer = asyncio.get_running_loop().call_later(self.GRACE, transport.close)

    def cancel(self) -> None:
        self._timer.cancel()


class Gate:
    """The shared accounting of one emulator's connections and request bodies."""

    def __init__(self, limits: ServerLimits) -> None:
        self.limits = limits
        self.open: dict[object, _Gated] = {}
        self.body_bytes = 0

    def wrap(self, factory: Callable[[], asyncio.BaseProtocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for ``create_server`` that puts ``factory``'s behind the gate."""
        return lambda: _Gated(self, factory)

    def reserve(self, nbytes: int) -> bool:
        """Hold ``nbytes`` of the body budget; False (nothing held) if it would overflow."""
        if self.body_bytes + nbytes > self.limits.max_body_bytes:
            return False
        self.body_bytes += nbytes
        return True

    def release(self, nbytes: int) -> None:
        """Give back what ``reserve`` held."""
        self.body_bytes -= nbytes

    @contextlib.contextmanager
    def busy(self, transport: object) -> Iterator[None]:
        """The server is answering on ``transport``: it is not idle meanwhile."""
        conn = self.open.get(transport)
        if conn is None:
            yield
            return
        conn.busy += 1
        try:
            yield
        finally:
            conn.busy -= 1
            conn.touch()
