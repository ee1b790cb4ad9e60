"""The sans-IO HTTP/1.1 response parser and request writer, without any sockets.

Every table case is fed whole, byte by byte, and (in the property tests) cut at random
points: the events must come out the same however the bytes arrive.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.transport import _http11
from aioxend.transport._http11 import (
    END,
    NEED_DATA,
    Head,
    HeadTooLarge,
    ParseError,
    ResponseParser,
    Truncated,
    encode_request,
)
from tests.transport.test_transport_properties import encode, split

Result = tuple[Head, bytes, bool]


def parse(pieces: list[bytes], *, method: str = "POST", max_header: int = 4096) -> Result:
    """Feed ``pieces`` then the end of stream; the head, the whole body and keep-alive."""
    parser = ResponseParser(max_header)
    parser.start(method)
    head: Head | None = None
    body: list[bytes] = []
    feed = iter([*pieces, b""])
    while True:
        event = parser.next_event()
        if event is NEED_DATA:
            parser.receive(next(feed))
        elif isinstance(event, Head):
            assert head is None
            head = event
        elif event is END:
            assert head is not None
            return head, b"".join(body), parser.keep_alive
        else:
            assert isinstance(event, bytes)
            assert head is not None
            assert event, "empty chunks are not events"
            body.append(event)


def parse_ways(data: bytes, **kwargs: object) -> Result:
    """Parse whole and byte by byte; both must agree."""
    whole = parse([data], **kwargs)  # type: ignore[arg-type]
    bytewise = parse([data[i : i + 1] for i in range(len(data))], **kwargs)  # type: ignore[arg-type]
    assert bytewise == whole
    return whole


def headers(head: Head) -> list[tuple[bytes, bytes]]:
    return head.headers


OK_CASES: list[tuple[str, bytes, str, int, bytes, bool]] = [
    ("length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "POST", 200, b"hello", True),
    ("zero-length", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "POST", 200, b"", True),
    (
        "chunked-trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;ext=1\r\n \r\nA \r\n0123456789\r\n0\r\nX-T: t\r\n\r\n",
        "POST",
        200,
        b"hello 0123456789",
        True,
    ),
    (
        "chunked-uppercase-te",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "POST",
        200,
        b"abc",
        True,
    ),
    ("to-close-1.1", b"HTTP/1.1 200 OK\r\n\r\nuntil the end", "POST", 200, b"until the end", False),
    ("http1.0", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", "POST", 200, b"hi", False),
    ("http1.0-close", b"HTTP/1.0 200 OK\r\n\r\nabc", "POST", 200, b"abc", False),
    (
        "connection-close",
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 1\r\n\r\nx",
        "POST",
        200,
        b"x",
        False,
    ),
    ("head", b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD", 200, b"", True),
    ("204", b"HTTP/1.1 204 No Content\r\n\r\n", "POST", 204, b"", True),
    ("304", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", "GET", 304, b"", True),
    (
        "1xx-skipped",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone",
        "POST",
        201,
        b"done",
        True,
    ),
    ("bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", "POST", 200, b"hi", True),
    ("no-reason", b"HTTP/1.1 500\r\nContent-Length: 0\r\n\r\n", "POST", 500, b"", True),
]


@pytest.mark.parametrize(
    ("data", "method", "status", "body", "keep_alive"),
    [case[1:] for case in OK_CASES],
    ids=[case[0] for case in OK_CASES],
)
def test_valid_responses(
    data: bytes, method: str, status: int, body: bytes, keep_alive: bool
) -> None:
    head, got, alive = parse_ways(data, method=method)
    assert (head.status, got, alive) == (status, body, keep_alive)


def test_head_fields() -> None:
    data = b"HTTP/1.1 404 Not  Found\r\nX-A:  1 \r\nx-a: 2\r\nX-Fold: a\r\n  b\r\n\r\n"
    head, _, _ = parse_ways(data, method="HEAD")
    assert head.reason == b"Not  Found"
    assert head.http_version == "1.1"
    assert head.headers == [(b"X-A", b"1"), (b"x-a", b"2"), (b"X-Fold", b"a b")]


BAD_CASES: list[tuple[str, bytes, type[Exception]]] = [
    ("garbage", b"NOT HTTP AT ALL\r\n\r\n", ParseError),
    # RFC 9112 6.3: both framings at once is refused (a request-smuggling vector).
    (
        "chunked-and-length",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n",
        ParseError,
    ),
    ("http0.9-body", b"<?xml version='1.0'?>", ParseError),
    ("binary-junk", b"\x16\x03\x01\x02\x00", ParseError),
    ("bad-status", b"HTTP/1.1 abc OK\r\n\r\n", ParseError),
    ("status-below-100", b"HTTP/1.1 099 Odd\r\n\r\n", ParseError),
    ("bad-length", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", ParseError),
    ("negative-length", b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", ParseError),
    (
        "two-lengths",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        ParseError,
    ),
    ("gzip-te", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", ParseError),
    ("bad-chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ParseError),
    (
        "chunk-no-crlf",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
        ParseError,
    ),
    ("space-before-colon", b"HTTP/1.1 200 OK\r\nX-A : 1\r\n\r\n", ParseError),
    ("control-in-value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", ParseError),
    ("fold-first", b"HTTP/1.1 200 OK\r\n  folded\r\n\r\n", ParseError),
    ("closed", b"", Truncated),
    ("cut-head", b"HTTP/1.1 200 OK\r\nContent-Le", Truncated),
    ("cut-body", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", Truncated),
    ("cut-chunk", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", Truncated),
    (
        "cut-trailers",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
        Truncated,
    ),
    ("huge-head", b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", HeadTooLarge),
    ("huge-unfinished-head", b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 5000, HeadTooLarge),
    (
        "huge-chunk-line",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;" + b"e" * 5000,
        HeadTooLarge,
    ),
]


@pytest.mark.parametrize(
    ("data", "error"), [case[1:] for case in BAD_CASES], ids=[case[0] for case in BAD_CASES]
)
def test_invalid_responses(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse([data])
    with pytest.raises(error):
        parse([data[i : i + 1] for i in range(len(data))])


def test_stray_bytes_after_the_message_end_keepalive() -> None:
    parser = ResponseParser(4096)
    parser.start("POST")
    parser.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
    assert isinstance(parser.next_event(), Head)
    assert parser.next_event() == b"x"
    assert parser.next_event() is END
    assert parser.keep_alive
    parser.receive(b"JUNK")
    assert not parser.keep_alive


def test_request_asking_close_ends_keepalive() -> None:
    parser = ResponseParser(4096)
    parser.start("POST", close_requested=True)
    parser.receive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert isinstance(parser.next_event(), Head)
    assert parser.next_event() is END
    assert not parser.keep_alive


def test_two_exchanges_on_one_parser() -> None:
    parser = ResponseParser(4096)
    for body in (b"one", b"two!"):
        parser.start("POST")
        parser.receive(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        assert isinstance(parser.next_event(), Head)
        assert parser.next_event() == body
        assert parser.next_event() is END
        assert parser.keep_alive
        assert parser.done


def test_start_before_the_end_is_refused() -> None:
    parser = ResponseParser(4096)
    parser.start("POST")
    with pytest.raises(RuntimeError):
        parser.start("POST")


def test_encode_request() -> None:
    wire = encode_request("POST", "/RPC2", [("Host", "localhost"), ("X-É", "é")], b"<x/>")
    assert wire == b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nX-\xc9: \xe9\r\n\r\n<x/>"
    assert encode_request("GET", "/", [("Host", "h")], b"") == b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"


# Properties ---------------------------------------------------------------------------


def encode_more(body: bytes, framing: str, chunk_sizes: list[int]) -> bytes:
    """``encode`` of the transport property tests, chunked with a 1xx and a trailer."""
    data = encode(body, framing, chunk_sizes)
    if framing == "chunked":
        assert data.endswith(b"0\r\n\r\n")
        data = b"HTTP/1.1 100 Continue\r\n\r\n" + data[:-2] + b"X-Trailer: yes\r\n\r\n"
    return data


@given(
    body=st.binary(max_size=2000),
    framing=st.sampled_from(["length", "chunked", "close", "http10"]),
    chunk_sizes=st.lists(st.integers(1, 500), max_size=10),
    cuts=st.lists(st.integers(0, 5000), max_size=12),
)
def test_any_framing_any_split_parses_the_same(
    body: bytes, framing: str, chunk_sizes: list[int], cuts: list[int]
) -> None:
    data = encode_more(body, framing, chunk_sizes)
    head, got, alive = parse(split(data, cuts))
    assert (head.status, got) == (200, body)
    assert alive == (framing in ("length", "chunked"))


RESPONSE_BYTES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda valid, at, junk: valid[:at] + junk + valid[at:],
        st.sampled_from(
            [
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            ]
        ),
        st.integers(0, 80),
        st.binary(min_size=1, max_size=20),
    ),
)


@given(data=RESPONSE_BYTES, cuts=st.lists(st.integers(0, 400), max_size=6))
def test_any_bytes_parse_or_raise_parse_error(data: bytes, cuts: list[int]) -> None:
    pieces = split(data, cuts)
    try:
        whole = parse([data])
    except ParseError as exc:
        with pytest.raises(type(exc)):
            parse(pieces)
        return
    head, body, _ = parse(pieces)  # keep-alive depends on when stray bytes arrive
    assert (head, body) == whole[:2]
    assert 100 <= whole[0].status <= 999


HEAD_PIECES = st.sampled_from(
    [
        *(b"HTTP/1.1 200 OK", b"HTTP/1.0 200 OK", b"HTTP/1.1 204", b"HTTP/2.0 200 X"),
        *(b"HTTP/1.1 100 C", b"HTTP/1.1 099 x", b"HTTP/1.1 404 Not \x01Found"),
        *(b"HTTP/1.1 200 OK\r", b"HTTP/1.1 200"),
    ]
)
HEADER_LINES = st.sampled_from(
    [
        *(b"Content-Length: 3", b"content-length:3", b"Content-Length: 3 ", b"Content-Length: 4"),
        *(b"Server: BaseHTTP/0.3 Python/2.7", b"X-E:", b"X-T:\tv\t", b" folded", b"\tfolded"),
        *(b"Connection: close", b"Transfer-Encoding: chunked", b"Bad Name: v", b"X-C: a\x7fb"),
        *(b"X-Hi: \xe9\xff", b": empty name", b'X-Q: "q"', b""),
    ]
)


@given(
    status=HEAD_PIECES,
    lines=st.lists(HEADER_LINES, max_size=5),
    bare_lf_at=st.one_of(st.none(), st.integers(0, 6)),
    method=st.sampled_from(["POST", "HEAD"]),
)
def test_common_head_shortcut_agrees_with_the_line_by_line_path(
    status: bytes,
    lines: list[bytes],
    bare_lf_at: int | None,
    method: str,
) -> None:
    """A head matched whole by ``_COMMON_HEAD`` parses as the general path parses it."""
    every = [status, *lines, b""]
    head = b"".join(line + (b"\n" if i == bare_lf_at else b"\r\n") for i, line in enumerate(every))
    data = head + b"abc" + b"0\r\n\r\n"

    def outcome() -> object:
        try:
            return parse([data], method=method)
        except ParseError as exc:
            return type(exc)

    fast = outcome()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_http11, "_COMMON_HEAD", re.compile(rb"(?!)"))
        slow = outcome()
    assert fast == slow


def test_the_header_table_keeps_the_newest_blocks_when_full() -> None:
    """A server's ``Date`` makes a new header block each second: once the table of parsed
    blocks is full it is emptied, so the newest block is kept and read again from it."""
    _http11._FIELDS.clear()

    def head(second: int) -> _http11.Head:
        parser = ResponseParser(16384)
        parser.start("POST")
        parser.receive(
            b"HTTP/1.1 200 OK\r\nDate: Wed, 02 Dec 2026 06:%02d:%02d GMT\r\n"
            b"Content-Length: 0\r\n\r\n" % divmod(second, 60)
        )
        event = parser.next_event()
        assert isinstance(event, _http11.Head)
        return event

    for second in range(_http11._FIELDS_KEPT + 10):
        head(second)
    assert 0 < len(_http11._FIELDS) <= _http11._FIELDS_KEPT
    newest = _http11._FIELDS_KEPT + 9
    block = next(b for b in _http11._FIELDS if b"06:%02d:%02d" % divmod(newest, 60) in b)
    assert _http11._FIELDS[block].headers == head(newest).headers
    _http11._FIELDS.clear()
