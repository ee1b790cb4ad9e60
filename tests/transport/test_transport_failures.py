"""Every way an exchange can fail maps to our tree; cancellation and timeouts leave the
pool healthy, shown by a successful call on the same transport afterwards."""

from __future__ import annotations

import errno
import os
import socket
import ssl
import time

import anyio
import pytest

from aioxend.errors import (
    ConnectError,
    ConnectTimeout,
    LimitExceeded,
    LocalProtocolError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WriteTimeout,
    XendError,
)
from aioxend.transport import Limits, Request, Timeouts, Transport, open_transport
from aioxend.transport._connect import reason_of
from tests.transport.conftest import Start
from tests.transport.transport_servers import (
    Handler,
    Peer,
    Received,
    Server,
    first_then,
    response,
    serve,
)

QUICK = Timeouts(connect=0.3, read=0.3, write=0.3, pool=0.3)


def make(url: str, **kwargs: object) -> Transport:
    return open_transport(url, **kwargs)  # type: ignore[arg-type]


async def call(t: Transport, body: bytes = b"<x/>", **kwargs: object) -> tuple[int, bytes]:
    async with t.stream(Request("POST", "/RPC2", body=body, **kwargs)) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.aread()


# Connecting ---------------------------------------------------------------------------


async def test_missing_unix_socket_says_where_and_why(sock_dir: str) -> None:
    path = f"{sock_dir}/nothing.sock"
    async with make(f"httpu://{path}") as t:
        with pytest.raises(ConnectError, match="no such socket") as info:
            await call(t)
    assert path in str(info.value)
    assert isinstance(info.value, ConnectionError)


async def test_refused_unix_socket(sock_dir: str) -> None:
    path = f"{sock_dir}/dead.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)  # a socket file nobody listens on, as after xend died
    async with make(f"httpu://{path}") as t:
        with pytest.raises(ConnectError, match=f"{path}.*refused"):
            await call(t)


async def test_refused_tcp() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with make(f"http://127.0.0.1:{port}/") as t:
        with pytest.raises(ConnectError, match=f"127.0.0.1:{port}.*refused"):
            await call(t)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
async def test_permission_denied(start: Start) -> None:
    server = start(serve(), "unix")
    assert server.unix_path is not None
    os.chmod(server.unix_path, 0)
    async with make(server.url()) as t:
        with pytest.raises(ConnectError, match="permission denied"):
            await call(t)


def test_errno_reasons() -> None:
    assert "permission denied" in reason_of(PermissionError(errno.EACCES, "Permission denied"))
    assert "is xend running" in reason_of(FileNotFoundError(errno.ENOENT, "x"))
    wrapped = OSError("All connection attempts failed")
    wrapped.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    assert "refused" in reason_of(wrapped)


async def test_untrusted_certificate(start: Start) -> None:
    server = start(serve(), "tls")
    async with make(server.url()) as t:  # system CAs do not know the test CA
        with pytest.raises(ConnectError, match="certificate verif"):
            await call(t)


# Bad answers --------------------------------------------------------------------------


def answer_once(data: bytes, *, then_close: bool = True) -> Handler:
    def handler(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(data)
            if not then_close:
                peer.stall()

    return handler


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"NOT HTTP AT ALL\r\n\r\n", RemoteProtocolError),
        (b"HTTP/1.1 abc OK\r\n\r\n", RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", RemoteProtocolError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", RemoteProtocolError),
        (b"", ReadError),
        (b"HTTP/1.1 200 OK\r\nContent-Le", ReadError),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..", ReadError),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", ReadError),
    ],
    ids=[
        "garbage",
        "bad-status",
        "bad-length",
        "bad-chunk",
        "closed",
        "cut-head",
        "cut-body",
        "cut-chunk",
    ],
)
async def test_bad_answers(start: Start, data: bytes, error: type[Exception]) -> None:
    server = start(answer_once(data, then_close=error is ReadError), "tcp")
    async with make(server.url(), timeouts=QUICK) as t:
        with pytest.raises(XendError) as info:
            await call(t)
    assert isinstance(info.value, error), repr(info.value)


async def test_oversize_header(start: Start) -> None:
    huge = response(b"ok", headers=(("X-Big", "a" * 100_000),))
    server = start(serve(lambda r: huge), "tcp")
    async with make(server.url()) as t:
        with pytest.raises(LimitExceeded) as info:
            await call(t)
    assert info.value.limit == "max_header_bytes"


async def test_many_headers_over_the_limit(start: Start) -> None:
    many = tuple((f"X-H{i}", "v" * 60) for i in range(100))
    server = start(serve(lambda r: response(b"ok", headers=many)), "tcp")
    async with make(server.url(), limits=Limits(max_header_bytes=4096)) as t:
        with pytest.raises(LimitExceeded, match="max_header_bytes"):
            await call(t)


async def test_body_over_the_limit(start: Start) -> None:
    def answer(request: Received) -> bytes:
        if request.body == b"small":
            return response(b"small")
        if request.body == b"chunked":
            return (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (b"400\r\n" + b"c" * 1024 + b"\r\n") * 5
                + b"0\r\n\r\n"
            )
        return response(b"L" * 5000)

    server = start(serve(answer), "tcp")
    async with make(server.url(), limits=Limits(max_body_bytes=2000)) as t:
        with pytest.raises(LimitExceeded, match="max_body_bytes"):
            await call(t)  # refused from its Content-Length, before reading it
        with pytest.raises(LimitExceeded, match="max_body_bytes"):
            await call(t, b"chunked")  # refused while streaming
        # Bodies within the limit still work afterwards.
        assert await call(t, b"small") == (200, b"small")


async def test_early_answer_while_still_sending(start: Start) -> None:
    # xend's SXP server answers 413 to a large body and drops the connection.
    def handler(peer: Peer) -> None:
        while b"\r\n\r\n" not in peer.buffer:
            peer.buffer += peer.sock.recv(65536)
        peer.send(response(b"too big", status="413 Request entity too large"))
        peer.sock.shutdown(socket.SHUT_RDWR)

    server = start(handler, "unix")
    async with make(server.url()) as t:
        assert await call(t, b"z" * 8_000_000) == (413, b"too big")


# Misuse -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        Request("POST", "/RPC2", [("Bad Name", "x")]),
        Request("POST", "/RPC2", [("X", "a\r\nInjected: 1")]),
        Request("POST", "/RPC2", [("X", "é€")]),
        Request("POST", "/RPC2", [("Transfer-Encoding", "chunked")], b"x"),
        Request("POST", "/RPC2", [("Content-Length", "5")], b"x"),
        Request("PO ST", "/RPC2"),
        Request("POST", "/a b"),
        Request("POST", ""),
    ],
)
async def test_unsendable_requests_are_refused_before_sending(
    start: Start, request_: Request
) -> None:
    server = start(serve(), "tcp")
    async with make(server.url()) as t:
        with pytest.raises(LocalProtocolError):
            await t.send(request_)
        assert await call(t) == (200, b"ok")
    assert all(len(p.requests) == 1 for p in server.peers)


async def test_send_after_close_is_a_runtime_error(start: Start) -> None:
    server = start(serve(), "tcp")
    t = make(server.url())
    await call(t)
    await t.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await call(t)


# Timeouts -----------------------------------------------------------------------------


def stall_headers(peer: Peer) -> None:
    peer.read_request()
    peer.stall()


def stall_mid_body(peer: Peer) -> None:
    if peer.read_request() is not None:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart")
        peer.stall()


def stall_unread(peer: Peer) -> None:
    peer.stall_without_reading()


def drip(peer: Peer) -> None:
    if peer.read_request() is not None:
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        for _ in range(100):
            if not peer.send(b"d"):
                return
            time.sleep(0.02)


async def test_read_timeouts(start: Start) -> None:
    server = start(first_then(stall_headers, stall_mid_body, rest=serve()), "tcp")
    async with make(server.url(), timeouts=QUICK) as t:
        with pytest.raises(ReadTimeout) as info:
            await call(t)
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(ReadTimeout):
            await call(t)


async def test_connect_timeout_in_tls_handshake(start: Start) -> None:
    server = start(stall_unread, "tls")
    async with make(server.url(), timeouts=QUICK, verify=False) as t:
        with pytest.raises(ConnectTimeout):
            await call(t)


async def test_write_timeout(start: Start) -> None:
    server = start(stall_unread, "unix")
    async with make(server.url(), timeouts=QUICK) as t:
        with pytest.raises(WriteTimeout):
            await call(t, b"w" * 32_000_000)


async def test_total_timeout_and_per_request_override(start: Start) -> None:
    server = start(drip, "tcp")
    slow = Timeouts(read=30, total=30)
    async with make(server.url(), timeouts=slow) as t:
        with pytest.raises(ReadTimeout):
            await call(t, timeouts=Timeouts(read=1, total=0.3))
        with pytest.raises(ReadTimeout):
            await call(t, timeouts=Timeouts(read=0.01))


async def test_pool_timeout(start: Start) -> None:
    server = start(serve(), "tcp")
    async with make(server.url(), limits=Limits(max_connections=1), timeouts=QUICK) as t:
        held = await t.send(Request("POST", "/", body=b"x"))
        with pytest.raises(PoolTimeout):
            await call(t)
        await held.aclose()
        assert await call(t) == (200, b"ok")


# Cancellation -------------------------------------------------------------------------


PHASES: dict[str, tuple[str, Handler, bytes]] = {
    "connecting": ("tls", stall_unread, b"x"),
    "writing": ("unix", stall_unread, b"w" * 32_000_000),
    "reading-headers": ("tcp", stall_headers, b"x"),
    "mid-body": ("tcp", stall_mid_body, b"x"),
}


async def cancel_once_stalled(t: Transport, server: Server, body: bytes) -> None:
    """Start a call, and cancel it once the server has stalled it in the phase under test."""
    finished = False

    async def victim() -> None:
        nonlocal finished
        async with t.stream(Request("POST", "/RPC2", body=body)) as resp:
            async for _ in resp.aiter_bytes():
                pass
        finished = True

    async with anyio.create_task_group() as tg:
        tg.start_soon(victim)
        await server.wait_reached()
        await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert not finished


@pytest.mark.parametrize("phase", sorted(PHASES))
async def test_cancellation_at_each_phase(start: Start, phase: str) -> None:
    where, stall, body = PHASES[phase]
    server = start(first_then(stall, rest=serve()), where)
    async with make(server.url(), verify=where != "tls") as t:
        await cancel_once_stalled(t, server, body)
        assert await server.wait_client_closed(0), "the stalled connection was not closed"
        assert await call(t) == (200, b"ok")
        assert await call(t) == (200, b"ok")
    assert server.connections == 2


# Dead kept-alive connections ----------------------------------------------------------


async def test_idle_connection_closed_by_server_is_replaced(start: Start) -> None:
    def handler(peer: Peer) -> None:
        if (request := peer.read_request()) is not None:
            peer.send(response(b"ok"))
            del request  # keep-alive promised, then closed at once (an idle timeout)

    server = start(handler, "tcp")
    async with make(server.url()) as t:
        for _ in range(3):
            assert await call(t) == (200, b"ok")
            await anyio.sleep(0.05)
    assert server.connections == 3


def dies_on_second_request(peer: Peer) -> None:
    if peer.read_request() is not None:
        peer.send(response(b"ok"))
        peer.read_request()  # the request arrives as the server gives up on the connection


@pytest.mark.parametrize("retry_safe", [False, True])
async def test_dead_keepalive_retried_only_when_allowed(start: Start, retry_safe: bool) -> None:
    server = start(dies_on_second_request, "tcp")
    async with make(server.url()) as t:
        assert await call(t) == (200, b"ok")
        if retry_safe:
            assert await call(t, retry_safe=True) == (200, b"ok")
            assert server.connections == 2
        else:
            with pytest.raises(ReadError):
                await call(t)
            assert server.connections == 1
            assert len(server.peers[0].requests) == 2


async def test_errors_leave_transport_usable(start: Start) -> None:
    bad = [answer_once(b"garbage\r\n\r\n"), answer_once(b""), stall_headers]
    server = start(first_then(*bad, rest=serve()), "unix")
    async with make(server.url(), timeouts=QUICK) as t:
        for _ in bad:
            with pytest.raises(XendError):
                await call(t)
        assert await call(t) == (200, b"ok")


def test_ssl_context_is_used(client_ssl: ssl.SSLContext) -> None:
    from aioxend.transport import RawTransport
    from aioxend.transport._connect import UrlConnector

    t = RawTransport("https://127.0.0.1:1/", ssl_context=client_ssl)
    assert isinstance(t.connector, UrlConnector)
    assert t.connector.ssl_context is client_ssl
