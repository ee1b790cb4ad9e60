"""``result_sliced``: a large map or set of records is decoded by the same decoder in
slices, with the loop free between them; the answer equals the whole decode, errors
included, and a small answer is decoded at once."""

from __future__ import annotations

import gc

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.xenapi import _values as v
from aioxend.xenapi._generated.vm import VMRecord
from tests.xenapi.test_generated import FakeCaller

ROWS = v.map_of(v.string, v.list_of(v.integer))
RECORDS = v.map_of(v.string, VMRecord.from_wire)
RECORD_LIST = v.list_of(VMRecord.from_wire)


def vm(index: int) -> dict[str, object]:
    return {"uuid": f"u{index}", "name_label": f"vm{index}", "memory_static_max": str(index)}


@given(
    st.dictionaries(
        st.text(max_size=5), st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3), max_size=40
    )
)
def test_a_sliced_map_equals_the_whole(value: dict[str, list[int]]) -> None:
    wire = {k: [str(i) for i in items] for k, items in value.items()}
    sliced = anyio.run(v.result_sliced, "m", ROWS, wire)
    assert sliced == v.result("m", ROWS, wire) == value
    assert list(sliced) == list(value)  # the order too


@pytest.mark.parametrize("count", [0, 1, v.SLICE_ITEMS, v.SLICE_ITEMS + 1, 100])
async def test_sliced_records_equal_the_whole(count: int) -> None:
    by_ref = {f"OpaqueRef:{i}": vm(i) for i in range(count)}
    assert await v.result_sliced("VM.get_all_records", RECORDS, by_ref) == v.result(
        "VM.get_all_records", RECORDS, by_ref
    )
    as_list = list(by_ref.values())
    assert await v.result_sliced("m", RECORD_LIST, as_list) == v.result("m", RECORD_LIST, as_list)


@pytest.mark.parametrize("bad", [{"OpaqueRef:1": vm(1), "OpaqueRef:x": 5}, "not a map", None])
async def test_a_bad_answer_is_the_same_error_sliced(bad: object) -> None:
    if isinstance(bad, dict):
        bad = {f"OpaqueRef:{i}": vm(i) for i in range(40)} | bad
    with pytest.raises(ProtocolError) as whole:
        v.result("VM.get_all_records", RECORDS, bad)
    with pytest.raises(ProtocolError) as sliced:
        await v.result_sliced("VM.get_all_records", RECORDS, bad)
    assert str(sliced.value) == str(whole.value)
    assert str(sliced.value).startswith("VM.get_all_records returned a bad value")


async def ran_beside(answer: object, monkeypatch: pytest.MonkeyPatch) -> tuple[object, int]:
    """``VM.get_all_records`` of ``answer`` with a slice budget of zero (a yield after
    every slice), and how many times another task ran while it was decoded."""
    monkeypatch.setattr(v, "SLICE_SECONDS", 0.0)
    turns = 0
    running = True

    async def other() -> None:
        nonlocal turns
        while running:
            await anyio.lowlevel.checkpoint()
            turns += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.lowlevel.checkpoint()  # ``other`` is running
        before = turns
        records = await FakeCaller(answer).VM.get_all_records()
        during = turns - before
        running = False
    return records, during


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_large_answer_lets_other_tasks_run_between_slices(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = {f"OpaqueRef:{i}": vm(i) for i in range(10 * v.SLICE_ITEMS)}
    records, during = await ran_beside(answer, monkeypatch)
    assert records == v.result("VM.get_all_records", RECORDS, answer)
    assert during >= 9  # one turn at least between each two of the ten slices


async def test_a_small_answer_is_decoded_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {f"OpaqueRef:{i}": vm(i) for i in range(v.SLICE_ITEMS)}
    records, during = await ran_beside(answer, monkeypatch)
    assert len(records) == v.SLICE_ITEMS  # type: ignore[arg-type]
    assert during == 0


async def test_the_collector_is_held_while_a_large_answer_decodes() -> None:
    seen: list[bool] = []

    def item(value: object) -> object:
        seen.append(gc.isenabled())
        return value

    assert gc.isenabled()
    assert await v.result_sliced("m", v.list_of(item), list(range(40))) == list(range(40))
    assert seen == [False] * 40
    assert gc.isenabled()
    assert v.result("m", v.list_of(item), [1]) == [1]
    assert seen[-1]
