"""Following redirects, when a request asks for it (``Request.follow_redirects``).

Only ``GET`` and ``PUT`` follow (xapi answers its import and export handlers with
``302 Found`` to the host that holds the disk), at most ``follow_redirects`` times; more
raise ``RemoteProtocolError``. ``301``, ``302``, ``307`` and ``308`` keep the method and
the body (a streamed body is sent again only from a seekable file, rewound); ``303``
turns into a ``GET`` without one. A ``Location`` on the same origin (scheme, host and
port) goes through the same pool; another origin gets a transport of its own, closed
with the response, and never the ``Authorization``, ``Cookie`` or ``Host`` headers
the caller gave for the first one.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aioxend.errors import RemoteProtocolError
from aioxend.transport._base import Request, Response
from aioxend.transport._body import position, rewind
from aioxend.transport._url import Endpoint, parse_url

if TYPE_CHECKING:
    from aioxend.transport._raw import RawTransport

__all__ = ["follow"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization", "host"})


def _resolve(endpoint: Endpoint, target: str, location: str) -> tuple[Endpoint, str]:
    """Where ``location`` (absolute or relative to ``target``) points: endpoint, target."""
    # Over a UNIX socket or a pipe the origin is what the Host header said: localhost.
    scheme = endpoint.scheme if endpoint.scheme in ("http", "https") else "http"
    base = f"{scheme}://{endpoint.host_header}{target}"
    parts = urllib.parse.urlsplit(urllib.parse.urljoin(base, location))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RemoteProtocolError(f"{endpoint.display}: redirect to {location!r}, not HTTP(S)")
    new_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == scheme and parts.netloc == endpoint.host_header:
        return endpoint, new_target
    return parse_url(f"{parts.scheme}://{parts.netloc}/"), new_target


class _Owned(Response):
    """A response from a transport opened for a redirect; closing it closes that too."""

    def __init__(self, inner: Response, transport: RawTransport) -> None:
        super().__init__(inner.status, inner.reason, inner.headers, inner.http_version)
        self._inner = inner
        self._transport = transport

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        return self._inner.aiter_bytes()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            await self._transport.aclose()


async def follow(first: RawTransport, request: Request) -> Response:
    """``request`` through ``first``, then wherever its redirects point."""
    limit = budget = request.follow_redirects
    start = position(request.stream) if request.stream is not None else None
    transport, owned = first, False
    try:
        while True:
            response = await transport.send_one(request)
            location = response.header("location")
            if (
                response.status not in _REDIRECTS
                or location is None
                or request.method.upper() not in ("GET", "PUT")
            ):
                return _Owned(response, transport) if owned else response
            await response.aclose()
            if budget == 0:
                raise RemoteProtocolError(
                    f"{transport.endpoint.display}: more than {limit} redirects"
                )
            budget -= 1
            endpoint, target = _resolve(transport.endpoint, request.target, location)
            request = _next_request(request, target, response.status, endpoint, transport)
            if request.stream is not None:
                rewind(request.stream, start)
            if endpoint is not transport.endpoint:
                if owned:
                    await transport.aclose()
                transport, owned = first.for_origin(endpoint), True
    except BaseException:
        if owned:
            await transport.aclose()
        raise


def _next_request(
    request: Request, target: str, status: int, endpoint: Endpoint, transport: RawTransport
) -> Request:
    headers = list(request.headers)
    if endpoint is not transport.endpoint:
        headers = [(n, v) for n, v in headers if n.lower() not in _CREDENTIALS]
    if status == 303:
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        return dataclasses.replace(
            request,
            method="GET",
            target=target,
            headers=headers,
            body=b"",
            stream=None,
            content_length=None,
            follow_redirects=0,
        )
    return dataclasses.replace(request, target=target, headers=headers, follow_redirects=0)
