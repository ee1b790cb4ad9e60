"""``RawTransport``: our own HTTP/1.1 for every client request, on asyncio and trio.

Strategy (httpcore's shape). A request is checked and written by hand, its head kept
per method, target and headers (they repeat from call to call), so a repeated call
costs one format. A ``Pool`` (``_pool``) lends a ``Connection`` (``_connection``): a
``Stream`` (``_stream``, opened by a connector, ``_connect``) and the sans-IO
``ResponseParser`` (``_http11``). The connection writes the request and reads to the
final response head; the ``Response`` returned then owns the connection and its pool
slot: its body iterator pulls chunks from the parser, and ``aclose`` gives the
connection back only when the parser says the exchange ended cleanly and keep-alive
holds. In every other case (unread body, error, cancellation, ``Connection: close``,
HTTP/1.0) the connection is closed. Exceptions from the stream, the parser and the OS
are mapped where they happen, so only our tree leaves this module.

Timeouts. Each wait has a budget: the smaller of its timeout and what remains of the
``total`` deadline; the stream enforces it its own cheapest way (``ProtocolStream`` by
a lazy loop timer, the others by a cancel scope around that wait alone).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aioxend._log import CURRENT, Tally
from aioxend.errors import LimitExceeded
from aioxend.transport._base import Limits, Request, Response, Timeouts, Transport
from aioxend.transport._common import StreamingResponse, check_request, request_headers
from aioxend.transport._connect import Connector, UrlConnector
from aioxend.transport._connection import Body, Connection
from aioxend.transport._http11 import Head, ParseError, encode_request
from aioxend.transport._pool import Pool
from aioxend.transport._url import Endpoint, check_options, parse_url

if TYPE_CHECKING:
    import ssl

__all__ = ["SSH_CONNECTIONS", "RawTransport"]

SSH_CONNECTIONS = 4
"""Default connection limit for ``ssh://``: each connection is one ``ssh ... xm serve``."""
_HEADS_KEPT = 64
"""How many distinct request heads a transport keeps encoded (see ``RawTransport._wire``)."""


def _asks_close(headers: list[tuple[str, str]]) -> bool:
    return any(
        n.lower() == "connection" and "close" in (t.strip().lower() for t in v.split(","))
        for n, v in headers
    )


class _RawResponse(StreamingResponse):
    """A response whose body is read from its connection on demand."""

    def __init__(
        self,
        pool: Pool,
        conn: Connection,
        head: Head,
        timeouts: Timeouts,
        deadline: float | None,
        clock: Callable[[], float],
        limit: float,
        tally: Tally | None = None,
    ) -> None:
        super().__init__(head.status, head.reason, head.text, head.http_version)
        self._limit = limit
        self._pool = pool
        self._conn: Connection | None = conn
        self._timeouts = timeouts
        self._deadline = deadline
        self._clock = clock
        self._tally = tally
        self._kept: list[bytes] | None = [] if tally is not None and tally.trace else None

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        conn = self._conn
        if conn is None:
            raise RuntimeError("the response is closed")
        try:
            chunk = conn.next_event()  # a small body is in already: no await
            if type(chunk) is not bytes or not chunk:
                chunk = await conn.next_chunk(self._timeouts, self._deadline)
            if chunk is None:
                self._done = True
                raise StopAsyncIteration
            self._count(len(chunk), self._limit, conn.limits)
            if conn.parser.done:  # the last chunk: the next call ends without reading
                self._done = True
            kept = self._kept
            if kept is not None and self._tally and sum(map(len, kept)) < self._tally.keep():
                kept.append(chunk)
            return chunk
        except StopAsyncIteration:
            raise
        except BaseException:
            self._conn = None
            await self._pool.discard(conn)
            raise

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if not self._done:
            self._drain_buffered(conn)
        if self._tally is not None:
            self._tell(self._tally)
        if not (self._done and conn.parser.keep_alive and self._pool.checkin(conn, self._clock())):
            await self._pool.discard(conn)

    def _tell(self, tally: Tally) -> None:
        """Give the observed call this answer's size (and, when traced, its first bytes)."""
        if not tally.trace:
            tally.received += self._received
            return
        lines = [f"HTTP/{self.http_version} {self.status} {self.reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        head = "\r\n".join(lines) + "\r\n\r\n"
        tally.answer(head, b"".join(self._kept or ()), self._received)

    def _drain_buffered(self, conn: Connection) -> None:
        """Finish an empty or already-buffered body without I/O, so the connection stays."""
        parser = conn.parser
        try:
            while True:
                event = parser.next_event()
                if type(event) is not bytes:
                    self._done = parser.done
                    return
                self._received += len(event)
                if self._received > self._limit:
                    return
        except ParseError:
            return


class RawTransport(Transport):
    """HTTP/1.1 written and parsed by us: TCP, TLS, UNIX sockets, pipes, any stream.

    Works under asyncio and trio. ``connector`` opens each connection's stream (default
    ``UrlConnector``: what the URL names). ``ssh://`` URLs run ``ssh_command`` (default
    ``ssh [user@]host xm serve``) once per connection, at most ``SSH_CONNECTIONS`` at a
    time unless ``limits`` says otherwise; ``ssh_share`` lets them share one ssh master.
    """

    def __init__(
        self,
        url: str | Endpoint | None = None,
        *,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass
        limits: Limits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        ssh_command: Sequence[str] | None = None,
        ssh_share: bool = False,
        connector: Connector | None = None,
    ) -> None:
        self.endpoint = url if isinstance(url, Endpoint) else parse_url(url)
        check_options(self.endpoint, ssl_context, verify, ssh_command)
        self.timeouts = timeouts
        if limits is None:
            ssh = self.endpoint.scheme == "ssh"
            limits = Limits(max_connections=SSH_CONNECTIONS) if ssh else Limits()
        self.limits = limits
        if connector is None:
            if self.endpoint.scheme == "https" and ssl_context is None:
                from aioxend.transport._connect import make_ssl_context

                ssl_context = make_ssl_context(None, verify)
            connector = UrlConnector(
                ssl_context=ssl_context, ssh_command=ssh_command, ssh_share=ssh_share
            )
        self.connector = connector
        self.pool = Pool(self.endpoint, connector, limits)
        self._heads: dict[object, tuple[bytes, bool, bool]] = {}

    @property
    def connections_opened(self) -> int:
        """How many connections this transport has opened (a measure of reuse)."""
        return self.pool.connections_opened

    @property
    def _idle(self) -> list[Connection]:
        return self.pool.idle

    def send(self, request: Request) -> Coroutine[Any, Any, Response]:
        """``send_one``, or redirects followed (``Request.follow_redirects``); to await.

        A plain function handing back the coroutine, so a request runs in one coroutine
        frame fewer."""
        if request.follow_redirects:
            from aioxend.transport._redirect import follow

            return follow(self, request)
        return self.send_one(request)

    async def send_one(self, request: Request) -> Response:
        """``send`` without following redirects."""
        pool = self.pool
        if pool.closed:
            raise RuntimeError("send() on a closed transport")
        tally = CURRENT.get()
        fresh = False
        if tally is not None and tally.headers:  # per-call headers: a head never kept
            request = replace(request, headers=(*request.headers, *tally.headers))
            fresh = True
        body: Body | None = None
        if request.stream is None:
            data, close = self._wire(request, keep=not fresh)
        else:
            data, close, body = self._streamed(request)
        if tally is not None:
            size = len(request.body) if body is None else body.length
            tally.request(data, size)
        timeouts = request.timeouts or self.timeouts
        clock = pool.clock()
        deadline = None if timeouts.total is None else clock() + timeouts.total
        conn, head = await pool.send(
            request.method, close, data, request.retry_safe, timeouts, deadline, clock, body
        )
        # The parser has bounded the head by max_header_bytes already.
        limit = math.inf if request.unbounded_body else self.limits.max_body_bytes
        if conn.parser.announced_length > limit:
            await pool.discard(conn)
            raise LimitExceeded("max_body_bytes", self.limits.max_body_bytes)
        if tally is not None:
            tally.status = head.status
        return _RawResponse(pool, conn, head, timeouts, deadline, clock, limit, tally)

    def _wire(self, request: Request, keep: bool = True) -> tuple[bytes, bool]:
        """The request's bytes, and whether it asks the server to close the connection.

        Everything before ``Content-Length`` depends only on the method, target and
        headers, which repeat from call to call; once checked and encoded it is kept.
        """
        body = request.body
        key = (request.method, request.target, request.headers, not body)
        keyable = True
        try:
            known = self._heads.get(key) if keep else None
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
        if keep and keyable and "content-length" not in given and len(self._heads) < _HEADS_KEPT:
            with_length = headers[-1][0] == "Content-Length"
            rest = headers[:-1] if with_length else headers
            prefix = encode_request(request.method, request.target, rest, b"")[:-2]
            self._heads[key] = (prefix, with_length, close)
        return data, close

    def _streamed(self, request: Request) -> tuple[bytes, bool, Body]:
        """A streamed request's head (never kept: such requests are few and large)."""
        from aioxend.transport._body import pieces, stream_length

        assert request.stream is not None
        length = stream_length(request)
        plain = [(n, v) for n, v in request.headers if n.lower() != "content-length"]
        check_request(Request(request.method, request.target, plain))
        headers = request_headers(Request(request.method, request.target, plain), self.host, length)
        head = encode_request(request.method, request.target, headers, b"")
        return head, _asks_close(headers), Body(pieces(request.stream), length, request.progress)

    def for_origin(self, endpoint: Endpoint) -> RawTransport:
        """A transport like this one for another origin (a redirect's), with the same
        timeouts and limits, TLS context and, if the caller gave one, connector."""
        if isinstance(self.connector, UrlConnector):
            return RawTransport(
                endpoint,
                timeouts=self.timeouts,
                limits=self.limits,
                ssl_context=self.connector.ssl_context if endpoint.scheme == "https" else None,
            )
        return RawTransport(
            endpoint, timeouts=self.timeouts, limits=self.limits, connector=self.connector
        )

    @property
    def host(self) -> str:
        """The ``Host`` header this transport's requests carry."""
        return self.endpoint.host_header

    async def aclose(self) -> None:
        await self.pool.aclose()
        if isinstance(self.connector, UrlConnector):
            self.connector.close()
