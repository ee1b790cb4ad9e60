"""Property tests of response parsing on both transports, over a real UNIX socket.

Any framing of any body, cut into any pieces on the wire, reads back the same; and any
bytes at all as an answer give either a response or one of our exceptions, never a hang
or a foreign exception (h11's fuzz rule, applied to the whole transport).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aioxend.errors import LimitExceeded, ReadError, RemoteProtocolError
from aioxend.transport import Limits, Request, Timeouts, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Handler, Peer


@dataclass
class Script:
    """What the server sends for the current example: pieces, then close."""

    pieces: list[bytes]


def scripted(script: Script) -> Handler:
    def handler(peer: Peer) -> None:
        if peer.read_request() is None:
            return
        for piece in script.pieces:
            if not peer.send(piece):
                return
            time.sleep(0.0005)

    return handler


def encode(body: bytes, framing: str, chunk_sizes: list[int]) -> bytes:
    if framing == "length":
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    if framing == "close":
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body
    if framing == "http10":
        return b"HTTP/1.0 200 OK\r\n\r\n" + body
    out = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
    rest, sizes = body, iter(chunk_sizes)
    while rest:
        size = max(1, next(sizes, len(rest)))
        out.append(b"%x\r\n" % len(rest[:size]) + rest[:size] + b"\r\n")
        rest = rest[size:]
    out.append(b"0\r\n\r\n")
    return b"".join(out)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


async def fetch(url: str) -> tuple[int, bytes]:
    timeouts = Timeouts(connect=2, read=2, write=2)
    limits = Limits(max_header_bytes=4096, max_body_bytes=100_000)
    async with (
        open_transport(url, timeouts=timeouts, limits=limits) as t,
        t.stream(Request("POST", "/RPC2", body=b"x")) as resp,
    ):
        return resp.status, await resp.aread()


def test_any_framing_any_split_reads_the_same(start: Start) -> None:
    script = Script([])
    server = start(scripted(script), "unix")

    @settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
    @given(
        body=st.binary(max_size=3000),
        framing=st.sampled_from(["length", "chunked", "close", "http10"]),
        chunk_sizes=st.lists(st.integers(1, 700), max_size=10),
        cuts=st.lists(st.integers(0, 10_000), max_size=8),
    )
    def check(body: bytes, framing: str, chunk_sizes: list[int], cuts: list[int]) -> None:
        script.pieces = split(encode(body, framing, chunk_sizes), cuts)
        assert anyio.run(fetch, server.url()) == (200, body)

    check()
    assert server.connections >= 40


RESPONSE_BYTES = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda valid, at, junk: valid[:at] + junk + valid[at:],
        st.just(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        st.integers(0, 45),
        st.binary(min_size=1, max_size=20),
    ),
    st.builds(
        lambda head, n: head + b"X-Long: " + b"a" * n + b"\r\n\r\n",
        st.just(b"HTTP/1.1 200 OK\r\n"),
        st.integers(0, 6000),
    ),
)


def test_any_answer_parses_or_raises_ours(start: Start) -> None:
    script = Script([])
    server = start(scripted(script), "unix")

    @settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
    @given(data=RESPONSE_BYTES, cuts=st.lists(st.integers(0, 400), max_size=4))
    def check(data: bytes, cuts: list[int]) -> None:
        script.pieces = split(data, cuts)
        try:
            status, _ = anyio.run(fetch, server.url())
        except (RemoteProtocolError, ReadError, LimitExceeded):
            return
        assert 100 <= status <= 999

    check()
    assert server.connections >= 60
