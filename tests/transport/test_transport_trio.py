"""The raw transport under trio: the same exchanges, failures and cancellation as on asyncio.

Each test is a plain function that runs its body with ``trio.run``, so nothing of
asyncio is involved; the servers are threads and care for no event loop.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Awaitable, Callable

import pytest
import trio

from aioxend.errors import ConnectError, PoolTimeout, ReadError, ReadTimeout, WriteTimeout
from aioxend.transport import Limits, RawTransport, Request, Timeouts, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, Received, echo_head, first_then, response, serve

QUICK = Timeouts(connect=0.3, read=0.3, write=0.3, pool=0.3)


def run(main: Callable[[], Awaitable[None]]) -> None:
    trio.run(main)


async def call(t: RawTransport, body: bytes = b"<x/>") -> tuple[int, bytes]:
    async with t.stream(Request("POST", "/RPC2", [("Content-Type", "text/xml")], body)) as r:
        return r.status, await r.aread()


def chunked(request: Received) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"


@pytest.mark.parametrize("where", ["tcp", "unix", "tls"])
def test_round_trips_and_reuse(start: Start, client_ssl: ssl.SSLContext, where: str) -> None:
    server = start(serve(echo_head), where)

    async def main() -> None:
        async with RawTransport(server.url(), ssl_context=client_ssl) as t:
            for i in range(5):
                status, body = await call(t, b"<n>%d</n>" % i)
                assert status == 200
                assert body.endswith(b"<n>%d</n>" % i)
            assert b"Content-Type: text/xml" in body

    run(main)
    assert server.connections == 1


def test_framings(start: Start) -> None:
    def answer(request: Received) -> bytes:
        if request.body == b"chunked":
            return chunked(request)
        return response(b"ten bytes!", version="HTTP/1.0")

    server = start(serve(answer), "tcp")

    async def main() -> None:
        async with RawTransport(server.url()) as t:
            assert await call(t, b"chunked") == (200, b"abc")
            assert await call(t, b"1.0") == (200, b"ten bytes!")
            assert await call(t, b"chunked") == (200, b"abc")

    run(main)
    assert server.connections == 2  # HTTP/1.0 closes its connection


def test_failures_timeouts_and_cancellation(start: Start, sock_dir: str) -> None:
    def stall_headers(peer: Peer) -> None:
        peer.read_request()
        peer.stall()

    def stall_body(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart")
            peer.stall()

    def close_early(peer: Peer) -> None:
        peer.read_request()

    server = start(
        first_then(stall_headers, stall_body, stall_body, close_early, rest=serve()), "unix"
    )

    async def main() -> None:
        async with RawTransport(server.url(), timeouts=QUICK) as t:
            with pytest.raises(ReadTimeout):
                await call(t)
            with pytest.raises(ReadTimeout):
                await call(t)
            async with t.stream(Request("POST", "/", body=b"x")) as resp:
                chunks = resp.aiter_bytes()
                assert await chunks.__anext__() == b"part"
                with trio.move_on_after(0.2) as scope:
                    await chunks.__anext__()
            assert scope.cancelled_caught
            assert await server.wait_client_closed(2)
            with pytest.raises(ReadError):
                await call(t)
            assert await call(t) == (200, b"ok")
        async with RawTransport(f"httpu://{sock_dir}/none.sock") as t:
            with pytest.raises(ConnectError, match=r"none\.sock"):
                await call(t)

    run(main)


def test_idle_connection_closed_by_server_is_replaced(start: Start) -> None:
    def once(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(response(b"ok"))  # keep-alive implied, then closed at once

    server = start(once, "tcp")

    async def main() -> None:
        async with RawTransport(server.url()) as t:
            for _ in range(3):
                assert await call(t) == (200, b"ok")
                await trio.sleep(0.05)

    run(main)
    assert server.connections == 3


def test_pool_bound(start: Start) -> None:
    server = start(serve(), "tcp")

    async def main() -> None:
        limits = Limits(max_connections=1)
        async with RawTransport(server.url(), limits=limits, timeouts=QUICK) as t:
            held = await t.send(Request("POST", "/", body=b"x"))
            with pytest.raises(PoolTimeout):
                await call(t)
            await held.aclose()
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(call, t)

    run(main)
    assert server.connections == 1


def test_ssh_relay(start: Start) -> None:
    server = start(serve(echo_head), "unix")
    assert server.unix_path is not None
    relay = [sys.executable, "-m", "aioxend.transport._relay", server.unix_path]

    async def main() -> None:
        async with open_transport("ssh://xen1", ssh_command=relay) as t:
            assert isinstance(t, RawTransport)
            for _ in range(2):
                assert (await call(t))[0] == 200

    run(main)
    assert server.connections == 1


def test_write_timeout(start: Start) -> None:
    # On trio every wait runs in its own cancel scope; a peer that never reads stalls
    # the send of a large body until the write budget runs out.
    def stall_unread(peer: Peer) -> None:
        peer.stall_without_reading()

    server = start(stall_unread, "unix")

    async def main() -> None:
        async with RawTransport(server.url(), timeouts=QUICK) as t:
            started = trio.current_time()
            with pytest.raises(WriteTimeout, match="sending the request"):
                await call(t, b"w" * 32_000_000)
            assert trio.current_time() - started < 5

    run(main)
