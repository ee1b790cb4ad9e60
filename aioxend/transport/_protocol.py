"""The ``Stream`` for a TCP (plain or TLS) or UNIX connection on asyncio's own transports.

anyio's socket streams add and remove the loop's read watcher on every receive and
wrap each wait in checkpoints; for a small call that is most of the client's CPU. Here
the loop reads for us: an ``asyncio.Protocol`` keeps what arrives in a list until the
connection asks for it, so a receive that finds bytes waiting costs no system call and
no watcher change. Flow control is bounded: past ``_HIGH_WATER`` unclaimed bytes the
protocol pauses reading until a receive takes them, so a large body streams through a
buffer of fixed size; a read that finds a receive waiting does not pause (it is taken
on the loop's next pass, before any other read), so a consumer that keeps up costs no
watcher change per read either. Writes go through ``transport.write`` (one ``send``
when the kernel takes it all) and wait only when the transport's buffer passes its high
mark.

``ProtocolStream`` is a ``Stream`` (``_stream``): an ``OSError`` for a broken
connection, ``anyio.ClosedResourceError`` after our own close, ``b""`` at end of
stream. Waits are plain futures, so anyio cancel scopes and task cancellation stop them
as they stop any other await. A wait may also be given an absolute deadline on the
loop's clock, past which it raises ``DeadlinePassed``. Entering an anyio cancel scope
for that was the largest single cost of a small call, and even a loop timer per wait
costs a heap push and a cancel, so the timer is lazy: one per stream, armed for the
earliest deadline it may have to enforce. A later wait with a later deadline (the usual
case: the same timeout, a moment later) arms nothing; when the timer fires early for
it, it re-arms itself for that wait's own deadline. Only asyncio, on TCP (plain or TLS)
and UNIX sockets: TLS rides asyncio's own TLS transport (``ssl=``), which decrypts all
that has come in one go, where anyio's TLS stream gives one 16 KiB record per receive
and stops and restarts reading around each. Pipes and trio keep anyio's streams.

Reads. A plain ``asyncio.Protocol`` gets each read as a new ``bytes`` that asyncio's
``recv(256 KiB)`` made: glibc serves a block that large with ``mmap``, shrinks it with
``mremap`` and frees it with ``munmap``, three system calls and a fresh page's faults
for every answer, however small. So while answers are small the transport talks to a
``_SmallReads``, an ``asyncio.BufferedProtocol`` reading into one buffer per thread and
copying what came; a large body streams through the plain protocol, copy-free. Over TLS
the transport stays with ``_SmallReads`` whatever the size: asyncio's ``SSLProtocol``
decrypts straight into a buffered protocol's buffer, where for a plain one it reads each
16 KiB record into a new 256 KiB ``bytes`` (allocated, shrunk, freed: some 100,000 page
faults per 256 MiB) and joins them, a copy too. Every read costs a loop pass, a wake-up
of the reading task and its trip through the parser, so while reads fill the selector
transport's ``max_size`` (256 KiB) it is raised to ``_BULK_RECV``: a body that waits in
the socket (the client being the slower side) is taken in fewer, larger reads. A read
that does not fill it puts it back: a large ``bytes`` that ``recv`` shrinks to a small
read leaves a hole in glibc's heap, and those made the resident set grow by megabytes.
Over TLS a bulk read raises the ``SSLProtocol``'s own read size (its ``max_size``, 256
KiB) to ``_BULK_RECV`` for the rest of the connection, and the thread's buffer grows to
hold all one read decrypts (``_TLS_PASS``), so each pass of the loop, of the decryption
and of the parser carries four times more; its buffers are fixed, so no hole is left to
shrink back for.
"""

from __future__ import annotations

import asyncio
import errno
import math
import select
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel

from aioxend.errors import ConnectError
from aioxend.transport._connect import connect_unix, reason_of
from aioxend.transport._loop import _ANYIO_ASYNCIO, shielded_pass
from aioxend.transport._stream import DeadlinePassed, Stream, idle_socket_is_clean
from aioxend.transport._url import Endpoint

if TYPE_CHECKING:
    import ssl

__all__ = ["DeadlinePassed", "ProtocolStream", "dial_asyncio"]

_POLL = hasattr(select, "poll")
_READ_SIZE = 262144
"""The most one read takes from the socket (asyncio's own ``max_size`` for ``recv``)."""
_BULK_READ = 65536
"""A read this large hands the transport to the stream itself (``_SmallReads``)."""
_buffer = threading.local()
"""Each thread's read buffer, shared by its connections (see the module docstring)."""
_BULK_RECV = 1 << 20
"""The most one read takes while reads fill ``_READ_SIZE`` (see the module docstring)."""
_HIGH_WATER = 262144
"""Unclaimed received bytes past which the protocol stops reading from the socket."""
_TLS_PASS = _BULK_RECV + 65536
"""The most one pass of asyncio's ``SSLProtocol`` asks to decrypt into the buffer: one
read of ``_BULK_RECV`` bytes and the part of a record left before it."""


class ProtocolStream(asyncio.Protocol, Stream):
    """One asyncio transport and the bytes it has received but nobody has claimed yet."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.clock = loop.time
        self.transport: asyncio.Transport | None = None
        self.sock: Any = None
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._closed = False
        self._lost = False
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._timed: asyncio.Future[None] | None = None
        """The wait the deadline applies to, while there is one."""
        self._deadline = math.inf
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._writes_paused = False
        self._poller: Any = None
        """A ``select.poll`` on the socket, made on the first reuse (see ``reusable``)."""
        self._bulk = True
        """Whether the transport hands reads to this object itself (see ``_SmallReads``)."""
        self._sized: Any = None
        """The transport whose ``max_size`` the reads adapt, if it has one: a selector
        transport, whose own reads are ``bytes`` objects (so a bulk read needs no copy)."""
        self._tls: Any = None
        """asyncio's ``SSLProtocol`` under a TLS transport, whose read size a bulk read
        raises (see the module docstring)."""

    # asyncio.Protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sock = transport.get_extra_info("socket")
        self._bulk = type(transport.get_protocol()) is not _SmallReads
        # The selector transport's read size, to adapt (TLS's SSLProtocol reads for
        # itself, and other loops' transports have none)
        if type(getattr(transport, "max_size", None)) is int:
            self._sized = transport
        tls = getattr(transport, "_ssl_protocol", None)  # asyncio.sslproto's own
        if type(getattr(tls, "max_size", None)) is int:
            self._tls = tls

    def data_received(self, data: bytes) -> None:
        """Keep ``data`` for the next ``receive`` (``_SmallReads`` hands it here too)."""
        sized = self._sized
        if sized is not None:  # larger reads while they fill (see the module docstring)
            if len(data) >= sized.max_size:
                sized.max_size = _BULK_RECV
            elif sized.max_size != _READ_SIZE:
                sized.max_size = _READ_SIZE
        self._chunks.append(data)
        self._size += len(data)
        # A receive that waits takes all this on the loop's next pass, before the next read
        # (so pausing, two epoll_ctl calls a read, would bound nothing more)
        if self._wake() or self._paused or self.transport is None:
            return
        if self._size > _HIGH_WATER:
            self._paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._disarm()
        self._eof = True
        if exc is not None and self._error is None:
            self._error = exc
        self._wake()
        self._end_drain()

    def pause_writing(self) -> None:
        self._writes_paused = True

    def resume_writing(self) -> None:
        self._writes_paused = False
        self._end_drain()

    def _wake(self) -> bool:
        """Wake a waiting receive; whether one was waiting."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            return False
        waiter.set_result(None)
        return True

    def _end_drain(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # the stream interface

    async def send(self, data: bytes, until: float = math.inf) -> None:
        """Write ``data``; wait only while the transport's buffer is over its high mark.

        Raises ``DeadlinePassed`` if that wait lasts until ``until`` (loop time).
        """
        transport = self.transport
        if self._closed or transport is None:
            raise anyio.ClosedResourceError
        if _ANYIO_ASYNCIO in sys.modules:  # only then can an anyio cancel scope exist
            # (this stream runs on asyncio only, so trio's half of the test is not needed)
            await anyio.lowlevel.checkpoint_if_cancelled()
        if self._error is not None:
            raise self._error
        if self._eof:
            # The peer has closed: as on a bare socket the write goes nowhere, and the
            # read that follows finds the end of the stream (or the answer before it).
            return
        if self._bulk:  # a request: its answer is most likely small again
            self._bulk = False
            transport.set_protocol(_SmallReads(self))
        transport.write(data)
        while transport.is_closing() or self._writes_paused:
            if self._lost:
                raise self._error or BrokenPipeError(errno.EPIPE, "the connection was closed")
            if self._closed:
                raise anyio.ClosedResourceError
            # A failed write closes the transport; connection_lost follows on the loop.
            drain = self._drain = self.loop.create_future()
            self._bound(drain, until)
            try:
                await drain
            finally:
                self._timed = None

    async def receive(self, max_bytes: int = 65536, until: float = math.inf) -> bytes:
        """The bytes received since the last call, waiting for some; ``b""`` at the end.

        Raises ``DeadlinePassed`` if nothing has come by ``until`` (loop time).
        """
        if not self._chunks:
            if self._closed:
                raise anyio.ClosedResourceError
            if not self._eof:
                waiter = self._waiter = self.loop.create_future()
                self._bound(waiter, until)
                try:
                    await waiter
                finally:
                    self._waiter = None
                    self._timed = None
            if not self._chunks:
                if self._closed:
                    raise anyio.ClosedResourceError
                if self._error is not None:
                    raise self._error
                return b""
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    def _bound(self, future: asyncio.Future[None], deadline: float) -> None:
        """Let the lazy timer fail ``future`` at ``deadline``; the caller awaits it and
        then clears ``_timed`` (a plain function: no coroutine frame per wait)."""
        if deadline != math.inf:
            self._timed = future
            self._deadline = deadline
            if deadline < self._timer_at:
                self._arm(deadline)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._on_timer)
        self._timer_at = when

    def _on_timer(self) -> None:
        fired_for = self._timer_at
        self._timer = None
        self._timer_at = math.inf
        future = self._timed
        if future is None or future.done():
            return
        if self._deadline <= fired_for:
            future.set_exception(DeadlinePassed())
        else:
            self._arm(self._deadline)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_at = math.inf

    def reusable(self) -> bool:
        """False when an idle connection has been closed, has failed or holds stray bytes."""
        if self._chunks or self._eof or self._closed or self.transport is None:
            return False
        if self.transport.is_closing():
            return False
        poller = self._poller
        if poller is None:
            if not _POLL:
                return idle_socket_is_clean(self.sock)
            # One poll object per connection, registered once: a third of a select()'s
            # cost, on every reuse. It is never asked after the socket closes (the loop
            # reports that before, as EOF), so its descriptor is never another socket's.
            poller = self._poller = select.poll()
            poller.register(self.sock, select.POLLIN)
        try:
            return not poller.poll(0)  # POLLIN, or HUP / ERR / NVAL: not clean
        except (OSError, ValueError):
            return False

    async def aclose(self) -> None:
        """Close at once (unsent bytes are dropped); the socket is shut when this returns."""
        self._closed = True
        self._chunks.clear()
        self._disarm()
        transport = self.transport
        if transport is not None and not self._lost:
            transport.abort()
            # connection_lost, which closes the socket, runs on the loop's next pass.
            await shielded_pass()


class _SmallReads(asyncio.BufferedProtocol):
    """The protocol a ``ProtocolStream``'s transport reads for while answers are small.

    The loop reads into the thread's shared buffer (``get_buffer``, then at once
    ``buffer_updated``: connections may share it) and the bytes go to the stream as a
    small copy. A read of ``_BULK_READ`` bytes or more means a large body is streaming:
    a selector transport is handed the stream itself, whose reads are ``bytes`` objects
    the loop's ``recv`` made (no copy), until the stream's next request hands it back;
    a TLS transport keeps this protocol (see the module docstring). Every other
    callback is the stream's own.

    Only the transport holds it (a new one is made to hand it back), and it lets go of
    the stream at the connection's end: the reference cycles a stream and its own one
    made kept a closed connection's buffers (over TLS the ``SSLProtocol``'s, 1 MiB
    after a large body) until the garbage collector's next full pass, where now they
    go with the connection.
    """

    __slots__ = ("stream", "view")

    def __init__(self, stream: ProtocolStream) -> None:
        self.stream = stream
        self.view = memoryview(b"")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.stream.connection_made(transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        """The thread's buffer: ``_READ_SIZE`` bytes, or ``_TLS_PASS`` once a TLS pass
        has asked for more (``SSLProtocol``'s hint is what it holds to decrypt), so
        that one pass decrypts all a read brought."""
        view = getattr(_buffer, "view", None)
        if view is None or len(view) < min(sizehint, _TLS_PASS):
            size = _READ_SIZE if sizehint <= _READ_SIZE else _TLS_PASS
            view = _buffer.view = memoryview(bytearray(size))
        self.view = view
        return view

    def buffer_updated(self, nbytes: int) -> None:
        stream = self.stream
        stream.data_received(bytes(self.view[:nbytes]))
        if nbytes >= _BULK_READ and not stream._bulk:
            if stream._sized is not None:
                stream._bulk = True
                stream._sized.set_protocol(stream)
            elif stream._tls is not None:
                stream._tls.max_size = _BULK_RECV

    def eof_received(self) -> bool:
        return self.stream.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        # The transport's last call: let go of the stream, since over TLS the SSLProtocol
        # keeps this object's bound methods (get_buffer, buffer_updated) after the end
        # while the stream holds the SSLProtocol (through its transport): a cycle.
        stream = self.stream
        del self.stream
        stream.connection_lost(exc)

    def pause_writing(self) -> None:
        self.stream.pause_writing()

    def resume_writing(self) -> None:
        self.stream.resume_writing()


def _literal(host: str, port: int) -> list[tuple[Any, Any, Any, str, Any]]:
    """An IP address given as such, as ``getaddrinfo`` would give it; else nothing.

    ``loop.getaddrinfo`` runs in a worker thread, and the first one starts the loop's
    thread pool: a cost a numeric address need not pay.
    """
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        address = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address)]
    return []


async def dial_asyncio(
    endpoint: Endpoint, ssl_context: ssl.SSLContext | None = None
) -> ProtocolStream:
    """Open a TCP (TLS with ``ssl_context``) or UNIX connection on the running asyncio
    loop, or ``ConnectError``."""
    loop = asyncio.get_running_loop()
    protocol = ProtocolStream(loop)
    if endpoint.socket_path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await connect_unix(sock, endpoint.socket_path)
            await loop.create_unix_connection(lambda: _SmallReads(protocol), sock=sock)
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot connect to {endpoint.display}: {reason_of(exc)}") from exc
        except BaseException:
            sock.close()
            raise
        return protocol
    assert endpoint.host is not None
    assert endpoint.port is not None
    try:
        infos = _literal(endpoint.host, endpoint.port) or await loop.getaddrinfo(
            endpoint.host, endpoint.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        raise ConnectError(f"cannot resolve host {endpoint.host!r}: {exc.strerror}") from None
    first: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, address)
            await loop.create_connection(
                lambda: _SmallReads(protocol),
                sock=sock,
                ssl=ssl_context,
                server_hostname=endpoint.host if ssl_context is not None else None,
            )
        except OSError as exc:
            sock.close()
            first = first or exc
            continue
        except BaseException:
            sock.close()
            raise
        return protocol
    why = reason_of(first) if first is not None else "no address to connect to"
    if ssl_context is not None and type(first) is ConnectionResetError and first.errno is None:
        why = "the server closed the connection during the TLS handshake"  # asyncio's words
    raise ConnectError(f"cannot connect to {endpoint.display}: {why}")
