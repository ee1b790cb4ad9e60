"""Streamed request bodies (a file, an async iterator) with their Content-Length, progress
and backpressure; and opt-in redirects for GET and PUT, credentials kept to their origin."""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aioxend.errors import LimitExceeded, LocalProtocolError, RemoteProtocolError
from aioxend.transport import Limits, RawTransport, Request, Timeouts, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, Received, response, serve

QUICK = Timeouts(connect=5, read=20, write=20, pool=5)


def digest(request: Received) -> bytes:
    """The body's length and SHA-256, so a test sees exactly what arrived."""
    return response(
        b"%d %s" % (len(request.body), hashlib.sha256(request.body).hexdigest().encode())
    )


def expect(data: bytes) -> bytes:
    return b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())


async def test_a_file_streams_with_its_size_as_content_length(start: Start, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4099  # ~1 MB, not a multiple of the piece size
    path = tmp_path / "disk.img"
    path.write_bytes(data)
    server = start(serve(digest), "unix")
    seen: list[int] = []
    async with open_transport(server.url(), timeouts=QUICK) as t:
        with path.open("rb") as f:
            request = Request("PUT", "/import", stream=f, progress=seen.append)
            async with t.stream(request) as resp:
                assert await resp.aread() == expect(data)
    (received,) = server.peers[0].requests
    assert received.header("content-length") == str(len(data))
    assert received.header("transfer-encoding") is None
    assert seen == sorted(seen)
    assert seen[-1] == len(data)
    assert len(seen) > 1


async def pieces(total: int, size: int = 65536) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = b"z" * min(size, total - sent)
        sent += len(piece)
        yield piece


async def test_an_async_iterator_streams_with_the_given_length(start: Start) -> None:
    server = start(serve(digest), "tcp")
    async with open_transport(server.url(), timeouts=QUICK) as t:
        request = Request("PUT", "/import", stream=pieces(300_000), content_length=300_000)
        async with t.stream(request) as resp:
            assert await resp.aread() == expect(b"z" * 300_000)
        # The connection is reused after a streamed request like any other.
        async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
            assert await resp.aread() == expect(b"x")
    assert server.connections == 1


@pytest.mark.parametrize(("actual", "declared"), [(1000, 2000), (3000, 2000)])
async def test_a_body_that_breaks_its_length_is_refused(
    start: Start, actual: int, declared: int
) -> None:
    server = start(serve(digest), "unix")
    async with open_transport(server.url(), timeouts=QUICK) as t:
        request = Request("PUT", "/import", stream=pieces(actual, 500), content_length=declared)
        with pytest.raises(LocalProtocolError, match="body"):
            await t.send(request)
        async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
            assert await resp.aread() == expect(b"x")
    assert server.connections == 2, "the connection with a broken body was kept"


async def test_a_stream_without_a_length_is_refused_before_sending(start: Start) -> None:
    server = start(serve(digest), "unix")
    async with open_transport(server.url(), timeouts=QUICK) as t:
        with pytest.raises(LocalProtocolError, match="content_length"):
            await t.send(Request("PUT", "/import", stream=pieces(10)))
        with pytest.raises(LocalProtocolError, match="not both"):
            await t.send(Request("PUT", "/import", body=b"x", stream=pieces(10), content_length=10))
    assert server.connections == 0


async def test_backpressure_reads_the_body_only_as_fast_as_it_goes_out(start: Start) -> None:
    total = 24 * 1024 * 1024
    produced = [0]
    at_first_read: list[int] = []

    def slow_reader(peer: Peer) -> None:
        peer.sock.settimeout(10)
        time.sleep(0.5)  # let the client fill every buffer on the way
        at_first_read.append(produced[0])
        head = b""
        while b"\r\n\r\n" not in head:
            head += peer.sock.recv(65536)
        head, got = head.split(b"\r\n\r\n", 1)
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        received = len(got)
        while received < length:  # counted, not kept: 24 MiB in a test server
            received += len(peer.sock.recv(1 << 20))
        peer.send(response(b"%d" % received))

    async def counted() -> AsyncIterator[bytes]:
        async for piece in pieces(total):
            produced[0] += len(piece)
            yield piece

    server = start(slow_reader, "unix")
    async with open_transport(server.url(), timeouts=QUICK) as t:
        request = Request("PUT", "/import", stream=counted(), content_length=total)
        async with t.stream(request) as resp:
            assert await resp.aread() == b"%d" % total
    # While nobody read, only the socket's and the loop's buffers' worth was produced.
    assert at_first_read[0] < 8 * 1024 * 1024, at_first_read


# --- redirects ------------------------------------------------------------------------------


async def test_same_origin_redirect_is_followed_on_request(start: Start) -> None:
    def answer(request: Received) -> bytes:
        if request.target == "/export":
            return response(b"", status="302 Found", headers=(("Location", "/there?t=1"),))
        return response(request.target.encode())

    server = start(serve(answer), "tcp")
    async with open_transport(server.url(), timeouts=QUICK) as t:
        async with t.stream(Request("GET", "/export", follow_redirects=3)) as resp:
            assert (resp.status, await resp.aread()) == (200, b"/there?t=1")
        async with t.stream(Request("GET", "/export")) as resp:  # not asked: not followed
            assert resp.status == 302
    assert server.connections == 1


async def test_cross_origin_redirect_drops_credentials_and_resends_a_file(
    start: Start, tmp_path: Path
) -> None:
    other = start(
        serve(
            lambda r: response(
                b"%s|%s|%d"
                % (
                    (r.header("authorization") or "-").encode(),
                    (r.header("host") or "-").encode(),
                    len(r.body),
                )
            )
        ),
        "tcp",
    )
    target = f"http://127.0.0.1:{other.port}/import?task_id=7"
    first = start(
        serve(lambda r: response(b"", status="302 Found", headers=(("Location", target),)))
    )
    path = tmp_path / "disk.img"
    path.write_bytes(b"d" * 200_000)
    headers = (("Authorization", "Basic cm9vdDp4ZW5yb290"),)
    async with open_transport(first.url(), timeouts=QUICK) as t:
        with path.open("rb") as f:
            request = Request("PUT", "/import", headers, stream=f, follow_redirects=1)
            async with t.stream(request) as resp:
                assert await resp.aread() == b"-|127.0.0.1:%d|200000" % other.port
    assert first.peers[0].requests[0].header("authorization") == headers[0][1]
    assert other.peers[0].requests[0].target == "/import?task_id=7"
    assert await other.wait_client_closed(0), "the redirect's transport was left open"


async def test_redirects_are_bounded(start: Start) -> None:
    loop = start(serve(lambda r: response(b"", status="307 Again", headers=(("Location", "/"),))))
    async with open_transport(loop.url(), timeouts=QUICK) as t:
        with pytest.raises(RemoteProtocolError, match="more than 2 redirects"):
            await t.send(Request("GET", "/", follow_redirects=2))


async def test_a_spent_iterator_cannot_follow_a_redirect(start: Start) -> None:
    server = start(
        serve(lambda r: response(b"", status="302 Found", headers=(("Location", "/b"),)))
    )
    async with open_transport(server.url(), timeouts=QUICK) as t:
        request = Request("PUT", "/a", stream=pieces(10), content_length=10, follow_redirects=1)
        with pytest.raises(LocalProtocolError, match="cannot be resent"):
            await t.send(request)


@pytest.mark.parametrize("length", [True, False])
async def test_an_unbounded_body_passes_max_body_bytes(start: Start, length: bool) -> None:
    big = b"e" * 300_000
    closing = (("Connection", "close"),)
    server = start(serve(lambda r: response(big, length=length, headers=closing)))
    small = Limits(max_body_bytes=100_000)
    async with open_transport(server.url(), timeouts=QUICK, limits=small) as t:
        with pytest.raises(LimitExceeded, match="max_body_bytes"):
            async with t.stream(Request("GET", "/export", closing)) as resp:
                await resp.aread(limit=None)
        async with t.stream(Request("GET", "/export", closing, unbounded_body=True)) as resp:
            assert await resp.aread(limit=None) == big


# --- response bodies over TLS -----------------------------------------------------------
@pytest.mark.parametrize("framing", ["length", "close"])
async def test_a_large_body_over_tls_comes_several_records_a_read(
    start: Start, client_ssl: ssl.SSLContext, framing: str
) -> None:
    big = os.urandom(2_000_000)
    by_length = framing == "length"
    close = () if by_length else (("Connection", "close"),)  # the body ends with the stream
    server = start(serve(lambda r: response(big, headers=close, length=by_length)), "tls")
    request = Request("POST", "/RPC2", close, body=b"x", unbounded_body=True)
    async with RawTransport(server.url(), ssl_context=client_ssl, timeouts=QUICK) as t:
        for _ in range(2 if by_length else 1):  # the second on the kept-alive connection
            async with t.stream(request) as r:
                chunks = [chunk async for chunk in r.aiter_bytes()]
            assert b"".join(chunks) == big
            assert max(map(len, chunks)) > 16384  # more than one TLS record (16 KiB) a read
    assert server.connections == 1


def test_a_large_body_over_tls_on_trio(start: Start, client_ssl: ssl.SSLContext) -> None:
    import trio

    big = os.urandom(1_000_000)
    server = start(serve(lambda r: response(big)), "tls")

    async def main() -> list[bytes]:
        request = Request("POST", "/RPC2", body=b"x", unbounded_body=True)
        async with (
            RawTransport(server.url(), ssl_context=client_ssl, timeouts=QUICK) as t,
            t.stream(request) as r,
        ):
            return [chunk async for chunk in r.aiter_bytes()]

    chunks = trio.run(main)
    assert b"".join(chunks) == big
    assert max(map(len, chunks)) > 16384
