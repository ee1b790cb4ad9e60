"""1,000 calls of every kind (kept alive, closed, broken, unread, cancelled) leak no fd."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import anyio
import pytest
import trio

from aioxend.errors import RemoteProtocolError
from aioxend.transport import Request, Timeouts, Transport, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, response

CALLS = 1000


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_gc() -> Iterator[None]:
    """Without the cycle collector a socket that was only dropped, never closed, stays open."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def mixed(peer: Peer) -> None:
    """Answers by what the body asks for."""
    while (request := peer.read_request()) is not None:
        ask = request.body
        if ask == b"close":
            peer.send(response(b"bye", headers=(("Connection", "close"),)))
            return
        if ask == b"garbage":
            peer.send(b"\x00\x01 not http\r\n\r\n")
            return
        if ask == b"stall":
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\npart")
            peer.stall()
            return
        if not peer.send(response(b"B" * 300_000 if ask == b"big" else b"ok")):
            return


def plan(i: int) -> bytes:
    if i % 10 == 0:
        return b"close"
    if i % 50 == 1:
        return b"garbage"
    if i % 100 == 2:
        return b"big"
    if i % 100 == 3:
        return b"stall"
    return b"ok"


async def one(t: Transport, ask: bytes) -> None:
    if ask == b"garbage":
        with pytest.raises(RemoteProtocolError):
            await t.send(Request("POST", "/RPC2", body=ask))
        return
    if ask == b"stall":
        with anyio.move_on_after(0.02):
            async with t.stream(Request("POST", "/RPC2", body=ask)) as resp:
                await resp.aread()
        return
    async with t.stream(Request("POST", "/RPC2", body=ask)) as resp:
        assert resp.status == 200
        if ask != b"big":  # a big body is left unread: its connection must be closed
            assert await resp.aread() in (b"ok", b"bye")


async def many_calls(url: str) -> None:
    async with open_transport(url, timeouts=Timeouts(read=5)) as t:
        for i in range(CALLS):
            await one(t, plan(i))
    for _ in range(5):  # let asyncio run the transports' deferred closes
        await anyio.sleep(0.01)


@pytest.mark.parametrize("where", ["tcp", "unix"])
async def test_no_fd_leak_on_asyncio(start: Start, where: str) -> None:
    server = start(mixed, where)
    await many_calls(server.url())  # warm up: imports, the TLS and loop's own fds
    server.settle()
    before = open_fds()
    await many_calls(server.url())
    server.settle()
    assert open_fds() == before
    assert server.connections > 2 * CALLS // 10  # the close/garbage/stall ones, both rounds


def test_no_fd_leak_on_trio(start: Start) -> None:
    server = start(mixed, "unix")
    trio.run(many_calls, server.url())
    server.settle()
    before = open_fds()
    trio.run(many_calls, server.url())
    server.settle()
    assert open_fds() == before
