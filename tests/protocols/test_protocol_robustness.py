"""Whatever a server sends, the client answers with a result or an exception of our tree,
and a long answer never keeps the event loop from running other tasks."""

from __future__ import annotations

import contextlib
import xmlrpc.client
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aioxend
from aioxend.errors import XendError
from aioxend.transport import Request
from tests.protocols.fake_transport import FakeResponse, FakeTransport, split, xml_answer

STATUSES = st.sampled_from([200, 201, 202, 204, 400, 404, 406, 500, 501, 503])
TYPES = st.sampled_from(["text/xml", "application/sxp", "text/plain", "text/html", ""])

XML_SEEDS = [
    xmlrpc.client.dumps((["domain", ["name", "vm1"], ["domid", 1]],), methodresponse=True),
    xmlrpc.client.dumps(xmlrpc.client.Fault(3, "vm1"), methodresponse=True),
    xmlrpc.client.dumps(({"Status": "Failure", "ErrorDescription": ["x"]},), methodresponse=True),
]
SXP_SEEDS = [
    "(domain (name vm1) (domid 1) (memory 512) (state -b----))''",
    "(xend.err 'Cannot pause privileged domain 0')",
    "<Fault 3: 'vm1'>",
    "Operation not implemented: pause''",
]


def mutated(seeds: list[str]) -> st.SearchStrategy[bytes]:
    """Seed bodies cut, spliced and sprinkled with random bytes, or plain random bytes."""
    seed = st.sampled_from(seeds).map(str.encode)
    cut = st.tuples(seed, st.integers(0, 400)).map(lambda t: t[0][: t[1]])
    spliced = st.tuples(seed, st.integers(0, 200), st.binary(max_size=8)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] :]
    )
    return st.one_of(cut, spliced, st.binary(max_size=300))


async def outcome(protocol: str, status: int, content_type: str, body: bytes, size: int) -> None:
    headers = [("Content-Type", content_type)] if content_type else []

    def handler(request: Request) -> FakeResponse:
        return FakeResponse(status, "Whatever", headers, split(body, size))

    transport = FakeTransport(handler)
    client = aioxend.XendClient(
        "http://127.0.0.1:9/",
        protocol=protocol,  # type: ignore[arg-type]
        transport=transport,
    )
    async with client:
        for call in (client.domain("vm1"), client.pause("vm1"), client.sched_credit_get("vm1")):
            with contextlib.suppress(XendError):
                await call
    assert all(response.closed for response in transport.responses)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=STATUSES, content_type=TYPES, body=mutated(XML_SEEDS), size=st.integers(1, 64))
def test_xmlrpc_any_answer_gives_result_or_our_error(
    status: int, content_type: str, body: bytes, size: int
) -> None:
    anyio.run(outcome, "xmlrpc", status, content_type, body, size)


@settings(max_examples=150)
@given(status=STATUSES, content_type=TYPES, body=mutated(SXP_SEEDS), size=st.integers(1, 64))
def test_sxp_any_answer_gives_result_or_our_error(
    status: int, content_type: str, body: bytes, size: int
) -> None:
    anyio.run(outcome, "sxp", status, content_type, body, size)


async def test_a_long_answer_lets_other_tasks_run() -> None:
    record: list[Any] = ["domain", ["name", "vm1"], ["domid", 1], ["description", "x" * 200]]
    answer = xml_answer([record] * 8000, chunk=16 * 1024)  # about 3 MB in 200 chunks
    assert len(answer.chunks) > 100
    transport = FakeTransport(lambda request: answer)
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with (
        aioxend.XendClient("http://127.0.0.1:9/", protocol="xmlrpc", transport=transport) as client,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        before = ticks
        domains = await client.domains()
        during = ticks - before
        done = True
    assert len(domains) == 8000
    # The fake transport never yields by itself: every tick came from the decode loop.
    assert during >= 8


@pytest.mark.parametrize(
    ("state", "sent"),
    [("all", "all"), ("Paused", "paused"), (2, "running"), (4, "halted"), (6, "unknown")],
)
async def test_state_filters(state: Any, sent: str) -> None:  # "Paused": any case is read
    transport = FakeTransport(lambda request: xml_answer([]))
    async with aioxend.XendClient(
        "http://127.0.0.1:9/", protocol="xmlrpc", transport=transport
    ) as client:
        assert await client.domains(state) == []
    params, _ = xmlrpc.client.loads(transport.requests[0].body)
    assert params == (True, sent, False)


@pytest.mark.parametrize("state", ["runnin", 7, -1, True, 1.5])
async def test_bad_state_filters(state: Any) -> None:
    transport = FakeTransport(lambda request: xml_answer([]))
    async with aioxend.XendClient(
        "http://127.0.0.1:9/", protocol="xmlrpc", transport=transport
    ) as client:
        with pytest.raises((ValueError, TypeError)):
            await client.domains(state)
    assert transport.requests == []
