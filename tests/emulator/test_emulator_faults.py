"""Fault injection, observed from the client side of both listeners."""

from __future__ import annotations

import http.client
import socket
import threading
import time
import xml.parsers.expat
import xmlrpc.client
from typing import Any

import pytest

from aioxend.emulator import FAULT_KINDS, FaultInjector
from aioxend.emulator._faults import parse_fault_spec
from tests.emulator.conftest import Served
from tests.emulator.emulator_support import port_of, raw_exchange

PAUSE = xmlrpc.client.dumps(("vm1",), "xend.domain.pause").encode()


def _xmlrpc_raw(served: Served, body: bytes = PAUSE, timeout: float = 5.0) -> bytes:
    head = f"POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    return raw_exchange(path=served.xmlrpc_path, data=head.encode() + body, timeout=timeout)


def _sxp_raw(served: Served, op: str = "pause", timeout: float = 5.0) -> bytes:
    body = f"op={op}".encode()
    head = (
        "POST /xend/domain/vm1 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return raw_exchange(path=served.sxp_path, data=head.encode() + body, timeout=timeout)


def _split(raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0].encode(), headers, body


def test_latency(served: Served) -> None:
    served.emu.faults.add("latency", "xend.domains", delay=0.2)
    start = time.monotonic()
    served.unix.xend.domains(0)
    assert time.monotonic() - start >= 0.2
    start = time.monotonic()
    served.unix.xend.node.info()
    assert time.monotonic() - start < 0.2


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_drop_before(served: Served, protocol: str) -> None:
    rule = served.emu.faults.add("drop_before", None if protocol == "sxp" else "xend.domain.pause")
    raw = _xmlrpc_raw(served) if protocol == "xmlrpc" else _sxp_raw(served)
    assert raw == b""
    assert rule.fired == 1
    assert served.emu.host.domain("vm1").status == 2  # the operation never ran
    if protocol == "xmlrpc":
        with pytest.raises(http.client.RemoteDisconnected):
            served.tcp.xend.domain.pause("vm1")


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_drop_mid(served: Served, protocol: str) -> None:
    served.emu.faults.add("drop_mid")
    raw = _xmlrpc_raw(served) if protocol == "xmlrpc" else _sxp_raw(served, "vcpuinfo")
    status, headers, body = _split(raw)
    assert status == b"HTTP/1.1 200 OK"
    assert 0 < len(body) < int(headers["content-length"])
    if protocol == "xmlrpc":
        assert served.emu.host.domain("vm1").status == 1  # it ran; the answer was cut
        with pytest.raises(xml.parsers.expat.ExpatError):  # the stdlib parses what came
            served.tcp.xend.domains(0)


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_truncate(served: Served, protocol: str) -> None:
    served.emu.faults.add("truncate")
    raw = _xmlrpc_raw(served) if protocol == "xmlrpc" else _sxp_raw(served, "vcpuinfo")
    _, headers, body = _split(raw)
    assert int(headers["content-length"]) > len(body) > 0
    if protocol == "xmlrpc":
        assert body.endswith(b"</methodResponse>\n")
        conn = http.client.HTTPConnection("127.0.0.1", port_of(served.emu.urls[1]), timeout=5)
        conn.request("POST", "/RPC2", body=PAUSE)
        with pytest.raises(http.client.IncompleteRead):
            conn.getresponse().read()
        conn.close()


def test_malformed(served: Served) -> None:
    served.emu.faults.add("malformed", "xend.domains")
    with pytest.raises(xml.parsers.expat.ExpatError):
        served.tcp.xend.domains(0)
    assert served.tcp.xend.node.info()[0] == ["system", "Linux"]
    served.emu.faults.clear()
    served.emu.faults.add("malformed", "vcpuinfo")
    status, headers, body = _split(_sxp_raw(served, "vcpuinfo"))
    assert status == b"HTTP/1.1 200 OK"
    assert headers["content-type"] == "application/sxp"
    assert body.startswith(b"(domain")
    assert body.count(b"(") > body.count(b")")


def test_http500(served: Served) -> None:
    served.emu.faults.add("http500", "xend.domain.pause")
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        served.tcp.xend.domain.pause("vm1")
    assert info.value.errcode == 500
    assert served.emu.host.domain("vm1").status == 2
    served.emu.faults.clear()
    served.emu.faults.add("http500", "pause")
    reply = served.sxp.post("/xend/domain/vm1", op="pause")
    assert (reply.status, reply.header("Content-type")) == (500, "text/plain")
    assert served.emu.host.domain("vm1").status == 2


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_trickle(served: Served, protocol: str) -> None:
    served.emu.faults.add("trickle", delay=0.001)
    start = time.monotonic()
    raw = _xmlrpc_raw(served) if protocol == "xmlrpc" else _sxp_raw(served, "vcpuinfo")
    elapsed = time.monotonic() - start
    _, headers, body = _split(raw)
    assert len(body) == int(headers["content-length"])
    assert elapsed >= len(body) * 0.001 * 0.9  # at least one pause per body byte
    if protocol == "xmlrpc":
        assert xmlrpc.client.loads(body)[0] == (None,)
        # a trickled answer is whole: the connection stays usable for the next call
        conn = http.client.HTTPConnection("127.0.0.1", port_of(served.emu.urls[1]), timeout=5)
        for _ in range(2):
            conn.request("POST", "/RPC2", body=xmlrpc.client.dumps((0,), "xend.domains"))
            names: Any = xmlrpc.client.loads(conn.getresponse().read())[0][0]
            assert names[0] == "Domain-0"
        conn.close()


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_stall(served: Served, protocol: str) -> None:
    served.emu.faults.add("stall", count=1)
    send = _xmlrpc_raw if protocol == "xmlrpc" else _sxp_raw
    with pytest.raises(socket.timeout):
        send(served, timeout=0.3)
    assert served.emu.host.domain("vm1").status == 2  # never ran
    assert served.unix.xend.domain.pause("vm1") is None  # count exhausted


def test_rate_count_and_method_filters(served: Served) -> None:
    faults = served.emu.faults
    rule = faults.add("http500", "xend.domains", count=2)
    for _ in range(2):
        with pytest.raises(xmlrpc.client.ProtocolError):
            served.tcp.xend.domains(0)
    assert served.tcp.xend.domains(0)[0] == "Domain-0"
    assert rule.fired == 2
    faults.clear()
    assert faults.rules == []
    never = faults.add("drop_before", rate=0.0)
    assert served.tcp.xend.domains(0)[0] == "Domain-0"
    assert never.fired == 0
    faults.remove(never)
    path_rule = faults.add("http500", "/xend/node")
    assert served.sxp.get("/xend/node").status == 500
    assert served.sxp.get("/xend/domain").status == 200
    assert path_rule.fired == 1


def test_seeded_rates_are_reproducible() -> None:
    def run(seed: int) -> list[str | None]:
        injector = FaultInjector(seed)
        injector.add("drop_mid", rate=0.5)
        return [injector.pick(["x"]).kind for _ in range(40)]

    assert run(3) == run(3)
    assert None in run(3)
    assert "drop_mid" in run(3)


def test_faults_from_another_thread(served: Served) -> None:
    done = threading.Event()

    def churn() -> None:
        while not done.is_set():
            rule = served.emu.faults.add("latency", "nothing.matches", delay=0.0)
            served.emu.faults.remove(rule)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for _ in range(20):
            assert served.tcp.xend.domains(0)[0] == "Domain-0"
    finally:
        done.set()
        worker.join()


def test_validation_and_spec_parsing() -> None:
    injector = FaultInjector()
    with pytest.raises(ValueError, match="unknown fault kind"):
        injector.add("explode")
    with pytest.raises(ValueError, match="rate"):
        injector.add("latency", rate=2.0)
    with pytest.raises(ValueError, match="delay"):
        injector.add("latency", delay=-1)
    assert parse_fault_spec("drop_mid") == ("drop_mid", None, 1.0)
    assert parse_fault_spec("http500:xend.domain.pause@0.25") == (
        "http500",
        "xend.domain.pause",
        0.25,
    )
    assert parse_fault_spec("stall:pause") == ("stall", "pause", 1.0)
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_fault_spec("boom:x")
    with pytest.raises(ValueError, match="rate"):
        parse_fault_spec("stall@x")
    assert set(FAULT_KINDS) == {
        "latency", "drop_before", "drop_mid", "truncate", "malformed", "http500", "trickle",
        "stall",
    }  # fmt: skip


def test_tcp_url_port_is_real(served: Served) -> None:
    assert port_of(served.emu.urls[1]) > 0
