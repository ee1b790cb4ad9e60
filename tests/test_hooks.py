"""Hooks: sync and async callbacks around each call of both clients, what their events
carry, headers they and ``headers=`` add, and what happens when a hook raises."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from typing import Any

import pytest

import aioxend
from aioxend.client import XendClient
from aioxend.hooks import CallEvent, Hooks
from aioxend.transport import Endpoint, MockConnector, RawTransport
from aioxend.xenapi import XenAPIClient, errors
from tests._logcapture import OK_NIL, collecting, http, jsonrpc_server

FAULT_3 = http(xmlrpc.client.dumps(xmlrpc.client.Fault(3, "vm9"), methodresponse=True).encode())


def legacy_server(seen: list[bytes]) -> MockConnector:
    """xend over XML-RPC in memory: ``pause vm9`` is fault 3, anything else ``<nil/>``."""

    def respond(data: bytes) -> bytes:
        seen.append(data)
        if b"<string>vm9</string>" in data:
            return FAULT_3
        return http(OK_NIL)

    return MockConnector(respond)


def legacy(seen: list[bytes], **options: Any) -> XendClient:
    """A legacy client of ``legacy_server(seen)`` over XML-RPC, with ``options``."""
    return aioxend.connect(
        "http://xen1:8006/", protocol="xmlrpc", connector=legacy_server(seen), **options
    )


def recorder(kind: str = "sync") -> tuple[Hooks, list[tuple[str, CallEvent]]]:
    """Hooks recording each (hook, event), as plain functions or coroutine functions."""
    events: list[tuple[str, CallEvent]] = []

    def make(name: str) -> Callable[[CallEvent], object]:
        if kind == "sync":
            return lambda event: events.append((name, event))

        async def hook(event: CallEvent) -> None:
            events.append((name, event))

        return hook

    return Hooks(make("request"), make("response"), make("error")), events


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_legacy_client_events(kind: str) -> None:
    hooks, events = recorder(kind)
    seen: list[bytes] = []
    async with legacy(seen, hooks=hooks) as client:
        await client.pause("vm1")
        with pytest.raises(aioxend.InvalidDomain) as failed:
            await client.pause("vm9")
    names = [(name, e.operation, e.target) for name, e in events]
    assert names == [
        ("request", "connect", None),  # protocol="xmlrpc" sends nothing on connect
        ("response", "connect", None),
        ("request", "pause", "vm1"),
        ("response", "pause", "vm1"),
        ("request", "pause", "vm9"),
        ("error", "pause", "vm9"),
    ]
    start, done, error = events[2][1], events[3][1], events[5][1]
    assert start.duration is None
    assert start.requests == 0
    assert start.api == "xend"
    assert start.url == "http://xen1:8006/"
    assert start.protocol == "xmlrpc"
    assert done.duration is not None
    assert done.duration > 0
    assert done.status == 200
    assert done.requests == 1
    assert done.bytes_sent == len(seen[0].partition(b"\r\n\r\n")[2])
    assert done.bytes_received == len(OK_NIL)
    assert done.new_connections == 1
    assert done.call_id == start.call_id
    assert done.retries == 0
    assert done.error is None
    assert error.error is failed.value
    assert error.status == 200


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_xenapi_client_events(kind: str) -> None:
    hooks, events = recorder(kind)
    connector = MockConnector(jsonrpc_server([]))

    def transport(endpoint: Endpoint) -> RawTransport:
        return RawTransport(endpoint, connector=connector)

    async with XenAPIClient(
        "http://xapi1/", protocol="jsonrpc", password="pw", transport=transport, hooks=hooks
    ) as xapi:
        await xapi.call("VM.get_power_state", "OpaqueRef:vm1")
        with pytest.raises(errors.HandleInvalid):
            await xapi.call("VM.get_record", "OpaqueRef:bad")
    ops = [(name, e.operation) for name, e in events]
    assert ("response", "session.login_with_password") in ops
    assert ("response", "session.logout") in ops
    [done] = [e for n, e in events if n == "response" and e.operation == "VM.get_power_state"]
    assert done.api == "xenapi"
    assert done.target == "OpaqueRef:vm1"
    assert done.status == 200
    assert done.protocol == "jsonrpc"
    assert done.bytes_received > 0
    [error] = [e for n, e in events if n == "error"]
    assert isinstance(error.error, errors.HandleInvalid)
    assert error.target == "OpaqueRef:bad"
    login = next(e for n, e in events if e.operation == "session.login_with_password")
    assert login.target is None  # a login's arguments are never shown


async def test_headers_per_client_per_call_and_from_on_request() -> None:
    seen: list[bytes] = []
    hooks = Hooks(on_request=lambda event: {"traceparent": f"00-{event.call_id:032x}-01"})
    async with legacy(seen, headers={"X-Client": "ops"}) as client:
        await client.pause("vm1")
        await client.call("xend.domain.unpause", "vm1", headers={"traceparent": "00-abc-01"})
    assert b"X-Client: ops\r\n" in seen[0]
    assert b"traceparent" not in seen[0]
    assert b"traceparent: 00-abc-01\r\n" in seen[1]
    assert b"X-Client: ops\r\n" in seen[1]
    async with legacy(seen, hooks=hooks) as client:
        await client.pause("vm1")
        await client.pause("vm1")
    first, second = seen[2:]
    assert b"traceparent: 00-" in first
    assert b"traceparent: 00-" in second
    assert first.split(b"traceparent: ")[1][:35] != second.split(b"traceparent: ")[1][:35]

    sent: list[bytes] = []
    connector = MockConnector(jsonrpc_server(sent))
    async with XenAPIClient(
        "http://xapi1/",
        protocol="jsonrpc",
        headers=[("X-Client", "ops")],
        transport=lambda endpoint: RawTransport(endpoint, connector=connector),
    ) as xapi:
        await xapi.call("VM.get_power_state", "OpaqueRef:vm1", headers={"traceparent": "00-x-01"})
        await xapi.call("VM.get_power_state", "OpaqueRef:vm1")
    with_header = [data for data in sent if b"traceparent: 00-x-01" in data]
    assert len(with_header) == 1
    assert b"VM.get_power_state" in with_header[0]
    assert all(b"X-Client: ops" in data for data in sent)


async def test_on_request_raising_vetoes_the_call() -> None:
    seen: list[bytes] = []

    def refuse(event: CallEvent) -> None:
        if event.operation == "pause":
            raise PermissionError("not during the freeze")

    async with legacy(seen, hooks=Hooks(on_request=refuse)) as client:
        with pytest.raises(PermissionError) as refused:
            await client.pause("vm1")
        await client.unpause("vm1")
    assert "raised by the on_request hook; pause vm1 was not sent" in refused.value.__notes__
    assert len(seen) == 1
    assert b"unpause" in seen[0]


async def test_on_response_raising_is_raised_saying_the_call_succeeded() -> None:
    seen: list[bytes] = []

    def broken(event: CallEvent) -> None:
        if event.operation == "pause":
            raise KeyError("histogram")

    async with legacy(seen, hooks=Hooks(on_response=broken)) as client:
        with pytest.raises(KeyError) as raised:
            await client.pause("vm1")
    assert "raised by the on_response hook; pause vm1 itself succeeded" in raised.value.__notes__
    assert len(seen) == 1


async def test_on_error_raising_keeps_the_calls_own_error() -> None:
    async def broken(event: CallEvent) -> None:
        raise RuntimeError("metrics backend down")

    with collecting() as logged:
        async with legacy([], hooks=Hooks(on_error=broken)) as client:
            with pytest.raises(aioxend.InvalidDomain) as failed:
                await client.pause("vm9")
    assert failed.value.__notes__ == [
        "the on_error hook raised too: RuntimeError: metrics backend down"
    ]
    [record] = [r for r in logged.records if r.levelname == "ERROR"]
    assert record.exc_info is not None
    assert "pause vm9" in record.getMessage()


async def test_on_request_must_return_headers_or_none() -> None:
    hooks = Hooks(on_request=lambda event: 42 if event.operation == "pause" else None)
    async with legacy([], hooks=hooks) as client:
        with pytest.raises(TypeError, match="may return None or a mapping"):
            await client.pause("vm1")


def test_bad_hooks_and_headers_are_refused() -> None:
    with pytest.raises(TypeError, match="on_error must be callable"):
        Hooks(on_error="print")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"hooks must be an aioxend\.hooks\.Hooks"):
        aioxend.connect("http://xen1:8006/", hooks=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="headers must map names to values"):
        aioxend.connect("http://xen1:8006/", headers={"X-N": 1})  # type: ignore[dict-item]
