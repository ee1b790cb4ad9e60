"""``connect(limits=...)``: the decode limits a user may raise (or lower), both protocols."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import aioxend
import aioxend.xmlrpc
from aioxend.errors import LimitExceeded
from aioxend.transport import Request
from tests.protocols.fake_transport import FakeResponse, FakeTransport, sxp_answer, xml_answer

DEPTH = 300  # past the default max_depth of both codecs (256)


def nested(depth: int) -> list[Any]:
    value: list[Any] = ["leaf"]
    for _ in range(depth - 1):
        value = ["level", value]
    return value


def deep_answer(protocol: str) -> Callable[[], FakeResponse]:
    if protocol == "xmlrpc":
        return lambda: xml_answer(nested(DEPTH))
    text = "(leaf)"
    for _ in range(DEPTH - 1):
        text = f"(level {text})"
    return lambda: sxp_answer(text)


def client(protocol: str, answer: Callable[[], FakeResponse], **options: Any) -> aioxend.XendClient:
    def handler(request: Request) -> FakeResponse:
        return answer()

    return aioxend.connect(
        "http://127.0.0.1:8006/",
        protocol=protocol,  # type: ignore[arg-type]
        transport=FakeTransport(handler),
        **options,
    )


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
async def test_the_default_limits_refuse_what_raised_ones_let_through(protocol: str) -> None:
    async with client(protocol, deep_answer(protocol)) as default:
        with pytest.raises(LimitExceeded) as info:
            await default.device_sxprs("vm1", "vbd")
    assert info.value.limit == "max_depth"
    raised = aioxend.xmlrpc.Limits(max_depth=2 * DEPTH)
    async with client(protocol, deep_answer(protocol), limits=raised) as roomy:
        got = await roomy.device_sxprs("vm1", "vbd")
    depth = 0
    while isinstance(got, list) and len(got) == 2:
        got, depth = got[1], depth + 1
    assert depth == DEPTH - 1
    assert got == ["leaf"]


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
async def test_lowered_limits_apply_to_every_answer(protocol: str) -> None:
    small = aioxend.xmlrpc.Limits(max_elements=3)

    def answer() -> FakeResponse:
        if protocol == "xmlrpc":
            return xml_answer(["vm1", "vm2", "vm3", "vm4"])
        return sxp_answer("(vm1 vm2 vm3 vm4)")

    async with client(protocol, answer, limits=small) as tight:
        with pytest.raises(LimitExceeded):
            await tight.domain_names()
    async with client(protocol, answer) as default:
        assert await default.domain_names() == ["vm1", "vm2", "vm3", "vm4"]


async def test_raw_calls_use_the_limits_too() -> None:
    raised = aioxend.xmlrpc.Limits(max_depth=2 * DEPTH)
    async with client("xmlrpc", deep_answer("xmlrpc"), limits=raised) as roomy:
        assert await roomy.call("xend.anything") == nested(DEPTH)
    async with client("xmlrpc", deep_answer("xmlrpc")) as default:
        with pytest.raises(LimitExceeded):
            await default.call("xend.anything")


def test_limits_must_be_decode_limits() -> None:
    with pytest.raises(TypeError, match=r"aioxend\.xmlrpc\.Limits"):
        aioxend.connect("http://127.0.0.1:8006/", limits={"max_depth": 10})  # type: ignore[arg-type]
