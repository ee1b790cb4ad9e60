"""Records of every class round-trip through both wires' value forms to equal typed values.

A random record goes out through ``to_wire`` and comes back two ways: as JSON-RPC would carry
it (a real JSON round trip: ints as numbers, datetimes as text, floats possibly ``Infinity``)
and as XML-RPC would (the standard library's XML-RPC round trip with ints as decimal strings,
as xapi sends them, and datetimes as ``DateTime``).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import types
import typing
import xmlrpc.client
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.xenapi._generated import CLASSES

UTC_SECONDS = st.datetimes(
    min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(2200, 1, 1)
).map(lambda d: d.replace(microsecond=0, tzinfo=datetime.UTC))

# Text XML can carry unchanged (no control characters, no U+FFFE/U+FFFF).
XML_TEXT = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
    max_size=8,
)


def record_class(name: str) -> Any:
    """The record class of ``name`` (its type is what the test draws, so left open)."""
    return getattr(
        importlib.import_module(f"aioxend.xenapi._generated.{name.lower()}"), f"{name}Record"
    )


def strategy(hint: object) -> st.SearchStrategy[object]:
    """Values of a generated field's type (NaN left out: it equals nothing)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is str or hint is object:  # object: a snapshot's values, kept as they come
        return XML_TEXT
    if hint is int:
        return st.integers(min_value=-(2**63), max_value=2**63 - 1)
    if hint is float:
        return st.floats(allow_nan=False)
    if hint is bool:
        return st.booleans()
    if hint is datetime.datetime:
        return UTC_SECONDS
    if getattr(hint, "__supertype__", None) is str:
        return st.uuids().map(lambda u: f"OpaqueRef:{u}")
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return st.sampled_from(list(hint))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return record_strategy(hint)
    if origin is list:
        return st.lists(strategy(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=3)
    if origin in (typing.Union, types.UnionType):
        known = [a for a in args if a is not str and a is not type(None)] or [str]
        return strategy(known[0]) | (st.none() if type(None) in args else st.nothing())
    raise AssertionError(f"no strategy for {hint!r}")


def record_strategy(cls: type) -> st.SearchStrategy[object]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy(hints[f.name]) for f in dataclasses.fields(cls) if f.name != "extra"}
    return st.fixed_dictionaries(fields).map(lambda kw: cls(**kw))


def as_json(value: object) -> object:
    def default(v: object) -> object:
        if isinstance(v, datetime.datetime):
            return v.strftime("%Y%m%dT%H:%M:%SZ")
        raise TypeError(v)

    return json.loads(json.dumps(value, default=default))


def ints_as_text(value: object) -> object:
    """What xapi's XML-RPC carries: ints as decimal strings, struct keys as strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return [ints_as_text(v) for v in value]
    if isinstance(value, dict):
        return {str(ints_as_text(k)): ints_as_text(v) for k, v in value.items()}
    return value


def as_xmlrpc(value: object) -> object:
    body = xmlrpc.client.dumps((ints_as_text(_naive_datetimes(value)),))  # type: ignore[arg-type]
    (decoded,), _ = xmlrpc.client.loads(body, use_datetime=False)
    return decoded


def _naive_datetimes(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, list):
        return [_naive_datetimes(v) for v in value]
    if isinstance(value, dict):
        return {k: _naive_datetimes(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name", CLASSES)
@settings(max_examples=15)
@given(data=st.data())
def test_record_round_trips_through_both_wires(name: str, data: st.DataObject) -> None:
    cls = record_class(name)
    record: Any = data.draw(record_strategy(cls))
    wire = record.to_wire()
    from_json = cls.from_wire(as_json(wire))
    from_xmlrpc = cls.from_wire(as_xmlrpc(wire))
    assert from_json == from_xmlrpc == record


def test_infinite_floats_come_as_text_over_json() -> None:
    record = record_class("VM").from_wire({"HVM_shadow_multiplier": "+Infinity"})
    assert record.HVM_shadow_multiplier == float("inf")
    record = record_class("host_cpu").from_wire({"utilisation": "-Infinity"})
    assert record.utilisation == float("-inf")


ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | XML_TEXT
    | st.datetimes()
    | st.builds(xmlrpc.client.DateTime, XML_TEXT),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(XML_TEXT, inner, max_size=3),
    max_leaves=6,
)


@pytest.mark.parametrize("name", CLASSES)
@settings(max_examples=20)
@given(data=st.data())
def test_any_struct_gives_a_record_or_a_protocol_error(name: str, data: st.DataObject) -> None:
    cls = record_class(name)
    keys = [f.name.rstrip("_") for f in dataclasses.fields(cls) if f.name != "extra"]
    key = st.sampled_from(keys) | XML_TEXT if keys else XML_TEXT
    wire = data.draw(st.dictionaries(key, ANY_VALUE, max_size=6))
    try:
        record = cls.from_wire(wire)
    except ProtocolError as exc:
        message = str(exc)
    else:
        assert isinstance(record, cls)
        return
    assert f"{name} record field" in message
