"""The transport over aiohttp's client: TCP (TLS verified by default) and UNIX sockets.

aiohttp does the HTTP; this module bends it to the house contract. Its automatic headers
are switched off (``User-Agent`` and ``Accept`` would make xend's SXP server answer in
HTML, section 3.2; ``Content-Type`` is sent only when the caller gives one), bodies are
not decompressed, its own retry of idempotent requests on a dead kept-alive connection
is disabled so that ``Request.retry_safe`` alone decides, and a semaphore of our own
gives the pool timeout its own exception. Every aiohttp, asyncio and OS exception is
mapped to ours in ``_map``, both in ``send`` and while the body streams.

aiohttp runs only on asyncio, and only over sockets; ``ssh://`` needs ``RawTransport``.
Two limits work differently from the raw transport, because aiohttp has no hook for
them: there is no separate write timeout (a request that cannot be written stalls the
wait for the response, which the ``read`` timeout bounds, raising ``ReadTimeout``), and
``Limits.max_keepalive`` is not applied (aiohttp keeps up to ``max_connections`` idle).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import NoReturn

import aiohttp
import yarl
from aiohttp import client_exceptions as ce
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong

from aioxend.errors import (
    ConnectError,
    ConnectTimeout,
    LimitExceeded,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
)
from aioxend.transport._base import Limits, Request, Response, Timeouts, Transport
from aioxend.transport._common import StreamingResponse, check_request, request_headers
from aioxend.transport._connect import make_ssl_context, reason_of
from aioxend.transport._url import Endpoint, parse_url

__all__ = ["AiohttpTransport"]

_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_CACHE_SIZE = 256  # distinct targets / timeouts remembered; SXP paths vary, but not widely


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _map(exc: BaseException, where: str, phase: str, limits: Limits) -> NoReturn:
    """Raise the exception of our tree that matches an aiohttp, asyncio or OS one."""
    if isinstance(exc, ce.ConnectionTimeoutError):
        raise ConnectTimeout(f"{where}: connecting: timed out") from None
    if isinstance(exc, ce.ServerTimeoutError):
        raise ReadTimeout(f"{where}: {phase}: no progress within the read timeout") from None
    if isinstance(exc, TimeoutError):
        raise ReadTimeout(f"{where}: {phase}: the total timeout ran out") from None
    if isinstance(exc, ce.ClientConnectorCertificateError):
        raise ConnectError(
            f"cannot connect to {where}: TLS certificate verification failed: "
            f"{getattr(exc.certificate_error, 'verify_message', exc.certificate_error)}"
        ) from None
    if isinstance(exc, ce.ClientConnectorDNSError):
        raise ConnectError(f"cannot connect to {where}: cannot resolve the host name") from None
    if isinstance(exc, ce.ClientConnectorError):
        raise ConnectError(f"cannot connect to {where}: {reason_of(exc.os_error)}") from None
    if isinstance(exc, ce.ClientResponseError | ce.ClientPayloadError | HttpProcessingError):
        chain = _chain(exc)
        if any(isinstance(e, LineTooLong) for e in chain) or "Too many headers" in str(exc):
            raise LimitExceeded("max_header_bytes", limits.max_header_bytes) from None
        if isinstance(exc, ce.ClientPayloadError):
            raise ReadError(f"{where}: {phase}: the body was cut short ({exc})") from None
        message = getattr(exc, "message", "") or str(exc)
        raise RemoteProtocolError(f"{where}: invalid HTTP from the server: {message}") from None
    if isinstance(exc, ce.ServerDisconnectedError):
        raise ReadError(f"{where}: {phase}: the server closed the connection") from None
    if isinstance(exc, ce.ClientOSError | OSError):
        # aiohttp writes and reads at once, so a broken pipe cannot be told from a reset
        # while reading: both are reported as ReadError.
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ReadError(f"{where}: {phase}: {why}") from None
    if isinstance(exc, aiohttp.ClientError):
        raise TransportError(f"{where}: {phase}: {exc}") from None
    raise exc


def _same_spelling(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Spell a repeated header name one way: aiohttp keeps only the last of X-A and x-a."""
    first: dict[str, str] = {}
    return [(first.setdefault(name.lower(), name), value) for name, value in headers]


class _AiohttpResponse(StreamingResponse):
    """A response streaming from an ``aiohttp.ClientResponse``."""

    def __init__(self, transport: AiohttpTransport, resp: aiohttp.ClientResponse) -> None:
        version = f"{resp.version.major}.{resp.version.minor}" if resp.version else "1.1"
        super().__init__(resp.status, resp.reason or "", resp.raw_headers, version)
        self._transport = transport
        self._resp: aiohttp.ClientResponse | None = resp

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        resp = self._resp
        if resp is None:
            raise RuntimeError("the response is closed")
        limits = self._transport.limits
        try:
            chunk = await resp.content.readany()
        except BaseException as exc:
            self._discard()
            if isinstance(exc, Exception):
                _map(exc, self._transport.endpoint.display, "reading body", limits)
            raise
        if not chunk:
            self._done = True
            raise StopAsyncIteration
        try:
            self._count(len(chunk), limits)
        except LimitExceeded:
            self._discard()
            raise
        return chunk

    def _discard(self) -> None:
        resp, self._resp = self._resp, None
        if resp is not None:
            resp.close()
            self._transport._release()

    async def aclose(self) -> None:
        resp, self._resp = self._resp, None
        if resp is None:
            return
        try:
            if self._done or resp.content.at_eof():
                resp.release()
            else:
                resp.close()
        finally:
            self._transport._release()


class AiohttpTransport(Transport):
    """HTTP over aiohttp (asyncio only): ``http``, ``https``, ``httpu`` and ``unix`` URLs."""

    def __init__(
        self,
        url: str | Endpoint | None = None,
        *,
        timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass
        limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
    ) -> None:
        self.endpoint = url if isinstance(url, Endpoint) else parse_url(url)
        if self.endpoint.scheme == "ssh":
            raise ValueError(
                f"{self.endpoint.url}: aiohttp cannot speak HTTP over a pipe; use RawTransport "
                "(open_transport() picks it for ssh:// URLs)"
            )
        self.timeouts = timeouts
        self.limits = limits
        self._ssl: ssl.SSLContext | bool = (
            make_ssl_context(ssl_context, verify) if self.endpoint.scheme == "https" else False
        )
        scheme = "https" if self.endpoint.scheme == "https" else "http"
        self._base = f"{scheme}://{self.endpoint.host_header}"
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        # Built once per distinct value rather than per call: both cost more than a lookup.
        self._client_timeouts: dict[Timeouts, aiohttp.ClientTimeout] = {}
        self._urls: dict[str, yarl.URL] = {}

    def _open_session(self) -> aiohttp.ClientSession:
        limits = self.limits
        connector: aiohttp.BaseConnector
        if self.endpoint.socket_path is not None:
            connector = aiohttp.UnixConnector(
                path=self.endpoint.socket_path,
                limit=limits.max_connections,
                keepalive_timeout=limits.keepalive_expiry,
            )
        else:
            connector = aiohttp.TCPConnector(
                limit=limits.max_connections,
                keepalive_timeout=limits.keepalive_expiry,
                ssl=self._ssl,
            )
        session = aiohttp.ClientSession(
            connector=connector,
            skip_auto_headers=_SKIP_AUTO_HEADERS,
            auto_decompress=False,
            trust_env=False,
            max_line_size=limits.max_header_bytes,
            max_field_size=limits.max_header_bytes,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends idempotent requests on a dead kept-alive connection by itself;
        # here Request.retry_safe decides, so switch that off (no public switch exists).
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    async def send(self, request: Request) -> Response:
        if self._closed:
            raise RuntimeError("send() on a closed transport")
        check_request(request)
        headers = _same_spelling(request_headers(request, self.endpoint.host_header))
        timeouts = request.timeouts or self.timeouts
        where = self.endpoint.display
        if self._session is None:
            self._session = self._open_session()
            self._slots = asyncio.Semaphore(self.limits.max_connections)
        slots = self._slots
        assert slots is not None
        if slots.locked():
            pool_wait = timeouts.pool
            if timeouts.total is not None and (pool_wait is None or timeouts.total < pool_wait):
                pool_wait = timeouts.total
            try:
                async with asyncio.timeout(pool_wait):
                    await slots.acquire()
            except TimeoutError:
                raise PoolTimeout(f"{where}: waiting for a connection: timed out") from None
        else:
            await slots.acquire()  # a free slot: taken at once, without a timer
        try:
            return await self._send(request, headers, timeouts)
        except BaseException:
            self._release()
            raise

    async def _send(
        self, request: Request, headers: list[tuple[str, str]], timeouts: Timeouts
    ) -> Response:
        assert self._session is not None
        where = self.endpoint.display
        timeout = self._client_timeouts.get(timeouts)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=timeouts.total, sock_connect=timeouts.connect, sock_read=timeouts.read
            )
            if len(self._client_timeouts) < _CACHE_SIZE:
                self._client_timeouts[timeouts] = timeout
        url = self._urls.get(request.target)
        if url is None:
            url = yarl.URL(self._base + request.target, encoded=True)
            if len(self._urls) < _CACHE_SIZE:
                self._urls[request.target] = url
        attempts = 2 if request.retry_safe else 1
        for attempt in range(attempts):
            try:
                resp = await self._session.request(
                    request.method,
                    url,
                    data=request.body if request.body else None,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    compress=None,
                    chunked=None,
                )
            except (ce.ServerDisconnectedError, ce.ClientOSError) as exc:
                connector = isinstance(exc, ce.ClientConnectorError)
                if attempt + 1 < attempts and not connector:
                    continue
                _map(exc, where, "waiting for the response", self.limits)
            except Exception as exc:
                _map(exc, where, "waiting for the response", self.limits)
            break
        response = _AiohttpResponse(self, resp)
        error = response.oversize(self.limits)
        if error is not None:
            resp.close()
            response._resp = None
            raise error
        return response

    def _release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()
