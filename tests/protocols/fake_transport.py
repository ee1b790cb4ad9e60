"""A transport with canned answers and no sockets, for unit tests of the backends.

In the style of ``httpx.MockTransport``: a handler maps each ``Request`` to a response
whose body arrives in the chunks given; every request is recorded for assertions.
"""

from __future__ import annotations

import inspect
import xmlrpc.client
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from aioxend.errors import ReadError
from aioxend.transport import Request, Response, Transport

__all__ = [
    "FakeResponse",
    "FakeTransport",
    "fault_answer",
    "split",
    "sxp_answer",
    "text_answer",
    "xml_answer",
]


class FakeResponse(Response):
    """A response whose body is a list of chunks, optionally failing after them."""

    def __init__(
        self,
        status: int,
        reason: str = "OK",
        headers: Sequence[tuple[str, str]] = (),
        chunks: Sequence[bytes] = (),
        error: Exception | None = None,
    ) -> None:
        super().__init__(status, reason, [(k.lower(), v) for k, v in headers])
        self.chunks = list(chunks)
        self.error = error
        self.closed = False

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error

    async def aclose(self) -> None:
        self.closed = True


Handler = Callable[[Request], FakeResponse | Awaitable[FakeResponse]]


class FakeTransport(Transport):
    """Answers each request with ``handler(request)`` and records it."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.responses: list[FakeResponse] = []
        self.closed = False

    async def send(self, request: Request) -> Response:
        if self.closed:
            raise RuntimeError("transport closed")
        self.requests.append(request)
        answer = self.handler(request)
        response = await answer if inspect.isawaitable(answer) else answer
        assert isinstance(response, FakeResponse)
        self.responses.append(response)
        return response

    async def aclose(self) -> None:
        self.closed = True


def split(data: bytes, size: int) -> list[bytes]:
    """``data`` in chunks of ``size`` bytes."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def xml_answer(value: Any, *, chunk: int = 1 << 20) -> FakeResponse:
    """An XML-RPC method response as xend (the standard library) writes it."""
    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
    return FakeResponse(200, "OK", [("Content-Type", "text/xml")], split(body, chunk))


def fault_answer(code: int, string: object) -> FakeResponse:
    """An XML-RPC fault response."""
    fault = xmlrpc.client.Fault(code, string)  # type: ignore[arg-type]
    body = xmlrpc.client.dumps(fault, methodresponse=True, allow_none=True).encode()
    return FakeResponse(200, "OK", [("Content-Type", "text/xml")], [body])


def sxp_answer(body: str | bytes, status: int = 200, reason: str = "OK") -> FakeResponse:
    """A legacy answer with ``Content-type: application/sxp``."""
    data = body.encode() if isinstance(body, str) else body
    return FakeResponse(status, reason, [("Content-type", "application/sxp")], [data])


def text_answer(body: str | bytes, status: int = 200, reason: str = "OK") -> FakeResponse:
    """A legacy answer with ``Content-type: text/plain``."""
    data = body.encode() if isinstance(body, str) else body
    return FakeResponse(status, reason, [("Content-type", "text/plain")], [data])


def dropped() -> FakeResponse:
    """A 200 answer whose connection breaks after the headers."""
    return FakeResponse(200, "OK", [("Content-Type", "text/xml")], [b"<?xml"], ReadError("gone"))
