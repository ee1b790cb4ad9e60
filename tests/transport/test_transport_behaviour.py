"""What the one HTTP stack must do with a hostile or broken peer, on the mock stream and on
real sockets (UNIX and TCP): stray bytes on an idle connection, bytes that are not HTTP,
body-framing errors, both framings at once, too many header lines.

Each case runs twice: over ``MockConnector`` (the peer is a function in memory, so the
timing is exact) and over a scripted server thread on a real socket.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import pytest

import aioxend
from aioxend.errors import LimitExceeded, RemoteProtocolError, XendError
from aioxend.transport import MockConnector, Request, Timeouts, Transport, open_transport
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, first_then, response, serve

GOOD = response(b"GOOD")
PATIENT = Timeouts(connect=5, read=30, write=5, pool=5)
"""Long timeouts: a case that failed only when one ran out would fail the test's bound."""

STRAY = {
    "partial-head": b"HTTP/1.1 200 OK\r\nContent-Le",
    "whole-response": response(b"EVIL"),
    "junk": b"\x00\xffjunk",
}


async def call(t: Transport) -> bytes:
    async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
        return await resp.aread()


@asynccontextmanager
async def mock_transport(
    respond: Callable[[bytes], bytes | None],
) -> AsyncIterator[tuple[Transport, MockConnector]]:
    connector = MockConnector(respond)
    async with open_transport("http://xen1:8006/", timeouts=PATIENT, connector=connector) as t:
        yield t, connector


# --- stray bytes on an idle connection ------------------------------------------------------


@pytest.mark.parametrize("stray", sorted(STRAY))
async def test_stray_bytes_retire_an_idle_connection_mock(stray: str) -> None:
    async with mock_transport(lambda data: GOOD) as (t, connector):
        assert await call(t) == b"GOOD"
        connector.streams[0].feed(STRAY[stray])
        assert await call(t) == b"GOOD"
        assert len(connector.streams) == 2
        assert connector.streams[0].closed


@pytest.mark.parametrize("where", ["unix", "tcp"])
@pytest.mark.parametrize("stray", sorted(STRAY))
async def test_stray_bytes_retire_an_idle_connection(start: Start, where: str, stray: str) -> None:
    def answer_then_stray(peer: Peer) -> None:
        if peer.read_request() is None:
            return
        peer.send(GOOD)
        time.sleep(0.05)  # the client has taken the connection back by now
        peer.send(STRAY[stray])
        while peer.read_request() is not None:  # were it reused: the wrong answer
            peer.send(response(b"EVIL"))

    server = start(first_then(answer_then_stray, rest=serve(lambda r: GOOD)), where)
    async with open_transport(server.url(), timeouts=PATIENT) as t:
        assert await call(t) == b"GOOD"
        await anyio.sleep(0.3)
        for _ in range(3):
            assert await call(t) == b"GOOD"
    assert server.connections == 2


# --- bytes that cannot be HTTP fail at once ---------------------------------------------------

NOT_HTTP = {
    "http0.9-body": b"<?xml version='1.0'?><methodResponse><params>",
    "binary": b"\x16\x03\x01\x00\xa5\x01",
    "lower-case": b"http/1.1 200 OK\r\n",
}


@pytest.mark.parametrize("data", sorted(NOT_HTTP))
async def test_not_http_fails_at_once_mock(data: str) -> None:
    async with mock_transport(lambda request: NOT_HTTP[data]) as (t, connector):
        with anyio.fail_after(5), pytest.raises(RemoteProtocolError, match=r"not an HTTP/1\.x"):
            await call(t)
        assert connector.streams[0].closed


@pytest.mark.parametrize("where", ["unix", "tcp"])
@pytest.mark.parametrize("data", sorted(NOT_HTTP))
async def test_not_http_fails_at_once(start: Start, where: str, data: str) -> None:
    def answer_and_stall(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(NOT_HTTP[data])
            peer.stall()  # the connection stays open: no end of stream to help

    server = start(answer_and_stall, where)
    async with open_transport(server.url(), timeouts=PATIENT) as t:
        with anyio.fail_after(5), pytest.raises(RemoteProtocolError, match=r"not an HTTP/1\.x"):
            await call(t)
        assert await server.wait_client_closed(0)


# --- body framing -------------------------------------------------------------------------

CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
FRAMING: dict[str, tuple[bytes, type[XendError], str | None]] = {
    "bad-chunk-size": (CHUNKED + b"zz\r\n<x/>\r\n0\r\n\r\n", RemoteProtocolError, None),
    # The chunk is the start of a valid answer, so only the framing can be at fault.
    "no-crlf-after-chunk": (CHUNKED + b"5\r\n<?xmlXX0\r\n\r\n", RemoteProtocolError, None),
    "oversize-trailer": (
        CHUNKED + b"0\r\n" + b"X-T: " + b"t" * 70_000 + b"\r\n\r\n",
        LimitExceeded,
        "max_header_bytes",
    ),
    "chunked-and-length": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
        b"4\r\n<x/>\r\n0\r\n\r\n",
        RemoteProtocolError,
        None,
    ),
    "too-many-header-lines": (
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"Content-Length: 0\r\n\r\n",
        LimitExceeded,
        "max_header_lines",
    ),
}


def check_framing_error(exc: BaseException, case: str) -> None:
    _, error, limit = FRAMING[case]
    assert type(exc) is error, repr(exc)
    if limit is not None:
        assert isinstance(exc, LimitExceeded)
        assert exc.limit == limit


@pytest.mark.parametrize("case", sorted(FRAMING))
async def test_framing_errors_keep_their_class_mock(case: str) -> None:
    async with mock_transport(lambda request: FRAMING[case][0]) as (t, connector):
        with anyio.fail_after(5), pytest.raises(XendError) as info:
            await call(t)
        check_framing_error(info.value, case)
        assert connector.streams[0].closed, "a connection that broke framing was kept"


@pytest.mark.parametrize("where", ["unix", "tcp"])
@pytest.mark.parametrize("case", sorted(FRAMING))
async def test_framing_errors_keep_their_class(start: Start, where: str, case: str) -> None:
    def answer_and_stall(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(FRAMING[case][0])
            peer.stall()

    server = start(first_then(answer_and_stall, rest=serve(lambda r: GOOD)), where)
    async with open_transport(server.url(), timeouts=PATIENT) as t:
        with anyio.fail_after(5), pytest.raises(XendError) as info:
            await call(t)
        check_framing_error(info.value, case)
        assert await server.wait_client_closed(0)
        assert await call(t) == b"GOOD"


@pytest.mark.parametrize("case", sorted(FRAMING))
async def test_framing_errors_never_lead_auto_into_sxp(case: str) -> None:
    """protocol="auto": a framing error is that error, not "no XML-RPC server"."""
    seen: list[bytes] = []

    def respond(data: bytes) -> bytes:
        seen.append(data.split(b"\r\n", 1)[0])
        return FRAMING[case][0]

    connector = MockConnector(respond)
    client = aioxend.connect("http://xen1:8006/", connector=connector, timeout=30)
    with anyio.fail_after(5), pytest.raises(XendError) as info:
        await client.domain("vm1")
    check_framing_error(info.value, case)
    assert client.protocol == "auto"
    assert seen == [b"POST / HTTP/1.1"], "the client went on to probe for SXP/HTTP"
    await client.aclose()
