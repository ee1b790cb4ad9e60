"""Server limits: connections, idle time and request bodies in flight, 503 beyond."""

from __future__ import annotations

import socket
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from aioxend.emulator import Emulator, ServerLimits
from tests.emulator.emulator_support import SxpClient, unix_proxy

_BUSY = b"HTTP/1.1 503 Service Unavailable\r\n"


@contextmanager
def _limited(limits: ServerLimits) -> Iterator[tuple[Emulator, str, str]]:
    with tempfile.TemporaryDirectory(prefix="axlim-") as tmp:
        xpath, spath = f"{tmp}/x.sock", f"{tmp}/s.sock"
        with Emulator.in_thread(domains=1, xmlrpc_unix=xpath, sxp_unix=spath, limits=limits) as e:
            yield e, xpath, spath


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5.0)
    sock.connect(path)
    return sock


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 5 s"
        time.sleep(0.01)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _post_head(path: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_connections_beyond_the_bound_get_503() -> None:
    with _limited(ServerLimits(max_connections=2)) as (emu, xpath, spath):
        first, second = _connect(xpath), _connect(spath)  # one bound for both protocols
        _until(lambda: len(emu.gate.open) == 2)
        third = _connect(xpath)
        third.sendall(_post_head("/RPC2", 200) + b"x" * 200)  # read, then answered 503
        answer = _read_all(third)
        assert answer.startswith(_BUSY)
        assert b"too many connections" in answer
        assert SxpClient(path=spath).get("/xend/").status == 503
        silent = _connect(spath)  # sends nothing: answered after the grace second
        assert _read_all(silent).startswith(_BUSY)
        silent.close()
        first.close()
        _until(lambda: len(emu.gate.open) == 1)
        assert unix_proxy(xpath).xend.domains(0) == ["Domain-0", "vm1"]
        second.close()
        third.close()


def test_idle_connections_are_closed_but_slow_answers_are_not() -> None:
    with _limited(ServerLimits(idle_timeout=0.3)) as (emu, xpath, spath):
        silent = _connect(xpath)
        half = _connect(spath)
        half.sendall(b"GET /xend/node HTTP/1.1\r\n")  # a head that never ends
        started = time.monotonic()
        assert _read_all(silent) == b""
        assert _read_all(half) == b""
        assert time.monotonic() - started < 3.0
        _until(lambda: not emu.gate.open)
        emu.faults.add("latency", "xend.domains", delay=0.8)
        emu.faults.add("latency", "/xend/domain", delay=0.8)
        started = time.monotonic()
        assert unix_proxy(xpath).xend.domains(0) == ["Domain-0", "vm1"]
        assert SxpClient(path=spath).get("/xend/domain").text == "(Domain-0 vm1)"
        assert time.monotonic() - started >= 1.6  # both answers outlived the idle bound
        silent.close()
        half.close()


def test_request_bodies_in_flight_are_bounded() -> None:
    call = xmlrpc.client.dumps((0,), "xend.domains").encode()
    body = call + b" " * (800 - len(call))
    with _limited(ServerLimits(max_body_bytes=1000)) as (emu, xpath, spath):
        slow = _connect(xpath)
        slow.sendall(_post_head("/RPC2", len(body)) + body[:100])
        _until(lambda: emu.gate.body_bytes == 800)
        over = _connect(xpath)
        over.sendall(_post_head("/RPC2", 300) + b"x" * 300)
        assert _read_all(over).startswith(_BUSY)
        sxp_over = SxpClient(path=spath).request(
            "POST", "/xend/domain/vm1", body=b"op=pause" + b"&x=1" * 70,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert sxp_over.status == 503
        assert emu.host.domain("vm1").status == 2  # not paused
        slow.sendall(body[100:])
        answer = _read_all_response(slow)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        assert b"Domain-0" in answer
        _until(lambda: emu.gate.body_bytes == 0)
        assert unix_proxy(xpath).xend.domains(0) == ["Domain-0", "vm1"]
        over.close()
        slow.close()


def _read_all_response(sock: socket.socket) -> bytes:
    """One keep-alive answer: the head, then Content-Length bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


@pytest.mark.parametrize(
    "bad", [{"max_connections": 0}, {"idle_timeout": 0.0}, {"max_body_bytes": -1}]
)
def test_limits_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        ServerLimits(**bad)  # type: ignore[arg-type]
