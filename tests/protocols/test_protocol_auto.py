"""``protocol="auto"``: XML-RPC first, the legacy protocol only when XML-RPC is not spoken."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import aioxend
from aioxend.errors import ConnectError, HTTPStatusError, ProtocolError, ReadTimeout
from aioxend.transport import Request
from tests.protocols.fake_transport import (
    FakeResponse,
    FakeTransport,
    fault_answer,
    sxp_answer,
    text_answer,
    xml_answer,
)


def sxp_server(request: Request) -> FakeResponse:
    """What xend's SXP server answers: 404 off its tree, SXP under /xend."""
    if request.target == "/xend/":
        return sxp_answer("(ls  node domain vnet)''")
    if request.target == "/xend/domain?state=all":
        return sxp_answer("(Domain-0)")
    if not request.target.startswith("/xend"):
        return text_answer(f"Not found: {request.target.strip('/')}", 404, "Not found")
    return sxp_answer("")


@pytest.mark.parametrize(
    "not_xmlrpc",
    [
        sxp_server,
        lambda r: (
            sxp_server(r)
            if r.target.startswith("/xend")
            else FakeResponse(200, "OK", [("Content-Type", "text/html")], [b"<html></html>"])
        ),
        lambda r: sxp_server(r) if r.target.startswith("/xend") else text_answer("", 501, "x"),
        lambda r: sxp_server(r) if r.target.startswith("/xend") else sxp_answer("(ls)"),
        lambda r: (
            sxp_server(r)
            if r.target.startswith("/xend")
            else FakeResponse(200, "OK", [], [b"(ls node domain)"])
        ),
    ],
    ids=["404", "html", "501", "sxp-body", "no-content-type"],
)
async def test_falls_back_to_sxp(not_xmlrpc: object) -> None:
    transport = FakeTransport(not_xmlrpc)  # type: ignore[arg-type]
    async with aioxend.XendClient("unix:///tmp/x.sock", transport=transport) as client:
        assert client.protocol == "sxp"
        assert await client.domain_names() == ["Domain-0"]
        assert client.protocol == "sxp"
    probes = [r.target for r in transport.requests]
    assert probes[0] == "/"
    assert probes[1] == "/xend/"


@pytest.mark.parametrize(
    "answer",
    [
        xml_answer(["system.listMethods", "xend.domain"]),
        xml_answer({"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", "x"]}),
        fault_answer(1, 'method "system.listMethods" is not supported'),
        fault_answer(2, "anything"),
    ],
)
async def test_any_xmlrpc_answer_means_xmlrpc(answer: FakeResponse) -> None:
    answers = [answer, xml_answer(["Domain-0"])]
    transport = FakeTransport(lambda request: answers.pop(0))
    async with aioxend.XendClient("httpu:///tmp/x.sock", transport=transport) as client:
        assert client.protocol == "xmlrpc"
        assert await client.domain_names() == ["Domain-0"]
    assert [r.target for r in transport.requests] == ["/RPC2", "/RPC2"]


async def test_neither_protocol_is_a_protocol_error() -> None:
    transport = FakeTransport(lambda request: text_answer("nothing here", 404, "Not found"))
    client = aioxend.XendClient("http://127.0.0.1:9/", transport=transport)
    with pytest.raises(ProtocolError, match="neither XML-RPC"):
        await client.__aenter__()
    await client.aclose()


async def test_errors_while_probing_do_not_settle_the_protocol() -> None:
    calls = 0

    async def flaky(request: Request) -> FakeResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectError("refused")
        if calls == 2:
            return text_answer("boom", 500, "Internal Server Error")
        if calls == 3:
            await anyio.sleep(5)
        return xml_answer(None)

    client = aioxend.XendClient("http://127.0.0.1:9/", transport=FakeTransport(flaky))
    with pytest.raises(ConnectError):
        await client.pause("vm1")
    assert client.protocol == "auto"
    with pytest.raises(HTTPStatusError):
        await client.pause("vm1")
    assert client.protocol == "auto"
    with pytest.raises(ReadTimeout, match="pause"):
        await client.pause("vm1", timeout=0.05)
    assert client.protocol == "auto"
    await client.pause("vm1")  # probe answers, then the call
    assert client.protocol == "xmlrpc"
    await client.aclose()


async def test_concurrent_first_calls_probe_once() -> None:
    def handler(request: Request) -> FakeResponse:
        return xml_answer(None)

    transport = FakeTransport(handler)
    client = aioxend.XendClient("http://127.0.0.1:9/", transport=transport)
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(client.pause, "vm1")
    await client.aclose()
    assert len(transport.requests) == 21


@pytest.mark.parametrize(
    "kwargs",
    [
        {"protocol": "soap"},
        {"verify": False},  # only https:// verifies anything
        {"timeout": 0},
        {"timeout": float("inf")},
        {"connect_timeout": -1.0},
        {"max_connections": 0},
        {"url": "ftp://host/"},
    ],
)
def test_bad_client_settings_fail_at_construction(kwargs: dict[str, Any]) -> None:
    settings: dict[str, Any] = {"url": "http://127.0.0.1:9/", **kwargs}
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        aioxend.connect(**settings)


async def test_repr_and_closed() -> None:
    client = aioxend.XendClient("httpu:///tmp/x.sock", transport=FakeTransport(sxp_server))
    assert repr(client) == "<XendClient httpu:///tmp/x.sock (auto)>"
    async with client:
        assert repr(client) == "<XendClient httpu:///tmp/x.sock (sxp)>"
    assert client.closed
    assert repr(client) == "<XendClient httpu:///tmp/x.sock (closed)>"
