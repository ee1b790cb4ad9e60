"""The raw transport's asyncio fast path: plain sockets ride an ``asyncio.Protocol``.

Which connections take it (TCP, UNIX and TLS on asyncio; never trio), that a large
body streams through a bounded buffer (over TLS, on the buffered protocol), and the
stream's own failure signals.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import ssl
import struct
import weakref
from threading import Thread

import anyio
import pytest
import trio

from aioxend.errors import ConnectError
from aioxend.transport import RawTransport, Request
from aioxend.transport._protocol import (
    _BULK_RECV,
    _HIGH_WATER,
    DeadlinePassed,
    ProtocolStream,
    dial_asyncio,
)
from aioxend.transport._url import parse_url
from tests.transport.conftest import Start
from tests.transport.transport_servers import response, serve


@pytest.mark.parametrize("where", ["tcp", "unix", "tls"])
async def test_sockets_take_the_protocol_path(
    start: Start, client_ssl: ssl.SSLContext, where: str
) -> None:
    server = start(serve(), where)
    async with RawTransport(server.url(), ssl_context=client_ssl) as t:
        for _ in range(3):
            async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
                assert await resp.aread() == b"ok"
        (conn,) = t._idle
        assert isinstance(conn.stream, ProtocolStream)
        assert conn.stream.transport is not None
        tls = conn.stream.transport.get_extra_info("sslcontext") is not None
        assert tls == (where == "tls")
    assert server.connections == 1
    assert server.peers[0].tls == (where == "tls")


async def test_a_certificate_not_trusted_is_a_connect_error_saying_so(start: Start) -> None:
    server = start(serve(), "tls")
    async with RawTransport(server.url()) as t:  # the system's CAs: not the test's
        with pytest.raises(ConnectError, match="TLS certificate verification failed"):
            await t.send(Request("POST", "/RPC2", body=b"x"))


def test_trio_keeps_anyio_streams(start: Start) -> None:
    server = start(serve(), "tcp")

    async def main() -> None:
        async with RawTransport(server.url()) as t:
            async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
                assert await resp.aread() == b"ok"
            (conn,) = t._idle
            assert not isinstance(conn.stream, ProtocolStream)

    trio.run(main)


def _blocking_server(where: str, sock_dir: str, answers: list[bytes]) -> tuple[str, Thread]:
    """A server with no send timeout (a slow reader must not make it give up) sending
    ``answers``, one per request, on one connection."""
    if where == "unix":
        path = f"{sock_dir}/big.sock"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen()
        url = f"httpu://{path}"
    else:
        listener = socket.create_server(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    listener.settimeout(10)

    def run() -> None:
        with listener, listener.accept()[0] as sock:
            sock.settimeout(30)
            for answer in answers:
                request = b""
                while not request.endswith(b"\r\n\r\nx"):
                    request += sock.recv(65536)
                sock.sendall(answer)

    thread = Thread(target=run, daemon=True)
    thread.start()
    return url, thread


def _protocol_stream(resp: object) -> ProtocolStream:
    """The ``ProtocolStream`` a raw transport's open response reads from."""
    conn = resp._conn  # type: ignore[attr-defined]
    assert conn is not None
    assert isinstance(conn.stream, ProtocolStream)
    return conn.stream


@pytest.mark.parametrize("where", ["tcp", "unix"])
async def test_large_body_streams_through_a_bounded_buffer(sock_dir: str, where: str) -> None:
    big = bytes(range(256)) * 20_000  # ~5 MB
    url, thread = _blocking_server(where, sock_dir, [response(big)] * 2)
    async with RawTransport(url) as t:
        async with t.stream(Request("POST", "/", body=b"x")) as resp:
            proto = _protocol_stream(resp)
            paused = False
            received = []
            async for chunk in resp.aiter_bytes():
                received.append(chunk)
                assert len(chunk) <= _HIGH_WATER + _BULK_RECV
                await asyncio.sleep(0.005)  # a slow consumer: the server fills the buffer
                paused = paused or proto._paused
                assert proto._size <= _HIGH_WATER + _BULK_RECV
        assert b"".join(received) == big
        assert paused, "reading was never paused for a slow consumer"
        # Streaming the body did not spoil the connection for the next call.
        async with t.stream(Request("POST", "/", body=b"x")) as resp:
            assert len(await resp.aread()) == len(big)
    thread.join(10)
    assert not thread.is_alive()


async def test_a_large_body_is_read_in_reads_larger_than_asyncios_own(sock_dir: str) -> None:
    # asyncio's selector transport reads 256 KiB at most; a body waiting in the socket
    # is taken up to _BULK_RECV at a time, so fewer reads, wake-ups and parser trips.
    # (TCP: a UNIX socket's buffer holds about 200 KiB, so no read of one is larger.)
    big = bytes(range(256)) * 32_768  # 8 MiB
    url, thread = _blocking_server("tcp", sock_dir, [response(big)])
    reads: list[int] = []
    async with RawTransport(url) as t:
        async with t.stream(Request("POST", "/", body=b"x")) as resp:
            stream = _protocol_stream(resp)
            keep = stream.data_received

            def data_received(data: bytes) -> None:
                reads.append(len(data))
                keep(data)

            stream.data_received = data_received  # type: ignore[method-assign]
            received = bytearray()
            async for chunk in resp.aiter_bytes():
                received += chunk
                await asyncio.sleep(0.002)  # the socket fills up meanwhile
        assert received == big
    thread.join(10)
    assert max(reads) > 262144
    assert max(reads) <= _BULK_RECV


class _SizedTransport(asyncio.Transport):
    """A transport with asyncio's selector ``max_size``, reading nothing itself."""

    max_size = 262144

    def get_extra_info(self, name: str, default: object = None) -> object:
        return default

    def get_protocol(self) -> asyncio.BaseProtocol:
        return asyncio.Protocol()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_reads_grow_while_they_fill_and_shrink_back_when_one_does_not() -> None:
    stream = ProtocolStream(asyncio.get_running_loop())
    transport = _SizedTransport()
    stream.connection_made(transport)
    sizes = []
    for size in (262144, _BULK_RECV, _BULK_RECV, 300_000, 100, 262144):
        stream.data_received(bytes(size))
        sizes.append(transport.max_size)
        await stream.receive()
    assert sizes == [_BULK_RECV, _BULK_RECV, _BULK_RECV, 262144, 262144, _BULK_RECV]


@pytest.mark.parametrize("where", ["tcp", "unix"])
async def test_small_answers_are_read_into_the_shared_buffer_large_ones_are_not(
    sock_dir: str, where: str
) -> None:
    # Small, large, small on one connection: the transport reads for the buffered
    # _SmallReads while answers are small, hands reads to the stream itself once a large
    # body streams, and back at the next request; every byte arrives, in order.
    big = bytes(range(256)) * 4_000  # ~1 MB
    answers = [response(b"small"), response(big), response(b"again")]
    url, server = _blocking_server(where, sock_dir, answers)
    modes = []
    async with RawTransport(url) as t:
        for expected in (b"small", big, b"again"):
            async with t.stream(Request("POST", "/", body=b"x")) as resp:
                conn = resp._conn  # type: ignore[attr-defined]
                assert conn is not None
                assert await resp.aread() == expected
                stream = conn.stream
                assert isinstance(stream, ProtocolStream)
                assert stream.transport is not None
                modes.append(stream.transport.get_protocol() is stream)
    assert modes == [False, True, False]
    server.join(10)
    assert not server.is_alive()


async def test_a_large_body_over_tls_stays_on_the_buffered_protocol(
    start: Start, client_ssl: ssl.SSLContext
) -> None:
    # asyncio's SSLProtocol decrypts into a buffered protocol's buffer; a plain one would
    # get each TLS record as a new 256 KiB bytes, shrunk (page faults), and joined.
    # A bulk read raises the SSLProtocol's read size for the rest of the connection.
    big = bytes(range(256)) * 20_000  # ~5 MB
    server = start(serve(lambda r: response(big if r.target == "/big" else b"small")), "tls")
    modes, sizes = [], []
    async with RawTransport(server.url(), ssl_context=client_ssl) as t:
        for target, expected in (("/", b"small"), ("/big", big), ("/", b"small")):
            async with t.stream(Request("POST", target, body=b"x")) as resp:
                assert await resp.aread() == expected
                stream = _protocol_stream(resp)
                assert stream.transport is not None
                modes.append(stream.transport.get_protocol() is stream)
                sizes.append(stream._tls.max_size)
    assert modes == [False, False, False]
    assert sizes == [262144, _BULK_RECV, _BULK_RECV]
    assert server.connections == 1


@pytest.mark.parametrize("where", ["tcp", "tls"])
async def test_a_closed_connection_is_freed_without_the_garbage_collector(
    start: Start, client_ssl: ssl.SSLContext, where: str
) -> None:
    # Over TLS the SSLProtocol keeps the protocol's bound methods after the end: the
    # protocol lets go of the stream then, so no cycle keeps its buffers (1 MiB each).
    big = bytes(range(256)) * 4_000  # ~1 MB: the bulk path, and TLS's larger reads
    server = start(serve(lambda r: response(big)), where)
    gc.disable()
    try:
        async with RawTransport(server.url(), ssl_context=client_ssl) as t:
            async with t.stream(Request("POST", "/", body=b"x")) as resp:
                assert await resp.aread() == big
                stream = weakref.ref(_protocol_stream(resp))
            del resp
        for _ in range(5):  # connection_lost comes on the loop's next passes
            await asyncio.sleep(0)
        assert stream() is None
    finally:
        gc.enable()


async def test_stream_signals(start: Start) -> None:
    server = start(serve(), "tcp")
    stream = await dial_asyncio(parse_url(server.url()))
    try:
        await stream.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
        data = b""
        while not data.endswith(b"ok"):
            data += await stream.receive()
        assert data.startswith(b"HTTP/1.1 200")
        assert stream.reusable()
        await stream.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while chunk := await stream.receive():
            data += chunk
        assert not stream.reusable()  # at end of stream
        assert await stream.receive() == b""
    finally:
        await stream.aclose()
    with pytest.raises(anyio.ClosedResourceError):
        await stream.receive()
    with pytest.raises(anyio.ClosedResourceError):
        await stream.send(b"x")
    assert stream.sock.fileno() == -1  # the socket is shut once aclose returns


async def _read_to_end(stream: ProtocolStream) -> None:
    while await stream.receive():
        pass


async def test_reset_by_peer_is_an_os_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stream = await dial_asyncio(parse_url(f"http://127.0.0.1:{port}/"))
    try:
        peer, _ = listener.accept()
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()  # linger 0: a reset, not a clean end
        with pytest.raises(ConnectionResetError):
            await _read_to_end(stream)
        assert not stream.reusable()
    finally:
        await stream.aclose()
        listener.close()


async def test_connect_failures_say_where_and_why(sock_dir: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError, match=rf"127\.0\.0\.1:{port}.*connection refused"):
        await dial_asyncio(parse_url(f"http://127.0.0.1:{port}/"))
    with pytest.raises(ConnectError, match=r"absent\.sock.*no such socket"):
        await dial_asyncio(parse_url(f"httpu://{sock_dir}/absent.sock"))
    with pytest.raises(ConnectError, match="cannot resolve host"):
        await dial_asyncio(parse_url("http://no-such-host.invalid:8006/"))


async def _stream_pair() -> tuple[ProtocolStream, socket.socket]:
    """A ``ProtocolStream`` on one end of a socket pair, and the other end (blocking)."""
    ours, theirs = socket.socketpair()
    loop = asyncio.get_running_loop()
    stream = ProtocolStream(loop)
    await loop.create_connection(lambda: stream, sock=ours)
    return stream, theirs


async def test_deadlines_fire_on_time_whatever_was_armed_before() -> None:
    stream, peer = await _stream_pair()
    loop = asyncio.get_running_loop()
    try:
        # A long deadline arms the timer far ahead; a shorter one after it must re-arm.
        loop.call_later(0.01, peer.send, b"a")
        assert await stream.receive(until=loop.time() + 30) == b"a"
        started = loop.time()
        with pytest.raises(DeadlinePassed):
            await stream.receive(until=started + 0.05)
        assert 0.04 <= loop.time() - started < 5
        # A short deadline's timer, left armed after its wait ended, fires during a
        # later wait with a longer deadline: that wait goes on.
        peer.send(b"b")
        assert await stream.receive(until=loop.time() + 0.05) == b"b"
        loop.call_later(0.2, peer.send, b"c")
        assert await stream.receive(until=loop.time() + 5) == b"c"
        # Bytes already received come back at once, even past the deadline given.
        loop.call_later(0.01, peer.send, b"d")
        await asyncio.sleep(0.05)
        assert await stream.receive(until=loop.time()) == b"d"
    finally:
        await stream.aclose()
        peer.close()
    assert stream._timer is None  # closing leaves no timer holding the stream


async def test_a_wait_without_deadline_ignores_an_armed_timer() -> None:
    stream, peer = await _stream_pair()
    loop = asyncio.get_running_loop()
    try:
        peer.send(b"a")
        assert await stream.receive(until=loop.time() + 0.02) == b"a"
        loop.call_later(0.1, peer.send, b"b")
        assert await stream.receive() == b"b"  # the 0.02 s timer fired meanwhile
    finally:
        await stream.aclose()
        peer.close()


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_full_unix_backlog_delays_connects_and_never_fails_writes(
    sock_dir: str, backend: str
) -> None:
    """Connects beyond a UNIX listener's backlog get EAGAIN: nothing connected yet.

    asyncio's sock_connect took that for a connect in progress and the first write
    failed with ENOTCONN (the WriteErrors seen at concurrency 128); now every call
    waits for its turn and gets its answer.
    """
    path = f"{sock_dir}/backlog.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def serve_later() -> None:
        import time

        time.sleep(0.3)  # long enough for the backlog to fill
        listener.settimeout(5)
        for _ in range(8):
            conn, _ = listener.accept()
            Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn: socket.socket) -> None:
        with conn:
            data = b""
            while not data.endswith(b"\r\n\r\nx"):
                data += conn.recv(65536)
            conn.sendall(response(b"ok"))

    async def main() -> list[bytes]:
        async with RawTransport(f"httpu://{path}") as t:

            async def one() -> bytes:
                async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
                    return await resp.aread()

            results: list[bytes] = []

            async def into() -> None:
                results.append(await one())

            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(into)
            return results

    thread = Thread(target=serve_later, daemon=True)
    thread.start()
    try:
        assert anyio.run(main, backend=backend) == [b"ok"] * 8
    finally:
        thread.join(10)
        listener.close()
