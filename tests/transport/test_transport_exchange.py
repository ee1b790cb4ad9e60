"""Successful exchanges over every connector and body framing, on both transports."""

from __future__ import annotations

import ssl
import sys

import anyio
import pytest

from aioxend.transport import Request, Transport, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, Received, echo_head, response, serve


def make(url: str, **kwargs: object) -> Transport:
    return open_transport(url, **kwargs)  # type: ignore[arg-type]


async def call(
    transport: Transport,
    body: bytes = b"<x/>",
    *,
    method: str = "POST",
    target: str = "/RPC2",
    headers: tuple[tuple[str, str], ...] = (),
) -> tuple[int, bytes]:
    async with transport.stream(Request(method, target, headers, body)) as resp:
        return resp.status, await resp.aread()


def sent_head(body: bytes) -> list[str]:
    """The request lines an echo server sent back."""
    return body.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")


@pytest.mark.parametrize("where", ["tcp", "unix", "tls"])
async def test_every_connector_round_trips(
    where: str, start: Start, client_ssl: ssl.SSLContext
) -> None:
    server = start(serve(echo_head), where)
    async with make(server.url(), ssl_context=client_ssl) as t:
        status, body = await call(t, b"<methodCall/>", headers=(("Content-Type", "text/xml"),))
    assert status == 200
    assert body.endswith(b"<methodCall/>")
    lines = sent_head(body)
    assert lines[0] == "POST /RPC2 HTTP/1.1"
    host = "localhost" if where == "unix" else f"127.0.0.1:{server.port}"
    assert sorted(lines[1:]) == sorted(
        [f"Host: {host}", "Content-Type: text/xml", f"Content-Length: {len(b'<methodCall/>')}"]
    )
    if where == "tls":
        assert server.peers[0].tls


async def test_headers_sent_are_exactly_the_callers_plus_host_and_length(start: Start) -> None:
    server = start(serve(echo_head), "unix")
    async with make(server.url()) as t:
        _, body = await call(t, b"op=list", headers=(("X-A", "1"), ("X-A", "2")))
        _, get = await call(t, b"", method="GET", target="/xend/node/?op=x")
        _, empty_post = await call(t, b"")
        _, given_host = await call(t, b"", headers=(("Host", "localhost:8000"),))
    # No Content-Type unless given, no User-Agent or Accept (they make xend answer HTML).
    assert sorted(sent_head(body)[1:]) == sorted(
        ["Host: localhost", "X-A: 1", "X-A: 2", "Content-Length: 7"]
    )
    assert sent_head(get) == ["GET /xend/node/?op=x HTTP/1.1", "Host: localhost"]
    assert sorted(sent_head(empty_post)[1:]) == ["Content-Length: 0", "Host: localhost"]
    assert [h for h in sent_head(given_host) if h.lower().startswith("host")] == [
        "Host: localhost:8000"
    ]


async def test_put_and_large_body(start: Start) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB
    server = start(serve(lambda r: response(r.method.encode() + r.body)), "tcp")
    async with make(server.url()) as t:
        status, body = await call(t, big, method="PUT")
    assert status == 200
    assert body == b"PUT" + big


def chunked(request: Received) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "body", "reused"),
    [
        (lambda r: response(b"hello world"), b"hello world", True),
        (chunked, b"hello world", True),
        (lambda r: response(b"", status="204 No Content", length=False), b"", True),
        (lambda r: response(b"hello world", version="HTTP/1.0"), b"hello world", False),
        (
            lambda r: response(
                b"hello world", version="HTTP/1.0", headers=(("Connection", "keep-alive"),)
            ),
            b"hello world",
            False,  # HTTP/1.0 is never kept alive, whatever it says: the safe choice
        ),
        (
            lambda r: response(b"hello world", headers=(("Connection", "close"),)),
            b"hello world",
            False,
        ),
    ],
    ids=["content-length", "chunked", "204", "http1.0", "http1.0-keepalive", "conn-close"],
)
async def test_body_framings_and_reuse(
    start: Start, answer: object, body: bytes, reused: bool
) -> None:
    server = start(serve(answer), "tcp")  # type: ignore[arg-type]
    async with make(server.url()) as t:
        for _ in range(3):
            assert await call(t) == (200 if body else 204, body)
    assert server.connections == (1 if reused else 3)


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
async def test_read_to_close_body(start: Start, version: str) -> None:
    payload = b"x" * 100_000

    def handler(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(f"{version} 200 OK\r\nConnection: close\r\n\r\n".encode() + payload)

    server = start(handler, "unix")
    async with make(server.url()) as t:
        for _ in range(2):
            async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
                assert resp.http_version == version[5:]
                chunks = [c async for c in resp.aiter_bytes()]
            assert b"".join(chunks) == payload
    assert server.connections == 2


async def test_body_streams_in_chunks_as_it_arrives(start: Start) -> None:
    import threading

    go = threading.Event()

    def handler(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nfirst")
            go.wait(5)
            peer.send(b"-last")

    server = start(handler, "tcp")
    async with make(server.url()) as t, t.stream(Request("POST", "/", body=b"x")) as resp:
        assert resp.status == 200
        assert resp.header("Content-Length") == "10"
        chunks = resp.aiter_bytes()
        assert await chunks.__anext__() == b"first"  # before the rest was even sent
        go.set()
        assert await chunks.__anext__() == b"-last"
        with pytest.raises(StopAsyncIteration):
            await chunks.__anext__()
        with pytest.raises(RuntimeError, match="once"):
            resp.aiter_bytes()


async def test_keepalive_reuse_and_pool_bound(start: Start) -> None:
    from aioxend.transport import Limits

    big = b"b" * 4_000_000
    server = start(serve(lambda r: response(big if r.body == b"big" else b"ok")), "unix")
    async with make(server.url(), limits=Limits(max_connections=2)) as t:
        for _ in range(20):
            assert await call(t) == (200, b"ok")
        assert server.connections == 1
        # Two responses held open at once need two connections, and no more.
        r1 = await t.send(Request("POST", "/", body=b"big"))
        r2 = await t.send(Request("POST", "/", body=b"big"))
        assert (await r1.aread(), await r2.aread()) == (big, big)
        await r1.aclose()
        await r2.aclose()
        for _ in range(5):
            await call(t)
    assert server.connections == 2


async def test_unread_response_closes_its_connection(start: Start) -> None:
    server = start(serve(lambda r: response(b"y" * 1_000_000)), "tcp")
    async with make(server.url()) as t:
        async with t.stream(Request("POST", "/", body=b"x")) as resp:
            assert resp.status == 200  # body left unread
        assert await server.wait_client_closed(0)
        assert await call(t) == (200, b"y" * 1_000_000)
    assert server.connections == 2


async def test_empty_body_closed_unread_keeps_connection(start: Start) -> None:
    server = start(serve(lambda r: response(b"")), "tcp")
    async with make(server.url()) as t:
        for _ in range(3):
            async with t.stream(Request("POST", "/", body=b"x")) as resp:
                assert resp.status == 200
    assert server.connections == 1


async def test_head_request_has_no_body(start: Start) -> None:
    def head_answer(r: Received) -> bytes:
        body = b"" if r.method == "HEAD" else b"1234567"
        return b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n" + body

    server = start(serve(head_answer), "tcp")
    async with make(server.url()) as t:
        assert await call(t, b"", method="HEAD") == (200, b"")
        assert await call(t, b"", method="GET") == (200, b"1234567")
    assert server.connections == 1


async def test_informational_response_is_skipped(start: Start) -> None:
    server = start(serve(lambda r: b"HTTP/1.1 100 Continue\r\n\r\n" + response(b"done")), "tcp")
    async with make(server.url()) as t:
        assert await call(t) == (200, b"done")


async def test_tls_verify_false_and_custom_context(start: Start) -> None:
    server = start(serve(), "tls")
    async with make(server.url(), verify=False) as t:
        assert await call(t) == (200, b"ok")


async def test_ssh_through_local_relay(start: Start) -> None:
    server = start(serve(echo_head), "unix")
    assert server.unix_path is not None
    relay = [sys.executable, "-m", "aioxend.transport._relay", server.unix_path]
    async with open_transport("ssh://root@xen1", ssh_command=relay) as t:
        for i in range(3):
            status, body = await call(t, b"<call %d/>" % i)
            assert status == 200
            assert body.endswith(b"<call %d/>" % i)
        assert sent_head(body)[1] == "Host: localhost"
    assert server.connections == 1  # one relay process, kept alive
    assert await server.wait_client_closed(0)


async def test_keepalive_expiry(start: Start) -> None:
    from aioxend.transport import Limits

    server = start(serve(), "tcp")
    async with make(server.url(), limits=Limits(keepalive_expiry=0.05)) as t:
        await call(t)
        await call(t)
        assert server.connections == 1
        await anyio.sleep(0.2)
        await call(t)
        assert await server.wait_client_closed(0)
    assert server.connections == 2


async def test_max_keepalive_zero_never_keeps(start: Start) -> None:
    from aioxend.transport import Limits

    server = start(serve(), "tcp")
    async with make(server.url(), limits=Limits(max_keepalive=0)) as t:
        for _ in range(3):
            await call(t)
    assert server.connections == 3
