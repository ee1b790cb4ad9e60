"""What both transports share: request checks, the headers we add, and the response base."""

from __future__ import annotations

import abc
import re
from collections.abc import AsyncIterator
from typing import Self

from aioxend.errors import LimitExceeded, LocalProtocolError
from aioxend.transport._base import Limits, Request, Response

__all__ = ["StreamingResponse", "check_request", "request_headers"]

_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TARGET_RE = re.compile(r"[\x21-\x7e]+")
# Latin-1, no CR, LF or NUL, no blank at either end (spelt as positive classes: a
# negated class that leaves out U+0100..U+10FFFF takes 10 ms to compile).
_VALUE_RE = re.compile(
    r"(?:[\x01-\x08\x0b\x0c\x0e-\x1f\x21-\xff]"
    r"(?:[\x01-\x09\x0b\x0c\x0e-\xff]*[\x01-\x08\x0b\x0c\x0e-\x1f\x21-\xff])?)?"
)


def check_request(request: Request) -> None:
    """Refuse, before anything is sent, a request HTTP/1.1 cannot carry as given."""
    if _TOKEN_RE.fullmatch(request.method) and _TARGET_RE.fullmatch(request.target):
        for name, value in request.headers:
            if not (_TOKEN_RE.fullmatch(name) and _VALUE_RE.fullmatch(value)):
                break
            lower = name.lower()
            if lower == "transfer-encoding" or (
                lower == "content-length" and value != str(len(request.body))
            ):
                break
        else:
            return
    _check_slowly(request)


def _check_slowly(request: Request) -> None:
    """``check_request`` one rule at a time, to say which rule the request breaks."""
    if not request.method or not set(request.method) <= _TOKEN:
        raise LocalProtocolError(f"invalid HTTP method {request.method!r}")
    target = request.target
    if not target or any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in target):
        raise LocalProtocolError(
            f"invalid request target {target!r}: it must be non-empty printable ASCII without "
            "spaces (percent-encode anything else)"
        )
    for name, value in request.headers:
        if not name or not set(name) <= _TOKEN:
            raise LocalProtocolError(f"invalid header name {name!r}")
        if any(c in value for c in "\r\n\0") or value != value.strip(" \t"):
            raise LocalProtocolError(f"invalid value for header {name!r}: {value!r}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise LocalProtocolError(
                f"header {name!r} has characters outside Latin-1: {value!r}"
            ) from None
        lower = name.lower()
        if lower == "transfer-encoding":
            raise LocalProtocolError("chunked or other transfer-encoded requests are not sent")
        if lower == "content-length" and value != str(len(request.body)):
            raise LocalProtocolError(
                f"Content-Length {value!r} disagrees with the body length {len(request.body)}"
            )


def request_headers(
    request: Request, host: str, length: int | None = None
) -> list[tuple[str, str]]:
    """The caller's headers plus ``Host`` (unless given) and ``Content-Length`` for bodies.

    ``length`` is the body's (default ``len(request.body)``; a streamed body's is given).

    Nothing else is added: no ``User-Agent`` or ``Accept`` (xend's SXP server answers
    HTML when both are present) and no ``Content-Type`` unless the caller gives one.
    """
    headers: list[tuple[str, str]] = []
    if not any(name.lower() == "host" for name, _ in request.headers):
        headers.append(("Host", host))
    headers.extend((n, v) for n, v in request.headers if n.lower() != "content-length")
    size = len(request.body) if length is None else length
    if size or request.method.upper() not in _NO_BODY_METHODS:
        headers.append(("Content-Length", str(size)))
    return headers


class StreamingResponse(Response):
    """A response whose body is pulled from its connection chunk by chunk, once."""

    def __init__(
        self,
        status: int,
        reason: bytes | str,
        headers: list[tuple[str, str]],
        http_version: str,
    ) -> None:
        """``headers`` as ``Response`` holds them: names lower-cased, Latin-1 text."""
        # Response's four fields, set as its __init__ would: one response per call, and
        # the keyword call through super() cost as much as all the rest of this.
        self.status = status
        self.reason = reason if isinstance(reason, str) else reason.decode("latin-1")
        self.headers = headers
        self.http_version = http_version
        self._received = 0
        self._done = False
        self._iterating = False

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        if self._iterating:
            raise RuntimeError("the response body can be iterated only once")
        self._iterating = True
        return self

    def __aiter__(self) -> Self:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> bytes:
        """The next chunk of the body."""

    def _count(self, size: int, limit: float, limits: Limits) -> None:
        """Add ``size`` body bytes to the total, refusing more than ``limit`` (the
        request's: ``max_body_bytes``, or none)."""
        self._received += size
        if self._received > limit:
            raise LimitExceeded("max_body_bytes", limits.max_body_bytes)

    def oversize(self, limits: Limits) -> LimitExceeded | None:
        """The limit the head breaks (total header size, announced body length), if any."""
        size = 15 + len(self.reason) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > limits.max_header_bytes:
            return LimitExceeded("max_header_bytes", limits.max_header_bytes)
        length = self.header("content-length")
        if length is not None and length.isdigit() and int(length) > limits.max_body_bytes:
            return LimitExceeded("max_body_bytes", limits.max_body_bytes)
        return None
