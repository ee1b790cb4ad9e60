"""The byte-stream interface HTTP runs on, with deadlines: one class per kind of stream.

A ``Stream`` is what a connector opens and what a connection reads and writes; it knows
nothing of HTTP. The kinds: ``ProtocolStream`` (``_protocol``: TCP, TLS and UNIX
sockets on asyncio, read for us by the loop), ``AnyioStream`` (here: any anyio byte
stream, so everything under trio, and streams users bring), ``ProcessStream``
(``_process``: a command's stdin and stdout, as ``ssh host xm serve``) and
``MockStream`` (``_mock``: a scripted peer in memory, for tests).

Every wait takes an absolute deadline on the clock of the running event loop
(``math.inf``: none) and raises ``DeadlinePassed`` when it comes; a stream may enforce it
however is cheapest for it. Failure signals are the same for every kind: ``receive``
returns ``b""`` at the end of the stream, a broken stream raises ``OSError`` or anyio's
``BrokenResourceError``, and a stream used after its own ``aclose`` raises anyio's
``ClosedResourceError``. The connection maps those to ``aioxend``'s errors.
"""

from __future__ import annotations

import abc
import math
import os
import select
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.tls import TLSAttribute, TLSStream

if TYPE_CHECKING:
    import socket

__all__ = ["STREAM_ERRORS", "AnyioStream", "DeadlinePassed", "Stream", "idle_socket_is_clean"]

_POSIX = os.name == "posix"

STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
"""What a stream raises when it breaks or was closed (see the module docstring)."""


class DeadlinePassed(Exception):
    """A wait given a deadline was still waiting when the deadline came."""


def idle_socket_is_clean(sock: socket.socket) -> bool:
    """Whether an idle socket polls unreadable: not at EOF, no stray bytes, not closed.

    A socket that polls readable while idle is either at EOF or holds bytes nobody asked
    for; either way the next request must not go there.
    """
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class Stream(abc.ABC):
    """A byte stream whose waits end at a deadline; see the module docstring."""

    clock: Callable[[], float] | None = None
    """The clock deadlines are measured on, when the stream knows it cheaply."""

    @abc.abstractmethod
    async def send(self, data: bytes, until: float = math.inf) -> None:
        """Write all of ``data``, waiting at most until ``until``."""

    @abc.abstractmethod
    async def receive(self, max_bytes: int = 65536, until: float = math.inf) -> bytes:
        """Some bytes (at most about ``max_bytes``), or ``b""`` at the end of the stream."""

    @abc.abstractmethod
    def reusable(self) -> bool:
        """While idle: False if the peer closed, the stream failed or stray bytes wait.

        Nothing is sent to find out; a connection asks this before reusing the stream.
        """

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close at once (unsent bytes may be dropped); never raises."""

    async def failure(self) -> str | None:
        """Why the far end went away before answering, when the stream can tell."""
        return None


async def send_within(stream: anyio.abc.ByteSendStream, data: bytes, until: float) -> None:
    """``stream.send(data)`` in a cancel scope ending at ``until``: ``DeadlinePassed``."""
    with anyio.CancelScope(deadline=until) as scope:
        await stream.send(data)
    if scope.cancelled_caught:
        raise DeadlinePassed


async def receive_within(
    stream: anyio.abc.ByteReceiveStream, max_bytes: int, until: float
) -> bytes:
    """``stream.receive`` in a cancel scope ending at ``until``; ``b""`` at its end."""
    try:
        with anyio.CancelScope(deadline=until) as scope:
            data = await stream.receive(max_bytes)
    except anyio.EndOfStream:
        return b""
    if scope.cancelled_caught:
        raise DeadlinePassed
    return data


class AnyioStream(Stream):
    """An anyio byte stream (TCP, TLS, UNIX, or any a user's connector opens).

    On POSIX a plain socket takes a request straight into the kernel's buffer with one
    ``os.write`` while the stream has never buffered a write of its own (so bytes
    cannot be reordered); anything else goes through the stream in a cancel scope.

    A TLS stream gives one record (16 KiB at most) per receive, though it reads the
    socket 64 KiB at a time: a receive also takes the records already read and waiting
    to be decrypted (``_waiting_records``), so a large body costs one wait, one cancel
    scope and one trip through the parser per socket read instead of four.
    """

    __slots__ = ("_direct", "_sock", "_tls", "stream")

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        sock: socket.socket | None = None
        if isinstance(stream, anyio.abc.SocketStream):
            sock = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
        self._sock = sock
        self._direct = _POSIX and sock is not None
        self._tls: ssl.SSLObject | None = None
        if isinstance(stream, TLSStream):
            self._tls = stream.extra(TLSAttribute.ssl_object, None)

    async def send(self, data: bytes, until: float = math.inf) -> None:
        if self._direct and self._sock is not None:
            await anyio.lowlevel.checkpoint_if_cancelled()
            # Asked now, with no await before the write: a socket the loop has closed
            # says -1 (its number may already belong to another file).
            fd = self._sock.fileno()
            try:
                sent = os.write(fd, data) if fd >= 0 else 0
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == len(data):
                return
            self._direct = False
            data = data[sent:]
        await send_within(self.stream, data, until)

    async def receive(self, max_bytes: int = 65536, until: float = math.inf) -> bytes:
        data = await receive_within(self.stream, max_bytes, until)
        if self._tls is not None and data and len(data) < max_bytes:
            return _waiting_records(self._tls, data, max_bytes)
        return data

    def reusable(self) -> bool:
        return self._sock is None or idle_socket_is_clean(self._sock)

    async def aclose(self) -> None:
        await anyio.aclose_forcefully(self.stream)


def _waiting_records(tls: ssl.SSLObject, data: bytes, max_bytes: int) -> bytes:
    """``data`` and what the TLS object can decrypt without reading the socket, up to
    ``max_bytes`` in all.

    Anything else (no whole record waiting, the peer's close, an error) stops here and
    is left where it is: the stream's next receive meets it and handles it as its own
    (anyio's ``TLSStream._call_sslobject_method``, which also sends what a read may
    have queued to write, as a key update's answer).
    """
    parts = [data]
    size = len(data)
    while size < max_bytes:
        try:
            more = tls.read(max_bytes - size)
        except ssl.SSLError:
            break
        if not more:
            break
        parts.append(more)
        size += len(more)
    return data if len(parts) == 1 else b"".join(parts)
