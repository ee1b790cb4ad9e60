"""HTTP/1.1 for a client, by hand and sans-IO: request bytes out, response events in.

Strategy. ``encode_request`` writes a request head (the caller has validated every
piece, see ``_common.check_request``) and body as one ``bytes``. ``ResponseParser``
takes the bytes a connection receives (``receive(b"")`` marks the end of the stream)
and gives events from ``next_event``: ``NEED_DATA``, a ``Head`` (1xx heads are skipped),
body chunks as ``bytes``, then ``END``. The usual xend answer arrives in one read, so
its head (HTTP/1.x, CRLF line ends, no folded lines) is read with one regex match, any
other head line by line, and a Content-Length body that fills the rest of the buffer
is handed on without a copy. Framing follows RFC 9112, one reader class per framing
as in h11 (``_LengthReader``, ``_ChunkedReader``, ``_CloseReader``): no body for HEAD,
1xx, 204 and 304; chunked (extensions and trailers read and dropped) when
``Transfer-Encoding`` says so, refused together with ``Content-Length``; else
``Content-Length``; else the body runs to the end of the stream. After ``END``,
``keep_alive`` says whether the connection may carry another exchange: never after
HTTP/1.0, ``Connection: close`` either way, a read-to-close body, or stray bytes after
the message.

Errors are this module's own, so it needs no I/O module: ``ParseError`` for bytes that
are not HTTP, ``HeadTooLarge`` for a head (or chunk line, or trailer) over the limit,
and ``Truncated`` when the stream ends inside a message. The transport maps them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "END",
    "NEED_DATA",
    "Head",
    "HeadTooLarge",
    "ParseError",
    "ResponseParser",
    "Truncated",
    "encode_request",
]


class ParseError(Exception):
    """The peer sent bytes that are not a valid HTTP/1.1 response."""


class HeadTooLarge(ParseError):
    """A response head, chunk-size line or trailer section exceeds a limit.

    ``limit`` names it (``max_header_bytes`` or ``max_header_lines``), ``value`` its value.
    """

    def __init__(self, message: str, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class Truncated(ParseError):
    """The stream ended inside a response (head or body)."""


class NeedData:
    """The event type of ``NEED_DATA``: nothing more until more bytes (or the end) arrive."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


class EndOfMessage:
    """The event type of ``END``: the response body is complete."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "END"


NEED_DATA = NeedData()
"""``next_event``: nothing more can be parsed until more bytes (or the end) arrive."""
END = EndOfMessage()
"""``next_event``: the response body is complete."""


@dataclass(slots=True)
class Head:
    """A final (non-1xx) response's status line and headers; names as sent, bytes.

    ``text`` is the same headers as a ``Response`` holds them: Latin-1 text, names
    lower-cased (made once per distinct header block, see ``_Fields``).
    """

    status: int
    reason: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]
    text: list[tuple[str, str]]


Event = Head | bytes | EndOfMessage | NeedData
"""What ``next_event`` returns: a head, a piece of body, the end, or a wait for bytes."""


def encode_request(
    method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
) -> bytes:
    """The request as wire bytes; every piece must already be checked for CR, LF and so on."""
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    lines.append("\r\n")
    head = "".join(lines).encode("latin-1")
    return head + body if body else head


_TCHAR = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]"  # a header name's characters (RFC 9110 token)
_TEXT = rb"[^\x00-\x08\x0a-\x1f\x7f]"  # a reason's or a value's: no controls but tab
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_EOL = re.compile(rb"\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/([0-9])\.([0-9]) ([0-9]{3})(?: (" + _TEXT + rb"*))?")
_HEADER = re.compile(rb"(" + _TCHAR + rb"+):[ \t]*(" + _TEXT + rb"*?)[ \t]*")
# A whole common head in one match: HTTP/1.x, CRLF line ends, no continuation lines.
# Anything else (or a head not complete yet) is left to the line-by-line path.
_COMMON_HEAD = re.compile(
    rb"HTTP/1\.([01]) ([0-9]{3})(?: (" + _TEXT + rb"*))?\r\n"
    rb"((?:" + _TCHAR + rb"+:" + _TEXT + rb"*\r\n)*)\r\n"
)


def _prefixes(*parts: bytes) -> bytes:
    """An expression matching any prefix of the concatenation of ``parts`` (each atomic)."""
    expr = b""
    for part in reversed(parts):
        expr = b"(?:" + part + expr + b")?"
    return expr


# What can still grow into a status line ("HTTP/" digit "." digit " " 3 digits, then a
# space or the line end), so bytes that cannot (an HTTP/0.9 bare body, binary junk)
# are refused as soon as they arrive instead of when the head's blank line never does.
_STATUS_START = re.compile(
    _prefixes(
        rb"H",
        rb"T",
        rb"T",
        rb"P",
        rb"/",
        rb"[0-9]",
        rb"\.",
        rb"[0-9]",
        rb" ",
        rb"[0-9]",
        rb"[0-9]",
        rb"[0-9]",
        rb"[ \r\n].*",
    )
    + rb"\Z",
    re.DOTALL,
)
# RFC 9112 7.1: chunk-size [ext] CRLF, then the data, then CRLF; a bare LF is a line end
# only in the head and the trailer fields (2.2), so a chunk line needs its CR.
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r\n")

# Parser states; the body's framing states live in its reader.
_HEAD, _BODY, _DONE = range(3)


def _parse_headers(lines: list[bytes]) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not headers:
                raise ParseError("continuation line before any header")
            match = _HEADER.fullmatch(b"x:" + line)
            if match is None:
                raise ParseError(f"invalid header continuation {line[:40]!r}")
            name, value = headers[-1]
            if match[2]:  # a blank continuation adds nothing (the value's blanks are stripped)
                headers[-1] = (name, (value + b" " + match[2]) if value else match[2])
            continue
        match = _HEADER.fullmatch(line)
        if match is None:
            raise ParseError(f"invalid header line {line[:40]!r}")
        headers.append((match[1], match[2]))
    return headers


def _tokens(values: list[bytes]) -> list[bytes]:
    """The comma-separated tokens of a header's values, lower-cased and stripped."""
    found = [t.strip(b" \t").lower() for value in values for t in value.split(b",")]
    return [t for t in found if t]


# One field line of a head ``_COMMON_HEAD`` matched: its name, and its value without the
# blanks around it.
_FIELD = re.compile(rb"(" + _TCHAR + rb"+):[ \t]*(" + _TEXT + rb"*?)[ \t]*\r\n")


class _Fields:
    """A head's header fields and what they say about framing and keep-alive.

    A server repeats the same header block from answer to answer (xend's differ only in
    ``Date`` and ``Content-Length``), so the common path reads each distinct block of up
    to ``_FIELDS_BLOCK`` bytes once and keeps the result (``_FIELDS``): it is immutable,
    and each ``Head`` gets its own copies of the lists. A full table is emptied rather
    than frozen, so the blocks of the current second's ``Date`` are kept, not the first
    256 ever seen. ``length`` is the body's
    ``Content-Length`` (-1: none, or chunked), ``error`` why the framing is invalid.
    """

    __slots__ = ("chunked", "close", "error", "headers", "length", "text")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        connection: list[bytes] = []
        encodings: list[bytes] = []
        lengths: set[bytes] = set()
        self.text: list[tuple[str, str]] = []
        for key, value in headers:
            name = key.lower()
            if name == b"content-length":
                lengths.add(value)
            elif name == b"connection":
                connection.append(value)
            elif name == b"transfer-encoding":
                encodings.append(value)
            # Names are tokens (ASCII), so lower-casing the bytes is lower-casing the text.
            self.text.append((name.decode("latin-1"), value.decode("latin-1")))
        self.headers = headers
        self.close = bool(connection) and b"close" in _tokens(connection)
        self.chunked = False
        self.length = -1
        self.error: str | None = None
        if encodings:
            tokens = _tokens(encodings)
            if lengths:
                # RFC 9112 6.3: a sign of request smuggling; the caller closes the connection.
                self.error = "Transfer-Encoding together with Content-Length"
            elif tokens != [b"chunked"]:
                self.error = f"unsupported Transfer-Encoding {b', '.join(tokens)!r}"
            self.chunked = True
        elif lengths:
            (length, *others) = lengths
            if others:
                self.error = "conflicting Content-Length headers"
            elif not length.isdigit() or len(length) > 18:
                self.error = f"invalid Content-Length {length[:30]!r}"
            else:
                self.length = int(length)


_FIELDS: dict[bytes, _Fields] = {}
_FIELDS_KEPT = 256
_FIELDS_BLOCK = 1024


class ResponseParser:
    """Parses the responses on one client connection, one exchange at a time.

    Call ``start(method, close_requested)`` before each response is expected: the request
    method decides whether a body can follow (HEAD), and a request that asked for
    ``Connection: close`` ends keep-alive.
    """

    __slots__ = (
        "_buf",
        "_close",
        "_eof",
        "_head_request",
        "_max_header",
        "_max_lines",
        "_reader",
        "_scanned",
        "_state",
    )

    def __init__(self, max_header_bytes: int, max_header_lines: int = 100) -> None:
        self._max_header = max_header_bytes
        self._max_lines = max_header_lines
        self._buf = b""
        self._scanned = 0  # how far the head or trailers were searched for their end
        self._eof = False
        self._state = _DONE
        self._reader: _Reader | None = None
        self._close = False
        self._head_request = False

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet parsed."""
        return len(self._buf)

    @property
    def eof(self) -> bool:
        """The end of the stream has been received."""
        return self._eof

    @property
    def keep_alive(self) -> bool:
        """After ``END``: the connection may carry another exchange (no stray bytes yet)."""
        return self._state == _DONE and not self._close and not self._buf and not self._eof

    @property
    def announced_length(self) -> int:
        """After a head: the body length its ``Content-Length`` gave (0 when none did)."""
        reader = self._reader
        return reader.remaining if type(reader) is _LengthReader else 0

    @property
    def done(self) -> bool:
        """The current response has been parsed to its end (``END`` is the next event,
        or was: a ``Content-Length`` body is done with its last chunk)."""
        return self._state == _DONE

    def start(self, method: str, close_requested: bool = False) -> None:
        """Expect the response to a ``method`` request."""
        if self._state != _DONE:
            raise RuntimeError("the previous response was not read to the end")
        self._state = _HEAD
        self._head_request = method.upper() == "HEAD"
        self._close = close_requested

    def receive(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the peer closed its end."""
        if not data:
            self._eof = True
        elif self._buf:
            self._buf += data
        else:
            self._buf = data

    def next_event(self) -> Event:
        """The next ``Head``, body chunk, ``END`` or ``NEED_DATA``; raises ``ParseError``."""
        reader = self._reader
        if reader is not None:
            return reader.read(self)
        if self._state == _HEAD:
            return self._next_head()
        return END

    def _finish(self) -> EndOfMessage:
        """The body's reader is done: the message ends here."""
        self._reader = None
        self._state = _DONE
        return END

    def _next_head(self) -> Head | NeedData:
        common = _COMMON_HEAD.match(self._buf)
        if common is not None:
            minor, status, reason, block = common.groups()
            end = common.end()
            if end <= self._max_header and status >= b"200":
                self._buf = self._buf[end:]
                self._scanned = 0
                fields = _FIELDS.get(block)
                if fields is None:
                    fields = _Fields(_FIELD.findall(block))
                    if len(block) <= _FIELDS_BLOCK:
                        if len(_FIELDS) >= _FIELDS_KEPT:
                            _FIELDS.clear()
                        _FIELDS[block] = fields
                if len(fields.headers) > self._max_lines:
                    self._count_lines(len(fields.headers), "the response head")
                code = int(status)
                version = "1.1" if minor == b"1" else "1.0"
                self._frame(code, version, fields)
                return Head(code, reason or b"", version, list(fields.headers), list(fields.text))
        while True:
            buf = self._buf
            found = self._search_end(buf)
            if found is None:
                if len(buf) > self._max_header:
                    raise self._too_large("the response head")
                if buf and _STATUS_START.match(buf) is None:
                    raise ParseError(f"not an HTTP/1.x response: {buf[:40]!r}")
                if self._eof:
                    if buf:
                        raise Truncated("the connection closed in the middle of the response head")
                    raise Truncated("the connection closed without a response")
                return NEED_DATA
            end = found.end()
            if end > self._max_header:
                raise self._too_large("the response head")
            head = buf[: found.start()]
            self._buf = buf[end:]
            lines = _EOL.split(head)
            status = _STATUS_LINE.fullmatch(lines[0])
            if status is None:
                raise ParseError(f"invalid status line {lines[0][:60]!r}")
            code = int(status[3])
            if code < 100:
                raise ParseError(f"invalid status code {code}")
            self._count_lines(len(lines) - 1, "the response head")
            headers = _parse_headers(lines[1:])
            if code < 200:
                continue  # 100 Continue, 102 Processing, ...: the real answer follows
            version = f"{status[1].decode()}.{status[2].decode()}"
            general = _Fields(headers)
            self._frame(code, version, general)
            return Head(code, status[4] or b"", version, headers, general.text)

    def _frame(self, code: int, version: str, fields: _Fields) -> None:
        """Choose the body framing and note whether keep-alive is possible."""
        if version < "1.1" or fields.close:
            self._close = True
        if self._head_request or code in (204, 304):
            self._state = _DONE
            return
        if fields.error is not None:
            raise ParseError(fields.error)
        length = fields.length
        if length > 0:
            self._state = _BODY
            self._reader = _LengthReader(length)
        elif length == 0:
            self._state = _DONE
        else:
            self._state = _BODY
            self._reader = _ChunkedReader() if fields.chunked else _CloseReader()

    def _search_end(self, buf: bytes) -> re.Match[bytes] | None:
        """The blank line ending a head or trailers, not rescanning what was searched."""
        found = _HEAD_END.search(buf, max(0, self._scanned - 3))
        self._scanned = 0 if found is not None else len(buf)
        return found

    def _too_large(self, what: str) -> HeadTooLarge:
        return HeadTooLarge(f"{what} is too large", "max_header_bytes", self._max_header)

    def _count_lines(self, count: int, what: str) -> None:
        """Refuse a head or trailer section of more than ``max_header_lines`` field lines."""
        if count > self._max_lines:
            raise HeadTooLarge(
                f"{what} has more than {self._max_lines} lines", "max_header_lines", self._max_lines
            )

    def _need(self, where: str) -> NeedData:
        if self._eof:
            raise Truncated(f"the connection closed in the middle of a {where}")
        return NEED_DATA


class _Reader:
    """Reads one framing of body from its parser's buffer: data, ``END`` or ``NEED_DATA``.

    As h11's readers: one class per framing, each knowing only how its body ends.
    """

    __slots__ = ()

    def read(self, parser: ResponseParser) -> bytes | NeedData | EndOfMessage:
        raise NotImplementedError


class _LengthReader(_Reader):
    """A body of ``Content-Length`` bytes (also a chunk's data, for ``_ChunkedReader``)."""

    __slots__ = ("remaining",)

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining

    def read(self, parser: ResponseParser) -> bytes | NeedData | EndOfMessage:
        if not self.remaining:
            return parser._finish()
        chunk = self.take(parser)
        if not self.remaining:
            # The message ends with this chunk: ``done`` says so now, END comes next.
            parser._finish()
        return chunk

    def take(self, parser: ResponseParser) -> bytes | NeedData:
        """Up to ``remaining`` buffered bytes, or ``NEED_DATA``; a cut body is ``Truncated``."""
        buf = parser._buf
        if not buf:
            if parser._eof:
                raise Truncated(f"{self.remaining} bytes of the body never arrived")
            return NEED_DATA
        remaining = self.remaining
        if len(buf) <= remaining:
            parser._buf = b""
            chunk = buf
        else:
            chunk, parser._buf = buf[:remaining], buf[remaining:]
        self.remaining = remaining - len(chunk)
        return chunk


class _CloseReader(_Reader):
    """A body that runs to the end of the stream (no length, not chunked)."""

    __slots__ = ()

    def read(self, parser: ResponseParser) -> bytes | NeedData | EndOfMessage:
        if parser._buf:
            chunk, parser._buf = parser._buf, b""
            return chunk
        if parser._eof:
            return parser._finish()
        return NEED_DATA


_SIZE, _DATA, _DATA_END, _TRAILERS = range(4)


class _ChunkedReader(_Reader):
    """``Transfer-Encoding: chunked``: size lines, data, CRLFs, then trailers (dropped)."""

    __slots__ = ("data", "state")

    def __init__(self) -> None:
        self.state = _SIZE
        self.data = _LengthReader(0)

    def read(self, parser: ResponseParser) -> bytes | NeedData | EndOfMessage:
        while True:
            state = self.state
            buf = parser._buf
            if state == _DATA:
                chunk = self.data.take(parser)
                if not self.data.remaining:
                    self.state = _DATA_END
                return chunk
            if state == _SIZE:
                match = _CHUNK_LINE.match(buf)
                if match is None:
                    if b"\n" in buf[: parser._max_header] or (buf and not _hex_prefix(buf)):
                        raise ParseError(f"invalid chunk header {buf[:30]!r}")
                    if len(buf) > parser._max_header:
                        raise parser._too_large("a chunk header line")
                    return parser._need("chunk header")
                parser._buf = buf[match.end() :]
                size = int(match[1], 16)
                self.data.remaining = size
                self.state = _DATA if size else _TRAILERS
            elif state == _DATA_END:
                if buf[:2] != b"\r\n":
                    if buf not in (b"", b"\r"):
                        raise ParseError("chunk data not followed by CRLF")
                    return parser._need("chunk")
                parser._buf = buf[2:]
                self.state = _SIZE
            else:
                return self._trailers(parser, buf)

    def _trailers(self, parser: ResponseParser, buf: bytes) -> NeedData | EndOfMessage:
        if buf[:2] == b"\r\n" or buf[:1] == b"\n":
            parser._buf = buf[2 if buf[:1] == b"\r" else 1 :]
            return parser._finish()
        found = parser._search_end(buf)
        if found is None:
            if len(buf) > parser._max_header:
                raise parser._too_large("the trailer section")
            return parser._need("trailers")
        if found.end() > parser._max_header:
            raise parser._too_large("the trailer section")
        trailers = _EOL.split(buf[: found.start()])
        parser._count_lines(len(trailers), "the trailer section")
        _parse_headers(trailers)
        parser._buf = buf[found.end() :]
        return parser._finish()


def _hex_prefix(buf: bytes) -> bool:
    """Whether ``buf`` could still grow into a chunk-size line."""
    return re.match(rb"[0-9A-Fa-f]{1,16}([ \t]*(;[^\r\n]*)?\r?)?\Z", buf) is not None
