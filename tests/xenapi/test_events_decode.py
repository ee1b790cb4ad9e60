"""Decoding ``event.from`` batches and events: typed, and a clear ``ProtocolError`` for
anything malformed (a property test feeds it arbitrary values)."""

from __future__ import annotations

import datetime

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.xenapi._events import Event, Subscription, decode_batch, decode_event
from aioxend.xenapi._generated.task import taskRecord

GOOD = {
    "id": "17",
    "timestamp": "0.0",
    "class": "task",
    "operation": "mod",
    "ref": "OpaqueRef:t",
    "snapshot": {"uuid": "u", "status": "pending", "progress": 0.5},
}


def test_an_event_decodes_to_its_typed_record() -> None:
    event = decode_event(GOOD)
    assert isinstance(event, Event)
    assert (event.id, event.cls, event.operation, event.ref) == (17, "task", "mod", "OpaqueRef:t")
    assert event.timestamp == datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    assert isinstance(event.snapshot, taskRecord)
    assert event.snapshot.progress == 0.5


def test_a_class_the_datamodel_lacks_keeps_its_snapshot_as_it_came() -> None:
    event = decode_event({**GOOD, "class": "future_thing", "snapshot": {"x": 1}})
    assert (event.cls, event.snapshot) == ("future_thing", {"x": 1})


def test_a_del_has_no_snapshot() -> None:
    wire = {k: v for k, v in GOOD.items() if k != "snapshot"}
    assert decode_event({**wire, "operation": "del"}).snapshot is None


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"operation": "rename"}, "unknown event operation"),
        ({"id": "seventeen"}, "expected an int"),
        ({"class": 5}, "expected a string"),
        ({"timestamp": "yesterday"}, "expected a datetime"),
        ({"snapshot": ["not", "a", "struct"]}, "task record"),
        ({"snapshot": {"progress": "half"}}, "progress"),
    ],
)
def test_a_bad_field_is_a_protocol_error(change: dict[str, object], says: str) -> None:
    with pytest.raises(ProtocolError, match=says):
        decode_event({**GOOD, **change})


def test_an_add_without_its_snapshot_is_a_protocol_error() -> None:
    wire = {k: v for k, v in GOOD.items() if k != "snapshot"}
    with pytest.raises(ProtocolError, match="without a snapshot"):
        decode_event(wire)
    with pytest.raises(ProtocolError, match="without 'ref'"):
        decode_event({k: v for k, v in GOOD.items() if k != "ref"})


@pytest.mark.parametrize(
    "batch",
    [
        [],
        "token",
        {"token": 5, "events": []},
        {"token": "t", "events": {}},
        {"token": "t", "events": [1]},
        {"token": "t", "events": [], "valid_ref_counts": {"vm": "many"}},
    ],
)
async def test_a_malformed_batch_is_a_protocol_error_naming_event_from(batch: object) -> None:
    with pytest.raises(ProtocolError, match=r"event\.from returned a bad value"):
        await decode_batch(batch)


async def test_a_batch() -> None:
    token, counts, events = await decode_batch(
        {"token": "t", "valid_ref_counts": {"task": 1}, "events": [GOOD]}
    )
    assert (token, counts, [e.ref for e in events]) == ("t", {"task": 1}, ["OpaqueRef:t"])


async def test_a_large_batch_is_decoded_in_slices_in_order() -> None:
    wire = [{**GOOD, "id": str(i), "ref": f"OpaqueRef:{i}"} for i in range(1000)]
    _, _, events = await decode_batch({"token": "t", "events": wire})
    assert [e.id for e in events] == list(range(1000))
    wire[777] = {**GOOD, "operation": "moved"}
    with pytest.raises(ProtocolError, match="unknown event operation 'moved'"):
        await decode_batch({"token": "t", "events": wire})


wire_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        "id": wire_values | st.sampled_from(["1", "22"]),
        "timestamp": wire_values | st.just("0.0"),
        "class": wire_values | st.sampled_from(["vm", "task", "VM"]),
        "operation": wire_values | st.sampled_from(["add", "mod", "del"]),
        "ref": wire_values,
        "snapshot": wire_values,
    },
)


@given(
    st.one_of(
        wire_values,
        st.fixed_dictionaries(
            {"token": wire_values, "events": st.lists(event_like | wire_values, max_size=3)},
            optional={"valid_ref_counts": wire_values},
        ),
    )
)
def test_any_batch_decodes_or_is_a_protocol_error(batch: object) -> None:
    try:
        anyio.run(decode_batch, batch)
    except ProtocolError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("event.from returned a bad value")


def test_subscriptions() -> None:
    sub = Subscription(["vm/OpaqueRef:a", "Task"])
    assert sub.register == ["VM", "task"]
    assert sub.wants("VM", "OpaqueRef:a")
    assert not sub.wants("VM", "OpaqueRef:b")
    assert sub.wants("task", "anything")
    assert not sub.wants("host", "h")
    every = Subscription(["*"])
    assert every.register == []
    assert every.wants("host", "h")
