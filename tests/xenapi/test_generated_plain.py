"""Each record's generated fast path (``_plain_...``) gives what the general decoders give.

A random record's wire struct, in both wires' forms, is decoded with and without the fast
path: the records are equal with values of the same types, the fast path is taken for the
clean struct, and a struct with one field replaced by anything either decodes the same both
ways or raises the same ``ProtocolError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.xenapi import _values as v
from aioxend.xenapi._generated import CLASSES
from tests.xenapi.test_generated_records import (
    ANY_VALUE,
    as_json,
    as_xmlrpc,
    record_class,
    record_strategy,
)


def parts(name: str) -> tuple[Any, v.Fields, Any]:
    """The record class of ``name``, its field table and its fast path."""
    cls = record_class(name)
    module = importlib.import_module(cls.__module__)
    fields = getattr(module, f"_{cls.__name__.upper()}_FIELDS")
    return cls, fields, getattr(module, f"_plain_{cls.__name__}")


def owned(name: str) -> Any:
    """``_own_...`` of the record class of ``name``: a record made of the struct itself."""
    cls = record_class(name)
    return getattr(importlib.import_module(cls.__module__), f"_own_{cls.__name__}")


def decoded(cls: Any, fields: v.Fields, wire: object, plain: Any, own: bool = False) -> object:
    """The record ``wire`` gives (its values and their types, ``extra`` included, in no
    order), or the message of the ``ProtocolError`` it raises."""
    try:
        record = v.decode_record(cls, "the record", fields, wire, plain, own=own)
    except ProtocolError as exc:
        return str(exc)
    return sorted((k, str(type(x)), repr(x)) for k, x in vars(record).items())


def same_both_ways(cls: Any, fields: v.Fields, wire: object, plain: Any) -> None:
    """The fast path, the general decoders, and the fast path owning a copy of ``wire``
    give the same (the copy is one level deep: ``own`` changes the struct, not its
    values); the struct owned is the record's ``__dict__`` when the fast path took it."""
    general = decoded(cls, fields, wire, None)
    assert decoded(cls, fields, wire, plain) == general
    assert isinstance(wire, dict)
    mine = dict(wire)
    assert decoded(cls, fields, mine, plain, own=True) == general


@pytest.mark.parametrize("name", CLASSES)
@settings(max_examples=10)
@given(data=st.data())
def test_fast_path_gives_what_the_decoders_give(name: str, data: st.DataObject) -> None:
    cls, fields, plain = parts(name)
    record: Any = data.draw(record_strategy(cls))
    keys = [key for _, key, _ in fields]
    for wire in (as_json(record.to_wire()), as_xmlrpc(record.to_wire())):
        assert isinstance(wire, dict)
        assert plain(wire, False) is not None  # the clean struct takes the fast path
        same_both_ways(cls, fields, wire, plain)
        if keys:
            wire[data.draw(st.sampled_from(keys))] = data.draw(ANY_VALUE)
            same_both_ways(cls, fields, wire, plain)


def test_fast_path_copies_and_keeps_unknown_enum_values_and_extra_fields() -> None:
    cls, fields, plain = parts("VM")
    wire: Any = as_json(cls().to_wire())
    wire.update(power_state="Levitating", tags=["a"], other_config={"k": "v"}, new_field=1)
    wire["allowed_operations"] = ["start", "teleport"]
    wire["blocked_operations"] = {"teleport": "no", "start": "yes"}
    assert plain(wire, False) is not None
    record = cls.from_wire(wire)
    assert record.power_state == "Levitating"
    assert type(record.power_state) is type(cls().power_state)
    assert record.allowed_operations == ["start", "teleport"]
    assert record.blocked_operations == {"teleport": "no", "start": "yes"}
    assert record.extra == {"new_field": 1}
    assert record.tags == ["a"]
    assert record.tags is not wire["tags"]
    assert record.other_config == {"k": "v"}
    assert record.other_config is not wire["other_config"]
    same_both_ways(cls, fields, wire, plain)
    wire["tags"] = ("a",)  # not what a wire gives, but what the decoders take for a list
    assert plain(wire, False) is None
    assert cls.from_wire(wire).tags == ["a"]


@pytest.mark.parametrize("name", CLASSES)
def test_an_owned_struct_becomes_the_record(name: str) -> None:
    cls = record_class(name)
    wire: Any = as_json(cls().to_wire())
    wire["a_newer_field"] = [1]
    record = owned(name)(wire)
    assert record == cls.from_wire(as_json(cls().to_wire()))
    assert vars(record) is wire
    assert record.extra == {"a_newer_field": [1]}
    assert set(wire) == {f.name for f in dataclasses.fields(cls)}


def test_an_owned_struct_the_fast_path_refuses_is_left_as_it_came() -> None:
    cls, _, plain = parts("VM")
    wire: Any = as_json(cls().to_wire())
    wire["memory_target"] = "lots"
    before = dict(wire)
    assert plain(wire, True) is None
    assert wire == before
    with pytest.raises(ProtocolError, match="VM record field 'memory_target'"):
        owned("VM")(wire)


def test_an_owned_struct_renames_a_key_and_keeps_one_named_as_the_attribute() -> None:
    cls, _, plain = parts("event")
    wire: Any = as_json(cls(class_="VM").to_wire())
    assert "class" in wire
    record = owned("event")(wire)
    assert record.class_ == "VM"
    assert "class" not in vars(record)
    wire = as_json(cls(class_="VM").to_wire())
    wire["class_"] = "a server's own field"
    assert plain(wire, True) is None
    record = owned("event")(wire)
    assert record.class_ == "VM"
    assert record.extra == {"class_": "a server's own field"}


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("memory_target", "12 "),
        ("memory_target", "1_000"),
        ("memory_target", "1" * 21),
        ("memory_target", True),
        ("domid", "\u0661"),  # an Arabic-Indic one: int() reads it, xapi never sends it
        ("name_label", 7),
        ("tags", ["a", 1]),
        ("other_config", {"k": 1}),
        ("is_a_template", 1),
        ("power_state", ["Running"]),
        ("HVM_shadow_multiplier", "x"),
        ("snapshot_time", "yesterday"),
    ],
)
def test_a_bad_field_is_the_general_decoders_error(field: str, bad: object) -> None:
    cls, fields, plain = parts("VM")
    wire: Any = as_json(cls().to_wire())
    wire[field] = bad
    assert plain(wire, False) is None
    same_both_ways(cls, fields, wire, plain)
    with pytest.raises(ProtocolError, match=f"VM record field '{field}'"):
        cls.from_wire(wire)


def test_every_record_class_has_a_fast_path() -> None:
    for name in CLASSES:
        cls, _, plain = parts(name)
        wire = as_json(cls().to_wire())
        assert plain(wire, False) is not None, name
        assert dataclasses.is_dataclass(cls)
