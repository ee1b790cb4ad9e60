"""The pool state, the power-state machine and the datamodel's types, without sockets."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from aioxend.emulator.xenapi import Failure, Pool
from aioxend.emulator.xenapi._datamodel import error_params, model
from aioxend.emulator.xenapi._power import OPERATIONS
from aioxend.emulator.xenapi._records import new_record
from aioxend.emulator.xenapi._types import Type, coerce, parse_default, parse_type

STATES = ("Halted", "Paused", "Running", "Suspended")


def test_every_class_makes_a_full_record() -> None:
    for cls in model().classes.values():
        record = new_record(cls, "OpaqueRef:NULL")
        assert set(record) == set(cls.fields)
    host = new_record(model().classes["host"], "OpaqueRef:NULL")
    assert host["license_server"] == {"address": "localhost", "port": "27000"}
    assert host["virtual_hardware_platform_versions"] == [0]
    assert host["last_software_update"] == datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    vm = new_record(model().classes["VM"], "")
    assert vm["power_state"] == "Halted"
    assert vm["HVM_shadow_multiplier"] == 1.0
    for cls in model().classes.values():  # no record shares a set or map with another
        a, b = new_record(cls, ""), new_record(cls, "")
        for name, value in a.items():
            if isinstance(value, (dict, list)):
                assert value is not b[name]
                inners = value.values() if isinstance(value, dict) else value
                assert not any(isinstance(inner, (dict, list)) for inner in inners)
    assert vm["generation_id"] == "0:0"
    assert vm["snapshot_of"] == ""


def test_type_strings() -> None:
    assert parse_type("(VM ref -> VM record) map") == Type(
        "map", args=(Type("ref", "VM"), Type("record", "VM"))
    )
    assert parse_type("enum vm_operations set") == Type(
        "set", args=(Type("enum", "vm_operations"),)
    )
    assert parse_type("(string -> enum vm_operations) map").args[1] == Type("enum", "vm_operations")
    with pytest.raises(ValueError, match="unknown"):
        parse_type("blob of bytes")
    for cls in model().classes.values():  # every type of the datamodel parses
        for field in cls.fields.values():
            parse_type(field.type)


def test_defaults_in_quoted_maps() -> None:
    kind = parse_type("(string -> string) map")
    assert parse_default(kind, '{"a, b" -> "c", "d" -> "e"}', "") == {"a, b": "c", "d": "e"}


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_ints_coerce_from_either_wire(value: int) -> None:
    kind = parse_type("int")
    assert coerce(kind, value, "x") == value
    assert coerce(kind, str(value), "x") == value


@given(st.one_of(st.booleans(), st.floats(), st.none(), st.lists(st.integers()), st.text()))
@example("0\x1f")  # str.strip() takes \x1f for a blank; int() does not
@example("1_000")
@example("-+5")
@example("\u0663")  # ARABIC-INDIC DIGIT THREE, which int() reads as 3
def test_wrong_types_are_field_type_errors(value: object) -> None:
    kind = parse_type("int")
    text = value.strip(" \t\r\n") if isinstance(value, str) else ""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if isinstance(value, str) and digits and set(digits) <= set("0123456789"):
        assert coerce(kind, value, "memory") == int(value)
        return
    with pytest.raises(Failure) as info:
        coerce(kind, value, "memory")
    assert info.value.description == ["FIELD_TYPE_ERROR", "memory"]


def test_datetimes_in_every_form() -> None:
    kind = parse_type("datetime")
    want = datetime.datetime(2024, 4, 20, 12, tzinfo=datetime.UTC)
    for value in (
        "20240420T12:00:00Z",
        "20240420T12:00:00",
        "2024-04-20T12:00:00Z",
        xmlrpc.client.DateTime("20240420T12:00:00"),
        want.replace(tzinfo=None),
    ):
        assert coerce(kind, value, "when") == want


@given(st.sampled_from(sorted(OPERATIONS)), st.sampled_from(STATES), st.booleans())
def test_power_machine_follows_its_table(op: str, state: str, paused: bool) -> None:
    pool = Pool(vms=1)
    vm = pool.vm("vm1")
    pool.set_power_state(vm, state)
    rule = OPERATIONS[op]
    if op == "destroy":
        return
    if state not in rule.allowed:
        with pytest.raises(Failure) as info:
            pool.power(op, vm, paused=paused)
        expected = ", ".join(s.lower() for s in rule.allowed)
        assert info.value.description == ["VM_BAD_POWER_STATE", vm, expected, state.lower()]
        assert pool.get("VM", vm)["power_state"] == state
        return
    pool.power(op, vm, paused=paused)
    record = pool.get("VM", vm)
    assert state in rule.allowed
    want = rule.paused_target if paused and rule.paused_target else rule.target or state
    assert record["power_state"] == want
    live = want in ("Running", "Paused")
    assert (record["resident_on"] != "OpaqueRef:NULL") == live
    assert (record["domid"] != -1) == live
    resident = [v for h in pool.hosts for v in cast(list[str], pool.get("host", h)["resident_VMs"])]
    assert (vm in resident) == live
    allowed = set(cast(list[str], record["allowed_operations"]))
    assert allowed == {o for o, r in OPERATIONS.items() if want in r.allowed}


def test_seeded_pools_are_deterministic() -> None:
    a, b = Pool(vms=5, hosts=2, seed=9), Pool(vms=5, hosts=2, seed=9)
    assert a.objects == b.objects
    assert Pool(seed=1).pool_ref != Pool(seed=2).pool_ref
    states = [a.get("VM", a.vm(f"vm{i}"))["power_state"] for i in range(1, 6)]
    assert states == ["Running", "Halted", "Paused", "Suspended", "Running"]


def test_session_expiry_by_idle_time() -> None:
    now = [100.0]
    pool = Pool(session_timeout=10.0, clock=lambda: now[0])
    ref = pool.login(pool.master, "root", "xenroot")
    now[0] += 9.0
    pool.check_session(ref)
    now[0] += 9.0  # idle time counts from the last use
    pool.check_session(ref)
    now[0] += 11.0
    with pytest.raises(Failure) as info:
        pool.check_session(ref)
    assert info.value.description == ["SESSION_INVALID", ref]
    assert ref not in pool.sessions()


def test_bad_pools_are_refused() -> None:
    with pytest.raises(ValueError, match="host"):
        Pool(hosts=0)
    with pytest.raises(ValueError, match="negative"):
        Pool(vms=-1)
    with pytest.raises(KeyError):
        Pool().vm("vm99")


def test_error_names_come_from_errors_json() -> None:
    assert error_params("VM_BAD_POWER_STATE") == ["vm", "expected", "actual"]
    assert error_params("HANDLE_INVALID") == ["class", "handle"]
    assert error_params("NO_SUCH_CODE") is None


def test_add_vm() -> None:
    pool = Pool(vms=0, hosts=2)
    ref = pool.add_vm("extra", "Running", pool.hosts[1])
    record = pool.get("VM", ref)
    assert record["resident_on"] == pool.hosts[1]
    assert record["power_state"] == "Running"
    assert ref in cast(list[str], pool.get("host", pool.hosts[1])["resident_VMs"])
    assert pool.get("VM", pool.add_vm("off"))["resident_on"] == "OpaqueRef:NULL"
    with pytest.raises(ValueError, match="power state"):
        pool.add_vm("bad", "Crashed")
