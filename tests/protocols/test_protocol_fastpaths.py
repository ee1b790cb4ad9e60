"""The XML-RPC backend's shortcuts for small calls give exactly what the long way gives."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

import aioxend
import aioxend.xmlrpc
from aioxend.errors import InvalidDomain, LocalProtocolError
from aioxend.protocols import _xmlbody
from aioxend.transport import Request
from tests.protocols.fake_transport import FakeResponse, FakeTransport, fault_answer, xml_answer

params_strategy = st.lists(
    st.text(max_size=12)
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False, allow_infinity=False),
    max_size=4,
)


@given(
    st.sampled_from(["xend.domain.pause", "system.listMethods", "a&b", "x>y", "é"]), params_strategy
)
def test_request_body_is_the_encoders(method: str, params: list[Any]) -> None:
    try:
        expected: Any = aioxend.xmlrpc.dumps(tuple(params), method, allow_none=True)
    except LocalProtocolError:
        expected = LocalProtocolError
    try:
        got: Any = _xmlbody.request_body(method, params)
    except LocalProtocolError:
        got = LocalProtocolError
    assert got == expected


def test_request_body_refuses_an_empty_method_as_the_encoder_does() -> None:
    with pytest.raises(LocalProtocolError):
        _xmlbody.request_body("", ["vm1"])


def serving(*answers: FakeResponse) -> aioxend.XendClient:
    queue = list(answers)

    def handler(request: Request) -> FakeResponse:
        return queue.pop(0)

    return aioxend.XendClient(
        "http://127.0.0.1:8006/", protocol="xmlrpc", transport=FakeTransport(handler)
    )


async def test_small_answers_decode_alike_the_first_time_and_after() -> None:
    values: list[Any] = [None, True, 7, 2.5, "caf\\xc3\\xa9 it\\'s", "plain"]
    async with serving(*(xml_answer(v) for v in values * 2)) as client:
        first = [await client.call("m") for _ in values]
        second = [await client.call("m") for _ in values]
    assert first == second == [None, True, 7, 2.5, "café it's", "plain"]


async def test_small_answers_split_in_chunks_and_lists_are_never_shared() -> None:
    body = xmlrpc.client.dumps((["a", 1],), methodresponse=True).encode()
    answers = [
        FakeResponse(200, "OK", [("Content-Type", "text/xml")], [body[:40], body[40:]]),
        FakeResponse(200, "OK", [("Content-Type", "text/xml")], [body]),
    ]
    async with serving(*answers) as client:
        first = await client.call("m")
        second = await client.call("m")
    assert first == second == ["a", 1]
    assert first is not second


async def test_small_faults_raise_every_time() -> None:
    async with serving(fault_answer(3, "vm1"), fault_answer(3, "vm1")) as client:
        for _ in range(2):
            with pytest.raises(InvalidDomain):
                await client.pause("vm1")


class _Stalling(FakeResponse):
    """A 200 ``text/xml`` response that sends ``head`` and then never sends more."""

    def __init__(self, head: bytes) -> None:
        super().__init__(200, "OK", [("Content-Type", "text/xml")], [head])

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        yield self.chunks[0]
        await anyio.sleep_forever()


@pytest.mark.parametrize(
    "head",
    [
        b"<?xml version='1.0'?>\n<methodResponse><params><param><value><bogus>",
        b"<notxmlrpc>",
        b"<methodResponse><params><param><value><nil/></value></param></params></oops>",
    ],
)
async def test_invalid_small_answer_fails_before_the_rest_arrives(head: bytes) -> None:
    # Under 512 bytes, invalid from its first element, then a stall: refused at once,
    # as the same bytes padded past 512 always were, not when the timeout runs out.
    assert len(head) < 512
    async with serving(_Stalling(head)) as client:
        with anyio.fail_after(2):
            with pytest.raises(aioxend.ProtocolError):
                await client.call("m", timeout=None)
