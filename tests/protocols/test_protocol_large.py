"""Large answers: converted in slices that yield to the loop, decoded with the garbage
collector held off, and the collector always restored (also on errors and cancels)."""

from __future__ import annotations

import copy
import gc
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import aioxend
from aioxend.errors import ReadError
from aioxend.models import DomainInfo
from aioxend.protocols._base import convert_each
from aioxend.protocols._gc import GC_HOLD_BYTES, GC_STEP_BYTES, GcHold
from aioxend.sxp import from_xmlrpc
from aioxend.transport import Request
from tests.protocols.fake_transport import FakeResponse, FakeTransport, xml_answer
from tests.protocols.test_protocol_xmlrpc import RECORD


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Each test starts with the collector on and must leave it so."""
    gc.enable()
    yield
    assert gc.isenabled(), "the test left the garbage collector off"


def records(count: int) -> list[Any]:
    out = []
    for index in range(count):
        record = copy.deepcopy(RECORD)
        record[6] = ["name", f"vm{index}"]
        out.append(record)
    return out


def big_client(*answers: FakeResponse) -> tuple[aioxend.XendClient, FakeTransport]:
    queue = list(answers)

    def handler(request: Request) -> FakeResponse:
        return queue.pop(0)

    transport = FakeTransport(handler)
    return aioxend.XendClient("http://127.0.0.1:8006/", protocol="xmlrpc", transport=transport), (
        transport
    )


COUNT = 3000  # about 2.5 MB of XML: past GC_HOLD_BYTES


def test_the_answer_is_large_enough() -> None:
    assert sum(map(len, xml_answer(records(COUNT)).chunks)) > GC_HOLD_BYTES


async def test_large_domains_equal_record_by_record_conversion() -> None:
    value = records(COUNT)
    expected = [DomainInfo.from_sxp(from_xmlrpc(record)) for record in value]
    client, _ = big_client(xml_answer(value, chunk=64 * 1024))
    async with client:
        got = await client.domains(full=True)
        assert got == expected
        assert [d.sxp for d in got] == [d.sxp for d in expected]
        assert gc.isenabled()


async def test_large_raw_call_restores_the_collector() -> None:
    value = records(COUNT)
    client, _ = big_client(xml_answer(value, chunk=64 * 1024))
    async with client:
        assert await client.call("xend.domains_with_state", True, "all", False) == value
        assert gc.isenabled()


async def test_a_disabled_collector_stays_disabled() -> None:
    client, _ = big_client(xml_answer(records(COUNT), chunk=64 * 1024))
    gc.disable()
    try:
        async with client:
            assert len(await client.domains()) == COUNT
            assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_large_answer_cut_short_restores_the_collector() -> None:
    answer = xml_answer(records(COUNT), chunk=64 * 1024)
    answer.chunks = answer.chunks[: len(answer.chunks) // 2]
    answer.error = ReadError("connection lost")
    client, _ = big_client(answer)
    async with client:
        with pytest.raises(ReadError):
            await client.domains()
        assert gc.isenabled()


async def test_a_cancelled_large_call_restores_the_collector() -> None:
    answer = xml_answer(records(COUNT), chunk=16 * 1024)
    slow = FakeResponse(200, "OK", [("Content-Type", "text/xml")], answer.chunks)

    async def trickle() -> Any:
        for chunk in answer.chunks:
            yield chunk
            await anyio.sleep(0.001)

    slow.aiter_bytes = trickle  # type: ignore[method-assign]
    client, _ = big_client(slow)
    async with client:
        with anyio.move_on_after(0.2) as scope:
            await client.domains()
        assert scope.cancelled_caught
        assert gc.isenabled()


async def test_concurrent_large_calls_share_the_hold() -> None:
    value = records(COUNT)
    client, _ = big_client(*(xml_answer(value, chunk=64 * 1024) for _ in range(3)))
    results: list[int] = []

    async def one() -> None:
        results.append(len(await client.domains()))

    async with client, anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(one)
    assert results == [COUNT] * 3
    assert gc.isenabled()


async def test_a_hold_starts_past_the_threshold_and_steps_while_the_collector_was_on() -> None:
    async with GcHold() as hold:
        hold.advance(GC_HOLD_BYTES + 1)
        assert hold.held
        assert not gc.isenabled()
        before = gc.get_stats()[1]["collections"]
        hold.advance(hold.due + 1)
        assert gc.get_stats()[1]["collections"] == before + 1
        assert hold.due > GC_HOLD_BYTES + GC_STEP_BYTES
    assert gc.isenabled()
    gc.disable()
    try:
        async with GcHold() as hold:
            hold.advance(GC_HOLD_BYTES + 1)
            before = gc.get_stats()[1]["collections"]
            hold.advance(hold.due + 1)
            assert gc.get_stats()[1]["collections"] == before
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_holds_are_counted() -> None:
    async with GcHold() as first:
        first.advance(GC_HOLD_BYTES + 1)
        async with GcHold() as second:
            second.advance(GC_HOLD_BYTES + 1)
        assert not gc.isenabled()  # the first still holds
    assert gc.isenabled()


async def test_a_hold_ends_on_an_exception_and_on_a_cancel_at_its_exit() -> None:
    async def fail() -> None:
        async with GcHold() as hold:
            hold.advance(GC_HOLD_BYTES + 1)
            raise KeyError("x")

    with pytest.raises(KeyError):
        await fail()
    assert gc.isenabled()
    with anyio.CancelScope() as scope:
        async with GcHold() as hold:
            hold.advance(GC_HOLD_BYTES + 1)
            scope.cancel()  # the exit's own yields are cancelled too
    assert scope.cancelled_caught
    assert gc.isenabled()


async def test_a_typed_conversion_that_fails_restores_the_collector() -> None:
    value = records(COUNT)
    value[COUNT // 2][9] = ["memory", "lots"]  # past the hold: the record build fails
    client, _ = big_client(xml_answer(value, chunk=64 * 1024))
    async with client:
        with pytest.raises(aioxend.ProtocolError):
            await client.domains()
        assert gc.isenabled()


async def test_convert_each_keeps_order_and_yields_to_other_tasks() -> None:
    turns: list[float] = []
    stop = anyio.Event()

    async def other_task() -> None:
        while not stop.is_set():
            turns.append(time.perf_counter())
            await anyio.lowlevel.checkpoint()

    def slow_double(item: int) -> int:
        until = time.perf_counter() + 0.001
        while time.perf_counter() < until:
            pass
        return item * 2

    async with anyio.create_task_group() as group:
        group.start_soon(other_task)
        await anyio.lowlevel.checkpoint()
        started = len(turns)
        result = await convert_each(list(range(64)), slow_double)
        stop.set()
    assert result == [item * 2 for item in range(64)]
    # 64 ms of work in 5 ms slices lets the other task in several times.
    assert len(turns) - started >= 4
