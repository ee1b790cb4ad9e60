"""One HTTP/1.1 connection: a ``Stream`` and the sans-IO ``ResponseParser``, one exchange at a time.

``Connection.exchange`` writes a request and reads up to the final response head;
``Connection.next_chunk`` then pulls the body from the parser (a small answer is
usually buffered already, so no further read happens). Each wait gets its own deadline
(``budget``): the write timeout for the write, a fresh read timeout before every read,
each within what remains of the request's ``total`` deadline; the stream enforces it
and raises ``DeadlinePassed``, which becomes the matching ``Timeout`` here.

A connection is reusable only when its previous response was read to its end, keep-
alive holds, and no unread byte waits on the stream (``reusable``): stray bytes on an
idle connection (a partial head, an unrequested response, junk) retire it, so they
can never become the next call's answer.

Errors of the stream and the parser become ``aioxend``'s here, each chained to its
cause; a failure on a kept-alive connection before any byte of the answer came is
raised as ``Dead`` so the pool can apply its one retry rule.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import NoReturn

from aioxend.errors import (
    ConnectError,
    LimitExceeded,
    LocalProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Timeout,
    WriteError,
    WriteTimeout,
)
from aioxend.transport._base import Limits, Timeouts
from aioxend.transport._http11 import (
    END,
    Head,
    HeadTooLarge,
    ParseError,
    ResponseParser,
    Truncated,
)
from aioxend.transport._loop import clock
from aioxend.transport._stream import STREAM_ERRORS, DeadlinePassed, Stream

__all__ = ["Body", "Connection", "Dead", "budget", "timeout_error"]

_READ_SIZE = 65536


def budget(seconds: float | None, deadline: float | None, now: float) -> tuple[float, bool]:
    """The absolute deadline for a wait of ``seconds`` within ``deadline``; ``inf`` if none.

    The flag says the ``total`` deadline, not ``seconds``, is what bounds it.
    """
    limit = math.inf if seconds is None else now + seconds
    if deadline is not None and deadline <= limit:
        return deadline, True
    return limit, False


def timeout_error(
    error: type[Timeout], what: str, seconds: float | None, from_total: bool
) -> Timeout:
    """A ``Timeout`` saying what ran out: the wait's own timeout or the total."""
    cause = "the total timeout ran out" if from_total else f"timed out after {seconds:g} s"
    return error(f"{what}: {cause}")


def why(exc: BaseException) -> str:
    """A short reason for a stream failure (the OS's words when there are some)."""
    import anyio

    if isinstance(exc, anyio.ClosedResourceError):
        return "the stream was closed"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, anyio.BrokenResourceError) and cause is not None:
        exc = cause
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Body:
    """A streamed request body on its way out: its pieces, its length, who to tell."""

    pieces: AsyncIterator[bytes]
    length: int
    progress: Callable[[int], object] | None = None


class Dead(Exception):
    """A reused connection failed before any response byte: maybe a stale keep-alive."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Connection:
    """One ``Stream`` and its parser; see the module docstring."""

    __slots__ = ("clock", "idle_since", "limits", "parser", "reused", "stream", "where")

    def __init__(self, stream: Stream, limits: Limits, where: str) -> None:
        self.stream = stream
        self.limits = limits
        self.where = where
        self.parser = ResponseParser(limits.max_header_bytes, limits.max_header_lines)
        self.clock = stream.clock
        self.idle_since = 0.0
        self.reused = False

    def reusable(self) -> bool:
        """Whether this idle connection may carry the next request (nothing is sent)."""
        return self.parser.keep_alive and self.stream.reusable()

    async def receive(self, until: float = math.inf) -> bytes:
        """Feed the parser the next bytes from the stream (``b""`` at end of stream)."""
        try:
            data = await self.stream.receive(_READ_SIZE, until)
        except STREAM_ERRORS as exc:
            raise ReadError(f"{self.where}: connection failed while reading: {why(exc)}") from exc
        self.parser.receive(data)
        return data

    def next_event(self) -> Head | bytes | object:
        """The parser's next event, its errors turned into ours."""
        try:
            return self.parser.next_event()
        except HeadTooLarge as exc:
            raise LimitExceeded(exc.limit, exc.value) from exc
        except Truncated as exc:
            raise ReadError(
                f"{self.where}: the server closed the connection early ({exc})"
            ) from exc
        except ParseError as exc:
            raise RemoteProtocolError(f"{self.where}: invalid HTTP from the server: {exc}") from exc

    async def exchange(
        self,
        method: str,
        close: bool,
        data: bytes,
        timeouts: Timeouts,
        deadline: float | None,
        now: float,
        body: Body | None = None,
    ) -> Head:
        """Write the request (then ``body``, if streamed) and read up to the final head."""
        self.parser.start(method, close)
        write_error = await self._send(data, timeouts, deadline, now)
        if body is not None and write_error is None:
            write_error = await self._send_body(body, timeouts, deadline)
        return await self._read_head(timeouts, deadline, write_error)

    async def _send(
        self, data: bytes, timeouts: Timeouts, deadline: float | None, now: float
    ) -> Exception | None:
        """Write ``data``; a broken stream is returned, not raised: an answer may follow."""
        until, from_total = budget(timeouts.write, deadline, now)
        try:
            await self.stream.send(data, until)
        except DeadlinePassed:
            raise timeout_error(
                WriteTimeout, f"{self.where}: sending the request", timeouts.write, from_total
            ) from None
        except STREAM_ERRORS as exc:
            # The server may have answered and closed early (xend's 413); read that.
            error = WriteError(
                f"{self.where}: connection failed while sending the request: {why(exc)}"
            )
            error.__cause__ = exc
            return error
        return None

    async def _send_body(
        self, body: Body, timeouts: Timeouts, deadline: float | None
    ) -> Exception | None:
        """Write a streamed body piece by piece, each write its own write budget."""
        sent = 0
        async for piece in body.pieces:
            if sent + len(piece) > body.length:
                raise LocalProtocolError(
                    f"{self.where}: the body is longer than its Content-Length {body.length}"
                )
            clock = self.clock
            error = await self._send(piece, timeouts, deadline, clock() if clock else _now())
            if error is not None:
                return error
            sent += len(piece)
            if body.progress is not None:
                body.progress(sent)
        if sent != body.length:
            raise LocalProtocolError(
                f"{self.where}: the body ended after {sent} of its {body.length} bytes"
            )
        return None

    async def _read_head(
        self, timeouts: Timeouts, deadline: float | None, write_error: Exception | None
    ) -> Head:
        parser = self.parser
        received = 0
        try:
            while True:
                if parser.buffered or parser.eof:
                    event = self.next_event()
                    if type(event) is Head:
                        return event
                clock = self.clock
                now = clock() if clock is not None else _now()
                until, from_total = budget(timeouts.read, deadline, now)
                try:
                    chunk = await self.receive(until)
                except DeadlinePassed:
                    raise timeout_error(
                        ReadTimeout,
                        f"{self.where}: waiting for the response",
                        timeouts.read,
                        from_total,
                    ) from None
                if chunk:
                    received += len(chunk)
                elif received == 0:
                    await self._closed_before_answer(write_error)
        except (ReadError, RemoteProtocolError) as exc:
            if self.reused and received == 0 and not isinstance(exc, RemoteProtocolError):
                raise Dead(write_error or exc) from None
            if write_error is not None:
                raise write_error from exc
            raise

    async def _closed_before_answer(self, write_error: Exception | None) -> NoReturn:
        if self.reused:
            raise Dead(write_error or ReadError(f"{self.where}: kept-alive connection was closed"))
        failure = await self.stream.failure()
        if failure is not None:
            raise ConnectError(f"cannot reach {self.where}: {failure}")
        why = "the server closed the connection without answering"
        raise write_error or ReadError(f"{self.where}: {why}")

    async def next_chunk(self, timeouts: Timeouts, deadline: float | None) -> bytes | None:
        """The next piece of the body, or ``None`` at its end (reading as needed)."""
        while True:
            event = self.next_event()
            if type(event) is bytes:
                if event:
                    return event
            elif event is END:
                return None
            else:  # NEED_DATA
                clock = self.clock
                now = clock() if clock is not None else _now()
                until, from_total = budget(timeouts.read, deadline, now)
                try:
                    await self.receive(until)
                except DeadlinePassed:
                    raise timeout_error(
                        ReadTimeout, f"{self.where}: reading body", timeouts.read, from_total
                    ) from None

    async def aclose(self) -> None:
        await self.stream.aclose()


def _now() -> float:
    return clock()()
