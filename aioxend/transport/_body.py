"""Streamed request bodies: their length checked before anything is sent, their bytes read
as they go out.

A streamed body (``Request.stream``: a binary file or an async iterator of bytes) goes
with a known length, ``Content-Length``, since xapi's import handlers refuse chunked
uploads; a regular file's length is its size from where it stands when none is given.
The bytes are read one piece at a time, a file's in a worker thread so a slow disk
never blocks the event loop, and each piece is written before the next is read, so the
connection's own flow control is the backpressure and memory stays at one piece.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterable, AsyncIterator

import anyio.to_thread

from aioxend.errors import LocalProtocolError
from aioxend.transport._base import BodyStream, Request

__all__ = ["PIECE", "pieces", "position", "rewind", "stream_length"]

PIECE = 1024 * 1024
"""Bytes read from a streamed file per write (one worker-thread hop each)."""


def stream_length(request: Request) -> int:
    """The ``Content-Length`` of a streamed request, checked, or ``LocalProtocolError``."""
    stream = request.stream
    assert stream is not None
    if request.body:
        raise LocalProtocolError("a request has a body or a stream, not both")
    length = request.content_length
    if length is None and isinstance(stream, io.IOBase):
        length = _file_length(stream)
    if length is None:
        raise LocalProtocolError(
            "a streamed body needs content_length (xapi refuses chunked uploads)"
        )
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise LocalProtocolError(f"content_length must be an int >= 0, not {length!r}")
    for name, value in request.headers:
        if name.lower() == "content-length" and value != str(length):
            raise LocalProtocolError(
                f"Content-Length {value!r} disagrees with the body length {length}"
            )
    return length


def _file_length(stream: io.IOBase) -> int | None:
    """What remains of a regular file from its position, or ``None`` if not knowable."""
    try:
        size = os.fstat(stream.fileno()).st_size
        return size - stream.tell()
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def rewind(stream: BodyStream, start: int | None) -> None:
    """Put a file back at ``start`` to send it again, or refuse: an iterator is spent."""
    if start is None or not isinstance(stream, io.IOBase):
        raise LocalProtocolError("a streamed body that is not a seekable file cannot be resent")
    stream.seek(start)


def position(stream: BodyStream) -> int | None:
    """Where a seekable file stands (to ``rewind`` to), else ``None``."""
    if isinstance(stream, io.IOBase) and stream.seekable():
        return stream.tell()
    return None


async def pieces(stream: BodyStream) -> AsyncIterator[bytes]:
    """The body's bytes, one piece at a time."""
    if isinstance(stream, AsyncIterable):
        async for piece in stream:
            if piece:
                yield bytes(piece)
        return
    read = stream.read
    while True:
        piece = await anyio.to_thread.run_sync(read, PIECE)
        if not piece:
            return
        yield bytes(piece)
