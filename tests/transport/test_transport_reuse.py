"""What the transports compute once and reuse: every call still gets its own target,
timeouts and a fresh parse, however calls interleave."""

from __future__ import annotations

import anyio

from aioxend.errors import ReadTimeout
from aioxend.transport import Request, Timeouts, Transport, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, response, serve


def make(url: str, **kwargs: object) -> Transport:
    return open_transport(url, **kwargs)  # type: ignore[arg-type]


async def test_each_target_reaches_the_server_as_given(start: Start) -> None:
    server = start(serve(lambda r: response(r.target.encode())), "unix")
    targets = ["/RPC2", "/xend/domain/a?op=pause", "/xend/node/", "/RPC2?x=%20"]
    async with make(server.url()) as t:
        for target in targets * 3:
            async with t.stream(Request("GET", target)) as resp:
                assert await resp.aread() == target.encode()


async def test_per_call_timeouts_differ_between_interleaved_calls(start: Start) -> None:
    def handler(peer: Peer) -> None:
        while (request := peer.read_request()) is not None:
            if request.target == "/slow":
                peer.stall()
                return
            if not peer.send(response(b"ok")):
                return

    server = start(handler, "unix")
    short, long = Timeouts(read=0.2), Timeouts(read=30)
    async with make(server.url()) as t:
        done: list[str] = []

        async def fast() -> None:
            for _ in range(20):
                async with t.stream(Request("GET", "/fast", timeouts=long)) as resp:
                    assert await resp.aread() == b"ok"
            done.append("fast")

        async def slow() -> None:
            try:
                async with t.stream(Request("GET", "/slow", timeouts=short)) as resp:
                    await resp.aread()
            except ReadTimeout:
                done.append("timed out")

        async with anyio.create_task_group() as tg:
            tg.start_soon(fast)
            tg.start_soon(slow)
    assert sorted(done) == ["fast", "timed out"]


async def test_request_too_big_for_one_write_then_small_ones(start: Start) -> None:
    from aioxend.transport import RawTransport

    big = b"B" * 8_000_000
    server = start(serve(lambda r: response(b"%d" % len(r.body))), "unix")
    async with RawTransport(server.url()) as t:
        seen = []
        for body in (b"small", big, b"small"):
            async with t.stream(Request("POST", "/", body=body)) as resp:
                assert await resp.aread() == b"%d" % len(body)
            assert len(t._idle) == 1
            seen.append(t._idle[0].stream)
    # One connection carried all three, whatever the size of each write.
    assert seen[0] is seen[1] is seen[2]
    assert server.connections == 1
