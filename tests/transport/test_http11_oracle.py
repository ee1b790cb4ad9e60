"""h11 as an oracle: the same response bytes, valid and mutated, to our parser and to h11.

Both must give the same verdict: the same final head (status, header names and values)
and the same body, or both refuse. h11 is a test dependency only. Where we deliberately
differ, ``deliberate`` names the case and says why, and the comparison skips it.
"""

from __future__ import annotations

import re

import h11
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aioxend.transport._http11 import END, NEED_DATA, Head, ParseError, ResponseParser

MAX_HEAD = 16 * 1024  # h11's own default bound on an unfinished head
Verdict = tuple[int, list[tuple[bytes, bytes]], bytes] | None
"""(status, headers with lower-case names, body), or None: refused."""


def ours(data: bytes) -> Verdict:
    parser = ResponseParser(MAX_HEAD, max_header_lines=1000)
    parser.start("POST")
    parser.receive(data)
    parser.receive(b"")
    head: Head | None = None
    body = b""
    try:
        while True:
            event = parser.next_event()
            if type(event) is Head:
                head = event
            elif type(event) is bytes:
                body += event
            elif event is END:
                break
            else:  # pragma: no cover - after the end of stream the parser always decides
                assert event is not NEED_DATA
    except ParseError:
        return None
    assert head is not None
    return head.status, [(n.lower(), v) for n, v in head.headers], body


def theirs(data: bytes) -> Verdict:
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    request = h11.Request(
        method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "1")]
    )
    conn.send(request)
    conn.send(h11.Data(data=b"x"))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    conn.receive_data(b"")
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    body = b""
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                headers = [(bytes(n), bytes(v)) for n, v in event.headers]
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return status, headers, body
            elif event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                return None  # pragma: no cover - h11 raises on a cut message instead
    except h11.RemoteProtocolError:
        return None


def deliberate(data: bytes) -> str | None:
    """Why our verdict may differ from h11's on ``data``, or None where it must not."""
    rest = data
    while rest[:10] == b"HTTP/1.1 1" and b"\r\n\r\n" in rest:  # the 1xx heads before
        rest = rest.split(b"\r\n\r\n", 1)[1]
    head = rest.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    if b"transfer-encoding" in head and b"content-length" in head:
        return "RFC 9112 6.3: we refuse both framings at once; h11 lets chunked win"
    if b"content-length" in head and any(
        len(v.strip()) > 18
        for line in head.split(b"\n")
        if b":" in line
        for k, v in [line.split(b":", 1)]
        if k.strip() == b"content-length"
    ):
        return "a Content-Length past 18 digits: we refuse it as absurd; h11 accepts any"
    if b"chunked" in head and re.search(rb"\n[0-9A-Fa-f]+[ \t]+;", data):
        return "blanks before a chunk extension's ';': RFC 9112 7.1.1 allows them; h11 does not"
    if b"\r" in data.replace(b"\r\n", b""):
        return "a bare CR: h11 and we split lines differently (neither reads it as data)"
    if (
        data[:4] == b"HTTP"
        and b"\n" in data
        and data.split(b"\n", 1)[0][5:8]
        not in (
            b"1.0",
            b"1.1",
        )
    ):
        return "HTTP/x.y other than 1.0 and 1.1: we read it as 1.x; h11 refuses it"
    return None


VALID_HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"Content-Type", b"Server", b"X-A", b"Connection", b"Set-Cookie"]),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20).map(str.encode),
    ),
    max_size=6,
)


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    """A valid response: 1xx first or not, any of the three framings, any body."""
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0"]))
    status = draw(st.integers(200, 599).filter(lambda s: s not in (204, 304)))
    headers = draw(VALID_HEADERS)
    headers = [(n, v) for n, v in headers if n.lower() != b"connection" or v.lower() == b"close"]
    body = draw(st.binary(max_size=300))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    if framing == "chunked" and version == b"HTTP/1.0":
        framing = "length"
    out = b""
    if draw(st.booleans()):
        out += b"HTTP/1.1 100 Continue\r\n\r\n"
    out += version + b" %d Reason\r\n" % status
    out += b"".join(n + b": " + v + b"\r\n" for n, v in headers)
    if framing == "length":
        out += b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif framing == "chunked":
        sizes = draw(st.lists(st.integers(1, 100), max_size=5))
        out += b"Transfer-Encoding: chunked\r\n\r\n"
        rest = body
        for size in sizes:
            if rest:
                out += b"%x\r\n" % len(rest[:size]) + rest[:size] + b"\r\n"
                rest = rest[size:]
        if rest:
            out += b"%x\r\n" % len(rest) + rest + b"\r\n"
        out += b"0\r\n\r\n"
    else:
        out += b"\r\n" + body
    return out


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid response with a few bytes inserted, dropped or replaced."""
    data = bytearray(draw(responses()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        what = draw(st.sampled_from(["insert", "delete", "replace"]))
        junk = draw(st.sampled_from([b"\r\n", b"\n", b":", b" ", b"0", b"x", b"\x00", b";", b"-"]))
        if what == "insert":
            data[at:at] = junk
        elif what == "delete":
            del data[at : at + len(junk)]
        else:
            data[at : at + len(junk)] = junk
    return bytes(data)


def check(data: bytes) -> None:
    reason = deliberate(data)
    if reason is not None:
        return
    mine, h11s = ours(data), theirs(data)
    assert mine == h11s, (data, mine, h11s)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_valid_responses_read_as_h11_reads_them(data: bytes) -> None:
    assert ours(data) is not None
    check(data)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
@example(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
@example(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab")
@example(b"HTTP/1.1 200 Reason\r\nX-A: 00000\r\nContent-Length: 0\r\n \r\n\r\n")
def test_mutated_responses_get_h11s_verdict(data: bytes) -> None:
    check(data)


def test_the_deliberate_differences_are_real() -> None:
    """Each named difference exists: h11 and we really disagree on its example."""
    both = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"
    assert ours(both) is None
    assert theirs(both) is not None
    assert deliberate(both) is not None
