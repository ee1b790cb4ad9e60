"""A client call's errors carry their context (issue 16 item 8), and bodies read whole are
bounded: both through the client over ``MockConnector``, the whole HTTP stack, no socket."""

from __future__ import annotations

import errno
import xmlrpc.client
from typing import Any

import anyio
import pytest

import aioxend
from aioxend.errors import ConnectError, Fault, LimitExceeded, ProtocolError, ReadTimeout
from aioxend.transport import WHOLE_BODY_LIMIT, Endpoint, MockConnector, MockStream

MALFORMED = (
    b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</string>"
    b"</value></param></params></methodResponse>"
)


def http(body: bytes, content_type: str = "text/xml") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def xml(value: Any) -> bytes:
    return http(xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode())


async def test_a_malformed_answer_names_the_operation_and_the_host() -> None:
    connector = MockConnector(lambda request: http(MALFORMED))
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=connector) as c:
        with pytest.raises(ProtocolError) as info:
            await c.node_info()
        assert str(info.value).startswith("node_info on xen1:8006: "), str(info.value)
        assert (info.value.operation, info.value.dom, info.value.url) == (
            "node_info",
            None,
            "http://xen1:8006/",
        )
        with pytest.raises(ProtocolError) as info:
            await c.domain("vm1")
        assert str(info.value).startswith("domain('vm1') on xen1:8006: "), str(info.value)
        assert info.value.dom == "vm1"


async def test_transport_errors_keep_their_cause() -> None:
    async def refuse(endpoint: Endpoint) -> MockStream:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=refuse) as c:
        with pytest.raises(ConnectError) as info:
            await c.pause("vm1")
    assert str(info.value).startswith("pause('vm1'): cannot connect to xen1:8006"), info.value
    assert (info.value.operation, info.value.dom) == ("pause", "vm1")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


async def test_a_timeout_names_its_call() -> None:
    connector = MockConnector(lambda request: None)  # never answers
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=connector) as c:
        # Half a second, not less: a loaded machine that stalls the loop for the whole
        # budget while the mock connects turns the ReadTimeout into a ConnectTimeout.
        with pytest.raises(ReadTimeout) as info:
            await c.unpause("vm2", timeout=0.5)
    assert info.value.operation == "unpause"
    assert str(info.value).startswith("unpause('vm2')"), info.value


async def test_a_fault_gets_the_url_and_keeps_its_message() -> None:
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(3, "vm9"), methodresponse=True).encode()
    connector = MockConnector(lambda request: http(fault))
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=connector) as c:
        with pytest.raises(Fault) as info:
            await c.pause("vm9")
    assert info.value.url == "http://xen1:8006/"
    assert info.value.operation == "pause"
    assert str(info.value) == "pause: domain 'vm9' does not exist (fault 3)"


async def test_a_text_answer_read_whole_is_bounded() -> None:
    big = b"x" * (WHOLE_BODY_LIMIT + 1)
    small = b"(Xen) ready\n"
    answers = [http(big, "text/plain"), http(small, "text/plain")]
    connector = MockConnector(lambda request: answers.pop(0))
    async with aioxend.connect("http://xen1:8000/", protocol="sxp", connector=connector) as c:
        with anyio.fail_after(30), pytest.raises(LimitExceeded) as info:
            await c.dmesg()
        assert info.value.limit == "whole_body_bytes"
        assert info.value.value == WHOLE_BODY_LIMIT == 16 * 1024 * 1024
        assert info.value.operation == "dmesg"
        assert await c.dmesg() == small.decode()


async def test_verify_false_is_refused_where_it_cannot_apply() -> None:
    import ssl

    context = ssl.create_default_context()
    with pytest.raises(ValueError, match=r"verify=False.*ssl_context="):
        aioxend.connect("https://xen1:8006/", verify=False, ssl_context=context)
    with pytest.raises(ValueError, match=r"verify=False applies only to https://"):
        aioxend.connect("http://xen1:8006/", verify=False)
    with pytest.raises(TypeError, match="Transport"):
        aioxend.connect("http://xen1:8006/", transport="raw")  # type: ignore[arg-type]


async def test_a_result_over_the_mock() -> None:
    connector = MockConnector(lambda request: xml(["Domain-0", "vm1"]))
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=connector) as c:
        assert await c.call("xend.domains", False) == ["Domain-0", "vm1"]
        assert await c.call("xend.domains", False) == ["Domain-0", "vm1"]
    assert len(connector.streams) == 1
    assert connector.streams[0].sent[0].startswith(b"POST / HTTP/1.1\r\nHost: xen1:8006\r\n")


async def test_opening_the_client_names_connect_and_the_host() -> None:
    async def refuse(endpoint: Endpoint) -> MockStream:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    with pytest.raises(ConnectError) as info:
        async with aioxend.connect("http://xen1:8006/", connector=refuse):
            pass  # pragma: no cover - the connect fails
    assert (info.value.operation, info.value.url) == ("connect", "http://xen1:8006/")
    assert str(info.value).startswith("connect: cannot connect to xen1:8006"), info.value
