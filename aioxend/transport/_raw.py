"""HTTP/1.1 on anyio byte streams, with h11 as the state machine: runs on asyncio and trio.

Strategy. One ``_Connection`` is an anyio byte stream plus an ``h11.Connection``. A send
takes a slot from a semaphore of ``max_connections`` (the pool timeout bounds that
wait), then takes the most recently used idle connection (after checking, without
sending anything, that the peer has not closed it) or dials a new one. The request is
serialised by h11 and written in one ``send``; then events are pulled from h11, reading
from the stream whenever it says ``NEED_DATA``, until the ``Response`` event. The
``Response`` object then owns the connection and the slot: its body iterator pulls
``Data`` events the same way, and ``aclose`` gives the connection back to the idle list
only when h11 says both sides finished the exchange cleanly and may go on; in every
other case (unread body, error, cancellation, ``Connection: close``, HTTP/1.0) the
connection is closed. Nothing runs in the background, so idle connections are checked
and expired when next wanted, not on a timer.

Every wait (slot, dial, write, each read) runs under its own anyio cancel scope sized
by the smaller of its timeout and what remains of the ``total`` deadline; a scope that
fires becomes the matching ``Timeout`` subclass. Exceptions from anyio, h11 and the OS
are mapped where they happen, so only our tree leaves this module.

Retries. A kept-alive connection may die between two requests. If the check before
reuse sees it closed, the request was never sent there and simply goes elsewhere. If it
dies after the request was written but before any response byte arrived, the request
is sent again on a fresh connection only when ``Request.retry_safe`` says so.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn

import anyio
import anyio.abc
import h11

from aioxend.errors import (
    ConnectError,
    ConnectTimeout,
    LimitExceeded,
    LocalProtocolError,
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
from aioxend.transport._connect import ProcessStream, dial, is_reusable, make_ssl_context
from aioxend.transport._url import Endpoint, parse_url

__all__ = ["RawTransport"]

_READ_SIZE = 65536
_STREAM_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


@contextmanager
def _limit(
    seconds: float | None, deadline: float | None, error: type[Timeout], what: str
) -> Iterator[None]:
    """Bound the enclosed wait by ``seconds`` and the absolute ``deadline``."""
    budget = seconds
    from_total = False
    if deadline is not None:
        remaining = max(0.0, deadline - anyio.current_time())
        if budget is None or remaining < budget:
            budget, from_total = remaining, True
    if budget is None:
        yield
        return
    with anyio.move_on_after(budget) as scope:
        yield
    if scope.cancelled_caught:
        cause = "the total timeout ran out" if from_total else f"timed out after {budget:g} s"
        raise error(f"{what}: {cause}")


class _Dead(Exception):
    """A reused connection failed before any response byte: maybe a stale keep-alive."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Connection:
    """One byte stream and its HTTP/1.1 state."""

    __slots__ = ("eof", "h11", "idle_since", "reused", "stream")

    def __init__(self, stream: anyio.abc.ByteStream, max_header_bytes: int) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_header_bytes)
        self.idle_since = 0.0
        self.reused = False
        self.eof = False

    async def receive(self, where: str) -> bytes:
        """Feed h11 the next bytes from the stream (``b""`` at end of stream)."""
        try:
            data = await self.stream.receive(_READ_SIZE)
        except anyio.EndOfStream:
            data = b""
        except _STREAM_ERRORS as exc:
            raise ReadError(f"{where}: connection failed while reading: {_why(exc)}") from None
        if not data:
            self.eof = True
        self.h11.receive_data(data)
        return data

    def next_event(self, where: str, max_header_bytes: int) -> object:
        """h11's next event, its errors turned into ours."""
        try:
            return self.h11.next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:
                raise LimitExceeded("max_header_bytes", max_header_bytes) from None
            if self.eof:
                why = f"the server closed the connection early ({exc})"
                raise ReadError(f"{where}: {why}") from None
            raise RemoteProtocolError(f"{where}: invalid HTTP from the server: {exc}") from None

    async def aclose(self) -> None:
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


class _RawResponse(StreamingResponse):
    """A response whose body is read from its connection on demand."""

    def __init__(
        self,
        transport: RawTransport,
        conn: _Connection,
        event: h11.Response,
        timeouts: Timeouts,
        deadline: float | None,
    ) -> None:
        super().__init__(
            event.status_code, event.reason, event.headers, event.http_version.decode("ascii")
        )
        self._transport = transport
        self._conn: _Connection | None = conn
        self._timeouts = timeouts
        self._deadline = deadline

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
                if type(event) is h11.Data:
                    self._count(len(event.data), limits)
                    if event.data:
                        return bytes(event.data)
                elif type(event) is h11.EndOfMessage:
                    self._done = True
                    break
                elif event is h11.NEED_DATA:
                    with _limit(
                        self._timeouts.read, self._deadline, ReadTimeout, f"{where}: reading body"
                    ):
                        await conn.receive(where)
                else:
                    raise ReadError(f"{where}: the connection closed in the middle of the body")
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
            h = conn.h11
            if self._done and h.our_state is h11.DONE and h.their_state is h11.DONE:
                h.start_next_cycle()
                await self._transport._checkin(conn)
            else:
                await conn.aclose()
        finally:
            self._transport._release()

    def _drain_buffered(self, conn: _Connection) -> None:
        """Finish an empty or already-buffered body without I/O, so the connection stays."""
        try:
            while True:
                event = conn.h11.next_event()
                if type(event) is h11.EndOfMessage:
                    self._done = True
                    return
                if type(event) is not h11.Data:
                    return
                self._received += len(event.data)
                if self._received > self._transport.limits.max_body_bytes:
                    return
        except h11.ProtocolError:
            return


class RawTransport(Transport):
    """HTTP/1.1 written and parsed by us (via h11) over anyio streams: TCP, TLS, UNIX, pipes.

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
        self._slots: anyio.Semaphore | None = None
        self._closed = False
        self.connections_opened = 0
        """How many connections this transport has dialled (a measure of reuse)."""

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("send() on a closed transport")
        check_request(request)
        headers = request_headers(request, self.endpoint.host_header)
        timeouts = request.timeouts or self.timeouts
        deadline = None if timeouts.total is None else anyio.current_time() + timeouts.total
        where = self.endpoint.display
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limits.max_connections)
        with _limit(timeouts.pool, deadline, PoolTimeout, f"{where}: waiting for a connection"):
            await self._slots.acquire()
        conn: _Connection | None = None
        try:
            fresh_only = False
            while True:
                conn = None if fresh_only else await self._take_idle()
                if conn is None:
                    conn = await self._dial(timeouts, deadline)
                try:
                    event = await self._exchange(conn, request, headers, timeouts, deadline)
                except _Dead as dead:
                    await conn.aclose()
                    conn = None
                    if not request.retry_safe:
                        raise dead.error from None
                    fresh_only = True
                    continue
                response = _RawResponse(self, conn, event, timeouts, deadline)
                error = response.oversize(self.limits)
                if error is not None:
                    raise error
                return response
        except BaseException:
            try:
                if conn is not None:
                    await conn.aclose()
            finally:
                self._release()
            raise

    async def _take_idle(self) -> _Connection | None:
        expiry = self.limits.keepalive_expiry
        now = anyio.current_time()
        stale: list[_Connection] = []
        found = None
        while self._idle:
            conn = self._idle.pop()
            if now - conn.idle_since <= expiry and is_reusable(conn.stream):
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
            stream = await dial(
                self.endpoint, ssl_context=self._ssl_context, ssh_command=self._ssh_command
            )
        self.connections_opened += 1
        return _Connection(stream, self.limits.max_header_bytes)

    async def _exchange(
        self,
        conn: _Connection,
        request: Request,
        headers: list[tuple[str, str]],
        timeouts: Timeouts,
        deadline: float | None,
    ) -> h11.Response:
        where = self.endpoint.display
        try:
            data = (
                conn.h11.send(
                    h11.Request(method=request.method, target=request.target, headers=headers)
                )
                or b""
            )
            if request.body:
                data += conn.h11.send(h11.Data(data=request.body)) or b""
            data += conn.h11.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(f"cannot send this request: {exc}") from None

        write_error: Exception | None = None
        with _limit(timeouts.write, deadline, WriteTimeout, f"{where}: sending the request"):
            try:
                await conn.stream.send(data)
            except _STREAM_ERRORS as exc:
                # The server may have answered and closed early (xend's 413); read that.
                write_error = WriteError(
                    f"{where}: connection failed while sending the request: {_why(exc)}"
                )

        received = 0
        max_header = self.limits.max_header_bytes
        try:
            while True:
                event = conn.next_event(where, max_header)
                if event is h11.NEED_DATA:
                    with _limit(
                        timeouts.read, deadline, ReadTimeout, f"{where}: waiting for the response"
                    ):
                        chunk = await conn.receive(where)
                    if chunk:
                        received += len(chunk)
                    elif received == 0:
                        await self._closed_before_answer(conn, write_error)
                    continue
                if type(event) is h11.Response:
                    break
                if type(event) is h11.InformationalResponse:
                    continue
                raise ReadError(f"{where}: the server closed the connection without answering")
        except (ReadError, RemoteProtocolError) as exc:
            if conn.reused and received == 0 and not isinstance(exc, RemoteProtocolError):
                raise _Dead(write_error or exc) from None
            raise (write_error or exc) from None
        return event

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

    async def _checkin(self, conn: _Connection) -> None:
        if self._closed or len(self._idle) >= self.limits.max_keepalive:
            await conn.aclose()
            return
        conn.reused = True
        conn.eof = False
        conn.idle_since = anyio.current_time()
        self._idle.append(conn)

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.aclose()
