"""The generated classes: they match the datamodel, call through the Caller as the contract
says, and decode what they get back into typed values."""

from __future__ import annotations

import datetime
import importlib
import inspect
import json
import keyword
from pathlib import Path

import pytest

from aioxend._default import DEFAULT, TimeoutArg
from aioxend.errors import ProtocolError
from aioxend.xenapi._generated import CLASSES, NO_SESSION, PUBLIC, Namespace
from aioxend.xenapi._generated._enums.vm_operations import VmOperations
from aioxend.xenapi._generated._enums.vm_power_state import VmPowerState
from aioxend.xenapi._generated._refs import VMRef, hostRef
from aioxend.xenapi._generated.event import EventBatch, eventRecord
from aioxend.xenapi._generated.vm import VMRecord

DATAMODEL = json.loads(
    (Path(__file__).resolve().parents[2] / "aioxend/xenapi/data/xenapi.json").read_text("utf-8")
)


class FakeCaller(Namespace):
    """A caller that records each call and answers from a queue."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, tuple[object, ...], TimeoutArg, bool]] = []

    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,  # noqa: ASYNC109 (the Caller protocol)
        read: bool = False,
    ) -> object:
        self.calls.append((method, params, timeout, read))
        return self.answers.pop(0) if self.answers else ""


def module_of(name: str) -> object:
    return importlib.import_module(f"aioxend.xenapi._generated.{name.lower()}")


@pytest.mark.parametrize("cls", DATAMODEL, ids=lambda c: c["name"])
def test_methods_follow_the_datamodel(cls: dict[str, object]) -> None:
    methods = getattr(module_of(str(cls["name"])), str(cls["name"]))
    for message in cls["messages"]:  # type: ignore[attr-defined]
        name = message["name"] + ("_" if keyword.iskeyword(message["name"]) else "")
        if message["lifecycle"]["state"] == "Removed_s":
            assert not hasattr(methods, name), name
            continue
        params = [p["name"] for p in message["params"]]
        if params[:1] == ["session_id"]:
            params = params[1:]
        expected = [p + "_" if p in ("self", "timeout", "class") else p for p in params]
        signature = inspect.signature(getattr(methods, name))
        assert list(signature.parameters) == ["self", *expected, "timeout"], name
        assert signature.parameters["timeout"].kind is inspect.Parameter.KEYWORD_ONLY
        assert signature.parameters["timeout"].default is DEFAULT
        first_words = " ".join(message["description"].split()[:3])
        assert first_words in (getattr(methods, name).__doc__ or ""), name


@pytest.mark.parametrize("cls", DATAMODEL, ids=lambda c: c["name"])
def test_record_fields_follow_the_datamodel(cls: dict[str, object]) -> None:
    record = getattr(module_of(str(cls["name"])), f"{cls['name']}Record")
    published = [
        f["name"] + ("_" if f["name"] == "class" else "")
        for f in cls["fields"]  # type: ignore[attr-defined]
        if f["lifecycle"]["state"] != "Removed_s"
    ]
    assert list(record.__dataclass_fields__) == [*published, "extra"]
    assert record.from_wire({}) == record()


async def test_get_record_calls_through_and_decodes() -> None:
    caller = FakeCaller({"uuid": "u1", "power_state": "Running", "memory_static_max": "1024"})
    record = await caller.VM.get_record(VMRef("OpaqueRef:1"), timeout=5.0)
    assert caller.calls == [("VM.get_record", ("OpaqueRef:1",), 5.0, True)]
    assert isinstance(record, VMRecord)
    assert record.power_state is VmPowerState.RUNNING
    assert record.memory_static_max == 1024
    assert record.name_label == ""  # missing: the datamodel's default


async def test_class_objects_are_made_once_per_caller() -> None:
    one, two = FakeCaller(), FakeCaller()
    assert one.VM is one.VM
    assert one.VM is not two.VM
    assert type(one.host).__name__ == "host"
    assert repr(one.VM) == "<Xen-API class VM>"
    with pytest.raises(AttributeError):
        one.NoSuchClass  # type: ignore[attr-defined]  # noqa: B018


async def test_writes_are_not_marked_read_and_arguments_are_plain() -> None:
    caller = FakeCaller()
    await caller.VM.start(VMRef("OpaqueRef:1"), False, True)
    await caller.VM.set_other_config(VMRef("OpaqueRef:1"), {"a": "b"})
    await caller.VM.set_blocked_operations(VMRef("r"), {VmOperations.START: "no"})
    await caller.VM.set_HVM_boot_params(VMRef("r"), {})
    assert caller.calls[0] == ("VM.start", ("OpaqueRef:1", False, True), DEFAULT, False)
    assert caller.calls[1][:2] == ("VM.set_other_config", ("OpaqueRef:1", {"a": "b"}))
    blocked = caller.calls[2][1][1]
    assert blocked == {"start": "no"}
    assert isinstance(blocked, dict)
    assert [type(k) for k in blocked] == [str]


async def test_read_only_role_messages_that_read_are_marked_read() -> None:
    caller = FakeCaller(["OpaqueRef:h"], "", "")
    assert await caller.VM.get_possible_hosts(VMRef("r")) == [hostRef("OpaqueRef:h")]
    await caller.task.cancel("OpaqueRef:t")  # type: ignore[arg-type]
    await caller.session.logout()
    assert [c[3] for c in caller.calls] == [True, False, False]


async def test_event_from_takes_its_own_timeout_and_decodes_the_batch() -> None:
    snapshot = {"uuid": "u", "name_label": "vm1"}
    batch = {
        "token": "42,17",
        "valid_ref_counts": {"vm": "3"},
        "events": [
            {
                "id": "7",
                "timestamp": "1627478400.",
                "class": "vm",
                "operation": "mod",
                "ref": "OpaqueRef:1",
                "snapshot": snapshot,
            }
        ],
    }
    caller = FakeCaller(batch)
    result = await caller.event.from_(["vm"], "", 30.0, timeout=None)
    assert caller.calls == [("event.from", (["vm"], "", 30.0), None, True)]
    assert isinstance(result, EventBatch)
    assert result.valid_ref_counts == {"vm": 3}
    [event] = result.events
    assert isinstance(event, eventRecord)
    assert event.class_ == "vm"
    assert event.operation == "mod"
    assert event.id == 7
    assert event.snapshot == snapshot
    assert event.timestamp == datetime.datetime(2021, 7, 28, 13, 20, tzinfo=datetime.UTC)


async def test_bad_result_is_a_protocol_error_naming_method_class_and_field() -> None:
    caller = FakeCaller({"memory_static_max": "a lot"}, ["OpaqueRef:1", 2])
    bad_field = r"VM\.get_record .*VM record field 'memory_static_max'"
    with pytest.raises(ProtocolError, match=bad_field):
        await caller.VM.get_record(VMRef("r"))
    with pytest.raises(ProtocolError, match=r"VM\.get_all .*expected a string"):
        await caller.VM.get_all()


def test_unknown_fields_are_kept_and_unknown_enum_values_too() -> None:
    record = VMRecord.from_wire({"power_state": "Hibernating", "future_field": [1]})
    assert record.power_state == "Hibernating"
    assert isinstance(record.power_state, VmPowerState)
    assert record.extra == {"future_field": [1]}
    assert record.to_wire()["future_field"] == [1]
    assert record == VMRecord(power_state=VmPowerState("Hibernating"))  # extra not compared


def test_a_bad_value_in_a_full_struct_names_its_field() -> None:
    wire = VMRecord().to_wire()
    assert VMRecord.from_wire(wire) == VMRecord()
    wire["VCPUs_max"] = "eight"
    with pytest.raises(ProtocolError, match="VM record field 'VCPUs_max': expected an int"):
        VMRecord.from_wire(wire)


def test_records_refuse_what_is_not_a_struct() -> None:
    bad: object
    for bad in (None, [], "VM", 3):
        with pytest.raises(ProtocolError, match="VM record"):
            VMRecord.from_wire(bad)


def test_no_session_lists_the_logins() -> None:
    assert {"session.login_with_password", "session.slave_local_login_with_password"} <= NO_SESSION
    assert "session.logout" not in NO_SESSION


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_names_live_where_the_table_says(name: str) -> None:
    assert hasattr(importlib.import_module(f"aioxend.xenapi._generated.{PUBLIC[name]}"), name)


def test_every_class_is_an_attribute() -> None:
    caller = FakeCaller()
    for name in CLASSES:
        assert getattr(caller, name).xenapi_name == name
