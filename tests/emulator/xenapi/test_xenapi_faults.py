"""Fault injection on the Xen-API listeners: transport faults and injected Xen-API errors."""

from __future__ import annotations

import http.client
import json
import socket
import xmlrpc.client
from xml.parsers.expat import ExpatError

import pytest
import XenAPI  # type: ignore[import-untyped]

from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import failure, jsonrpc, login


def test_fail_next_calls_with_a_xenapi_error(xapi: XenAPIServer) -> None:
    x = login(xapi.url).xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    xapi.fail_next(2, "INTERNAL_ERROR", "injected", method="VM.start")
    assert x.VM.get_all()  # other methods are untouched
    assert failure(x.VM.start, vm, False, False) == ["INTERNAL_ERROR", "injected"]
    assert failure(x.VM.start, vm, False, False) == ["INTERNAL_ERROR", "injected"]
    assert x.VM.get_power_state(vm) == "Halted"  # the call did not run
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"


def test_fail_next_over_jsonrpc_and_any_method(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    xapi.fail_next(1, "HOST_IS_SLAVE", "10.0.0.9")
    error = jsonrpc(xapi.url, "VM.get_all", session.handle)["error"]
    assert error == {"code": 1, "message": "HOST_IS_SLAVE", "data": ["10.0.0.9"]}
    assert jsonrpc(xapi.url, "VM.get_all", session.handle)["result"]


def test_injected_session_invalid_makes_the_sdk_log_in_again(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    first = session.handle
    xapi.fail_next(1, "SESSION_INVALID", first, method="VM.get_all")
    assert session.xenapi.VM.get_all()
    assert session.handle != first


def test_http500_and_malformed(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    xapi.faults.add("http500", "VM.get_all", count=1)
    with pytest.raises(xmlrpc.client.ProtocolError) as info:
        session.xenapi.VM.get_all()
    assert info.value.errcode == 500
    assert session.xenapi.VM.get_all()
    xapi.faults.add("malformed", "pool.get_all", count=1)
    with pytest.raises(ExpatError):
        session.xenapi.pool.get_all()
    xapi.faults.add("malformed", "pool.get_all", count=1)
    conn = http.client.HTTPConnection("127.0.0.1", int(xapi.url.rsplit(":", 1)[1].strip("/")))
    body = b'{"jsonrpc": "2.0", "method": "pool.get_all", "params": ["x"], "id": 1}'
    conn.request("POST", "/jsonrpc", body)
    answer = conn.getresponse()
    assert answer.status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.read())
    conn.close()


def test_drops_close_the_connection(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    [vm] = session.xenapi.VM.get_by_name_label("vm2")
    # the SDK's transport (xmlrpc.client.Transport.request) re-sends a request once when
    # a kept-alive connection closes before any answer byte: one drop goes unnoticed
    rule = xapi.faults.add("drop_before", "VM.start", count=1)
    session.xenapi.VM.start(vm, False, False)
    assert rule.fired == 1
    session.xenapi.VM.hard_shutdown(vm)
    rule = xapi.faults.add("drop_before", "VM.start", count=2)
    with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
        session.xenapi.VM.start(vm, False, False)
    assert rule.fired == 2
    assert session.xenapi.VM.get_power_state(vm) == "Halted"  # it did not run
    xapi.faults.add("drop_mid", "VM.start", count=1)
    # xmlrpc.client reads the body in pieces and parses what came: a cut answer is an
    # XML parse error to the SDK, not a transport error
    with pytest.raises(ExpatError):
        session.xenapi.VM.start(vm, False, False)
    assert session.xenapi.VM.get_power_state(vm) == "Running"  # it ran; the answer was cut
    # a Content-Length promising more than is sent goes unnoticed by the SDK when the
    # XML that came is whole: http.client's read(amt) ends quietly at the close
    rule = xapi.faults.add("truncate", "VM.get_power_state", count=1)
    assert session.xenapi.VM.get_power_state(vm) == "Running"
    assert rule.fired == 1


def test_latency_trickle_and_stall(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    xapi.faults.add("trickle", "pool.get_all", delay=0.0005, count=1)
    assert session.xenapi.pool.get_all()
    rule = xapi.faults.add("stall", "pool.get_all", count=1)
    host, port = "127.0.0.1", int(xapi.url.rsplit(":", 1)[1].strip("/"))
    with socket.create_connection((host, port), timeout=0.3) as sock:
        body = xmlrpc.client.dumps((session.handle,), "pool.get_all").encode()
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    assert rule.fired == 1
    xapi.faults.add("latency", delay=0.05, count=1)
    assert session.xenapi.pool.get_all()


def test_sdk_on_a_server_that_is_gone() -> None:
    with XenAPIServer.in_thread() as server:
        url = server.url
    with pytest.raises(ConnectionRefusedError):
        XenAPI.Session(url).xenapi.login_with_password("root", "xenroot", "1.0", "t")


def test_bad_injections_are_refused(xapi: XenAPIServer) -> None:
    with pytest.raises(ValueError, match="negative"):
        xapi.fail_next(-1, "INTERNAL_ERROR")
    with pytest.raises(ValueError, match="takes 3 parameters"):
        xapi.fail_next(1, "VM_BAD_POWER_STATE", "vm")
    xapi.fail_next(1, "SOMETHING_NEW", "any", "params")
    with pytest.raises(ValueError, match="fault kind"):
        xapi.faults.add("explode")


def test_a_bug_in_a_handler_is_internal_error(
    xapi: XenAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aioxend.emulator.xenapi import _explicit

    def broken(call: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setitem(_explicit.HANDLERS, "host.get_servertime", broken)
    x = login(xapi.url).xenapi
    details = failure(x.host.get_servertime, xapi.pool.master)
    assert details == ["INTERNAL_ERROR", "RuntimeError: boom"]
    assert x.VM.get_all()  # the server carries on
