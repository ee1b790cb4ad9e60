"""HTTP/1.1 on anyio byte streams, parsed by our own ``_http11``: runs on asyncio and trio.

Strategy. One ``_Connection`` is a byte stream plus a ``ResponseParser``. On asyncio a
plain TCP or UNIX connection is a ``_protocol.ProtocolStream`` (the loop reads for us,
sparing anyio's per-receive watcher changes); TLS, ssh pipes and trio use anyio streams.
A send takes a slot from a semaphore of ``max_connections`` (without waiting when one is
free; the pool timeout bounds the wait otherwise), then takes the most recently used idle
connection (after checking, without sending anything, that the peer has not closed it)
or dials a new one. The request is written by hand (its head kept per method, target
and headers, which repeat from call to call) and sent in one write (straight to a plain
socket when the kernel takes it whole, sparing anyio's checkpoints); then the parser is
fed from the stream until it has the final response head. The ``Response`` object then
owns the connection and the slot: its body iterator pulls chunks from the parser (a
small answer is usually already buffered, so no further read happens), and ``aclose``
gives the connection back to the idle list only when the parser says the exchange ended
cleanly and keep-alive holds; in every other case (unread body, error, cancellation,
``Connection: close``, HTTP/1.0) the connection is closed. Nothing runs in the
background, so idle connections are checked and expired when next wanted, not on a timer.

Timeouts. Each wait has a budget: the smaller of its timeout and what remains of the
``total`` deadline, and one that runs out raises ``DeadlinePassed``, which becomes the
matching ``Timeout`` subclass. A ``ProtocolStream`` enforces it with its own lazy loop
timer, so a call on asyncio's plain sockets enters no cancel scope at all (they cost
more than anything else in a small call); an anyio stream's wait runs in a cancel scope
of its own. Only waits that may block get one: a request the kernel takes whole and an
answer already buffered need none. Exceptions from anyio, the parser and the OS are
mapped where they happen, so only our tree leaves this module.

Retries. A kept-alive connection may die between two requests. If the check before
reuse sees it closed, the request was never sent there and simply goes elsewhere. If it
dies after the request was written but before any response byte arrived, the request
is sent again on a fresh connection only when ``Request.retry_safe`` says so.
"""

from __future__ import annotations

import asyncio
import math
import os
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

import anyio
import anyio.abc
import anyio.lowlevel

try:  # anyio asks sniffio, when installed (trio needs it), which library runs
    import sniffio
except ImportError:  # pragma: no cover - then anyio assumes asyncio, and so do we
    sniffio = None  # type: ignore[assignment]

from aioxend.errors import (
    ConnectError,
    ConnectTimeout,
    LimitExceeded,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Timeout,
    WriteError,
    WriteTimeout,
)
from aioxend.transport._base import Limits, Request, Response, Timeouts, Transport
from aioxend.transport._common import StreamingResponse, check_request, request_headers
from aioxend.transport._connect import (
    ProcessStream,
    dial,
    is_reusable,
    make_ssl_context,
    raw_socket,
)
from aioxend.transport._http11 import (
    END,
    Head,
    HeadTooLarge,
    ParseError,
    ResponseParser,
    Truncated,
    encode_request,
)
from aioxend.transport._protocol import DeadlinePassed, ProtocolStream, dial_asyncio
from aioxend.transport._url import Endpoint, parse_url

__all__ = ["RawTransport"]

_READ_SIZE = 65536
_POSIX = os.name == "posix"
_HEADS_KEPT = 64
"""How many distinct request heads a transport keeps encoded (see ``RawTransport._wire``)."""
_STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


def _on_asyncio() -> bool:
    return sniffio is None or sniffio.current_async_library() == "asyncio"


def _clock() -> Callable[[], float]:
    """The running loop's clock; ``anyio.current_time`` would ask sniffio on every call."""
    if _on_asyncio():
        return asyncio.get_running_loop().time
    return anyio.current_time


def _budget(seconds: float | None, deadline: float | None, now: float) -> tuple[float, bool]:
    """The absolute deadline for a wait of ``seconds`` within ``deadline``; ``inf`` if none.

    The flag says the ``total`` deadline, not ``seconds``, is what bounds it.
    """
    limit = math.inf if seconds is None else now + seconds
    if deadline is not None and deadline <= limit:
        return deadline, True
    return limit, False


@contextmanager
def _limit(
    seconds: float | None, deadline: float | None, error: type[Timeout], what: str
) -> Iterator[None]:
    """Bound the enclosed wait by ``seconds`` and the absolute ``deadline``."""
    if seconds is None and deadline is None:
        yield
        return
    until, from_total = _budget(seconds, deadline, anyio.current_time())
    with anyio.CancelScope(deadline=until) as scope:
        yield
    if scope.cancelled_caught:
        raise _timeout(error, what, seconds, from_total)


def _timeout(error: type[Timeout], what: str, seconds: float | None, from_total: bool) -> Timeout:
    cause = "the total timeout ran out" if from_total else f"timed out after {seconds:g} s"
    return error(f"{what}: {cause}")


class _Dead(Exception):
    """A reused connection failed before any response byte: maybe a stale keep-alive."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Connection:
    """One byte stream (an anyio stream or, on asyncio, a ``ProtocolStream``) and its parser."""

    __slots__ = ("direct", "idle_since", "parser", "proto", "reused", "sock", "stream")

    def __init__(
        self, stream: anyio.abc.ByteStream | ProtocolStream, max_header_bytes: int
    ) -> None:
        self.stream = stream
        self.parser = ResponseParser(max_header_bytes)
        self.idle_since = 0.0
        self.reused = False
        if isinstance(stream, ProtocolStream):
            self.proto: ProtocolStream | None = stream
            self.sock = None
            self.direct = True
            return
        self.proto = None
        self.sock = raw_socket(stream)
        # On POSIX a plain socket takes a request straight into the kernel's buffer
        # (os.write: the loop's socket wrapper refuses send) while the stream has never
        # buffered a write of its own, so bytes cannot be reordered.
        self.direct = (
            _POSIX and self.sock is not None and isinstance(stream, anyio.abc.SocketStream)
        )

    async def send(self, data: bytes, until: float = math.inf) -> None:
        """Write ``data``: in one system call when it fits, else through the stream.

        A wait that lasts until ``until`` (the loop's clock) raises ``DeadlinePassed``.
        """
        proto = self.proto
        if proto is not None:
            await proto.send(data, until)
            self.direct = proto.whole
            return
        if self.direct and self.sock is not None:
            await anyio.lowlevel.checkpoint_if_cancelled()
            # Asked now, with no await before the write: a socket the loop has closed
            # says -1 (its number may already belong to another file).
            fd = self.sock.fileno()
            try:
                sent = os.write(fd, data) if fd >= 0 else 0
            except (BlockingIOError, InterruptedError):
                sent = 0
            if sent == len(data):
                return
            self.direct = False
            data = data[sent:]
        assert not isinstance(self.stream, ProtocolStream)
        with anyio.CancelScope(deadline=until) as scope:
            await self.stream.send(data)
        if scope.cancelled_caught:
            raise DeadlinePassed

    def reusable(self) -> bool:
        """Whether this idle connection may carry the next request (nothing is sent)."""
        if self.proto is not None:
            return self.proto.reusable()
        assert not isinstance(self.stream, ProtocolStream)
        return is_reusable(self.stream, self.sock)

    async def receive(self, where: str, until: float = math.inf) -> bytes:
        """Feed the parser the next bytes from the stream (``b""`` at end of stream).

        ``until`` bounds the wait as in ``send``.
        """
        try:
            proto = self.proto
            if proto is not None:
                data = await proto.receive(_READ_SIZE, until)
            else:
                with anyio.CancelScope(deadline=until) as scope:
                    data = await self.stream.receive(_READ_SIZE)
                if scope.cancelled_caught:
                    raise DeadlinePassed
        except anyio.EndOfStream:
            data = b""
        except _STREAM_ERRORS as exc:
            raise ReadError(f"{where}: connection failed while reading: {_why(exc)}") from None
        self.parser.receive(data)
        return data

    def next_event(self, where: str, max_header_bytes: int) -> Head | bytes | object:
        """The parser's next event, its errors turned into ours."""
        try:
            return self.parser.next_event()
        except HeadTooLarge:
            raise LimitExceeded("max_header_bytes", max_header_bytes) from None
        except Truncated as exc:
            raise ReadError(f"{where}: the server closed the connection early ({exc})") from None
        except ParseError as exc:
            raise RemoteProtocolError(f"{where}: invalid HTTP from the server: {exc}") from None

    async def aclose(self) -> None:
        if self.proto is not None:
            await self.proto.aclose()
        else:
            assert not isinstance(self.stream, ProtocolStream)
            await anyio.aclose_forcefully(self.stream)


def _why(exc: BaseException) -> str:
    if isinstance(exc, anyio.ClosedResourceError):
        return "the stream was closed"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, anyio.BrokenResourceError) and cause is not None:
        exc = cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _asks_close(headers: list[tuple[str, str]]) -> bool:
    return any(
        n.lower() == "connection" and "close" in (t.strip().lower() for t in v.split(","))
        for n, v in headers
    )


class _RawResponse(StreamingResponse):
    """A response whose body is read from its connection on demand."""

    def __init__(
        self,
        transport: RawTransport,
        conn: _Connection,
        head: Head,
        timeouts: Timeouts,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> None:
        super().__init__(head.status, head.reason, head.headers, head.http_version)
        self._transport = transport
        self._conn: _Connection | None = conn
        self._timeouts = timeouts
        self._deadline = deadline
        self._clock = clock

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        conn = self._conn
        if conn is None:
            raise RuntimeError("the response is closed")
        where = self._transport.endpoint.display
        limits = self._transport.limits
        try:
            while True:
                event = conn.next_event(where, limits.max_header_bytes)
                if type(event) is bytes:
                    self._count(len(event), limits)
                    if event:
                        return event
                elif event is END:
                    self._done = True
                    break
                else:  # NEED_DATA
                    read = self._timeouts.read
                    until, from_total = _budget(read, self._deadline, self._clock())
                    try:
                        await conn.receive(where, until)
                    except DeadlinePassed:
                        raise _timeout(
                            ReadTimeout, f"{where}: reading body", read, from_total
                        ) from None
        except BaseException:
            await self._discard()
            raise
        raise StopAsyncIteration

    async def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.aclose()
            finally:
                self._transport._release()

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self._done:
                self._drain_buffered(conn)
            if self._done and conn.parser.keep_alive:
                await self._transport._checkin(conn, self._clock())
            else:
                await conn.aclose()
        finally:
            self._transport._release()

    def _drain_buffered(self, conn: _Connection) -> None:
        """Finish an empty or already-buffered body without I/O, so the connection stays."""
        parser = conn.parser
        try:
            while True:
                event = parser.next_event()
                if event is END:
                    self._done = True
                    return
                if type(event) is not bytes:
                    return
                self._received += len(event)
                if self._received > self._transport.limits.max_body_bytes:
                    return
        except ParseError:
            return


class RawTransport(Transport):
    """HTTP/1.1 written and parsed by us over anyio streams: TCP, TLS, UNIX, pipes.

    Works under asyncio and trio. ``ssh://`` URLs run ``ssh_command`` (default
    ``ssh [user@]host xm serve``) once per connection and speak HTTP over its pipes.
    """

    def __init__(
        self,
        url: str | Endpoint | None = None,
        *,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass
        limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        ssh_command: Sequence[str] | None = None,
    ) -> None:
        self.endpoint = url if isinstance(url, Endpoint) else parse_url(url)
        self.timeouts = timeouts
        self.limits = limits
        self._ssl_context = (
            make_ssl_context(ssl_context, verify) if self.endpoint.scheme == "https" else None
        )
        self._ssh_command = list(ssh_command) if ssh_command is not None else None
        self._idle: list[_Connection] = []
        self._heads: dict[object, tuple[bytes, bool, bool]] = {}
        self._slots: anyio.Semaphore | None = None
        self._closed = False
        self.connections_opened = 0
        """How many connections this transport has dialled (a measure of reuse)."""

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("send() on a closed transport")
        data, close = self._wire(request)
        timeouts = request.timeouts or self.timeouts
        # An idle ProtocolStream means asyncio: its loop's clock spares asking sniffio.
        last = self._idle[-1].proto if self._idle else None
        clock = last.loop.time if last is not None else _clock()
        deadline = None if timeouts.total is None else clock() + timeouts.total
        slots = self._slots
        if slots is None:
            slots = self._slots = anyio.Semaphore(self.limits.max_connections)
        try:
            slots.acquire_nowait()
        except anyio.WouldBlock:
            where = self.endpoint.display
            with _limit(timeouts.pool, deadline, PoolTimeout, f"{where}: waiting for a connection"):
                await slots.acquire()
        conn: _Connection | None = None
        try:
            fresh_only = False
            while True:
                conn = None if fresh_only else await self._take_idle(clock())
                if conn is None:
                    conn = await self._dial(timeouts, deadline)
                conn.parser.start(request.method, close)
                try:
                    head = await self._exchange(conn, data, timeouts, deadline, clock)
                except _Dead as dead:
                    await conn.aclose()
                    conn = None
                    if not request.retry_safe:
                        raise dead.error from None
                    fresh_only = True
                    continue
                # The parser has bounded the head by max_header_bytes already.
                if conn.parser.announced_length > self.limits.max_body_bytes:
                    raise LimitExceeded("max_body_bytes", self.limits.max_body_bytes)
                return _RawResponse(self, conn, head, timeouts, deadline, clock)
        except BaseException:
            try:
                if conn is not None:
                    await conn.aclose()
            finally:
                self._release()
            raise

    def _wire(self, request: Request) -> tuple[bytes, bool]:
        """The request's bytes, and whether it asks the server to close the connection.

        Everything before ``Content-Length`` depends only on the method, target and
        headers, which repeat from call to call; once checked and encoded it is kept.
        """
        body = request.body
        key = (request.method, request.target, request.headers, not body)
        keyable = True
        try:
            known = self._heads.get(key)
        except TypeError:  # headers given as a list: nothing to key on
            keyable, known = False, None
        if known is not None:
            prefix, with_length, close = known
            if with_length:
                return b"%sContent-Length: %d\r\n\r\n%s" % (prefix, len(body), body), close
            return prefix + b"\r\n" + body, close
        check_request(request)
        headers = request_headers(request, self.endpoint.host_header)
        close = _asks_close(headers)
        data = encode_request(request.method, request.target, headers, body)
        given = {name.lower() for name, _ in request.headers}
        if keyable and "content-length" not in given and len(self._heads) < _HEADS_KEPT:
            with_length = headers[-1][0] == "Content-Length"
            rest = headers[:-1] if with_length else headers
            prefix = encode_request(request.method, request.target, rest, b"")[:-2]
            self._heads[key] = (prefix, with_length, close)
        return data, close

    async def _take_idle(self, now: float) -> _Connection | None:
        if not self._idle:
            return None
        expiry = self.limits.keepalive_expiry
        stale: list[_Connection] = []
        found = None
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since <= expiry and conn.reusable():
                found = conn
                break
            stale.append(conn)
        if stale:
            # Expiry is by age, so everything older than a stale one is stale too.
            stale.extend(c for c in self._idle if now - c.idle_since > expiry)
            self._idle = [c for c in self._idle if now - c.idle_since <= expiry]
            for conn in stale:
                await conn.aclose()
        return found

    async def _dial(self, timeouts: Timeouts, deadline: float | None) -> _Connection:
        where = self.endpoint.display
        with _limit(timeouts.connect, deadline, ConnectTimeout, f"{where}: connecting"):
            stream: anyio.abc.ByteStream | ProtocolStream
            if self._ssl_context is None and self.endpoint.scheme != "ssh" and _on_asyncio():
                stream = await dial_asyncio(self.endpoint)
            else:
                stream = await dial(
                    self.endpoint, ssl_context=self._ssl_context, ssh_command=self._ssh_command
                )
        self.connections_opened += 1
        return _Connection(stream, self.limits.max_header_bytes)

    async def _exchange(
        self,
        conn: _Connection,
        data: bytes,
        timeouts: Timeouts,
        deadline: float | None,
        clock: Callable[[], float],
    ) -> Head:
        """Write the request and read up to the final response head.

        Each wait gets its own budget: the write budget, then a fresh read budget before
        every read, each within what remains of ``deadline``.
        """
        where = self.endpoint.display
        write_error: Exception | None = None
        until, from_total = _budget(timeouts.write, deadline, clock())
        try:
            await conn.send(data, until)
        except DeadlinePassed:
            raise _timeout(
                WriteTimeout, f"{where}: sending the request", timeouts.write, from_total
            ) from None
        except _STREAM_ERRORS as exc:
            # The server may have answered and closed early (xend's 413); read that.
            write_error = WriteError(
                f"{where}: connection failed while sending the request: {_why(exc)}"
            )
        received = 0
        max_header = self.limits.max_header_bytes
        parser = conn.parser
        try:
            while True:
                if parser.buffered or parser.eof:
                    event = conn.next_event(where, max_header)
                    if type(event) is Head:
                        return event
                until, from_total = _budget(timeouts.read, deadline, clock())
                try:
                    chunk = await conn.receive(where, until)
                except DeadlinePassed:
                    raise _timeout(
                        ReadTimeout, f"{where}: waiting for the response", timeouts.read, from_total
                    ) from None
                if chunk:
                    received += len(chunk)
                elif received == 0:
                    await self._closed_before_answer(conn, write_error)
        except (ReadError, RemoteProtocolError) as exc:
            if conn.reused and received == 0 and not isinstance(exc, RemoteProtocolError):
                raise _Dead(write_error or exc) from None
            raise (write_error or exc) from None

    async def _closed_before_answer(
        self, conn: _Connection, write_error: Exception | None
    ) -> NoReturn:
        where = self.endpoint.display
        if conn.reused:
            raise _Dead(write_error or ReadError(f"{where}: kept-alive connection was closed"))
        if isinstance(conn.stream, ProcessStream):
            with anyio.move_on_after(2):
                await conn.stream.process.wait()
            raise ConnectError(f"cannot reach {where}: {conn.stream.failure()}")
        why = "the server closed the connection without answering"
        raise write_error or ReadError(f"{where}: {why}")

    async def _checkin(self, conn: _Connection, now: float) -> None:
        if self._closed or len(self._idle) >= self.limits.max_keepalive:
            await conn.aclose()
            return
        conn.reused = True
        conn.idle_since = now
        self._idle.append(conn)

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.aclose()
