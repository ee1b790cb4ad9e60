"""A task's result decoded by our XML-RPC decoder and typed, and every bad answer a
clear ``ProtocolError``: scripted answers, no server."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend._default import DEFAULT, TimeoutArg
from aioxend.errors import ProtocolError
from aioxend.xenapi import _values as _v
from aioxend.xenapi._generated.vm_metrics import VM_metricsRecord
from aioxend.xenapi._task import Task, decode_result
from aioxend.xenapi.errors import VmBadPowerState, from_description

REF = "OpaqueRef:0c5e"


def test_results_of_each_shape() -> None:
    assert decode_result("VM.clone", _v.string, f"<value>{REF}</value>") == REF
    assert decode_result("VM.x", _v.integer, "<value><string>42</string></value>") == 42
    assert decode_result("VM.x", _v.integer, "<value><int>42</int></value>") == 42
    assert decode_result(
        "VM.x",
        _v.list_of(_v.string),
        "<value><array><data><value>a</value><value>b</value></data></array></value>",
    ) == ["a", "b"]
    record = decode_result(
        "VM.x",
        VM_metricsRecord.from_wire,
        "<value><struct><member><name>memory_actual</name><value>1024</value></member>"
        "</struct></value>",
    )
    assert record.memory_actual == 1024
    assert decode_result("VM.start", _v.void, "") is None


@pytest.mark.parametrize(
    "text",
    [
        "<value><int>many</int></value>",
        "<value>unclosed",
        "OpaqueRef:bare",
        "<value>a</value></param></params></methodResponse><methodResponse><params><param>"
        "<value>b</value>",
        "<value><struct><member><name>memory_actual</name><value>lots</value></member>"
        "</struct></value>",
        "",
    ],
)
def test_a_bad_result_is_a_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError, match=r"VM\.x"):
        decode_result("VM.x", VM_metricsRecord.from_wire, text)


def test_xends_results_are_the_values_themselves() -> None:
    assert decode_result("VM.clone", _v.string, "5a92-uuid") == "5a92-uuid"
    assert decode_result("VM.x", _v.list_of(_v.string), ["a"]) == ["a"]
    with pytest.raises(ProtocolError, match="expected a string"):
        decode_result("VM.x", _v.string, 5)


@given(st.text(max_size=60))
def test_any_text_decodes_or_is_a_protocol_error(text: str) -> None:
    with contextlib.suppress(ProtocolError):
        decode_result("VM.x", _v.raw, text)


class Scripted:
    """A caller answering from a table (a callable per method)."""

    def __init__(self, answers: dict[str, Callable[[tuple[object, ...]], object]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,  # noqa: ASYNC109
        read: bool = False,
    ) -> object:
        self.calls.append(method)
        return self.answers[method](params)


def unknown(params: tuple[object, ...]) -> object:
    raise from_description("event.from", ["MESSAGE_METHOD_UNKNOWN", "event.from"])


def polled(record: dict[str, object]) -> Scripted:
    return Scripted(
        {"event.from": unknown, "task.get_record": lambda p: record, "task.destroy": lambda p: ""}
    )


def test_an_async_answer_that_is_no_task_reference() -> None:
    with pytest.raises(ProtocolError, match=r"Async\.VM\.clone returned a bad value"):
        Task.start(polled({}), "VM.clone", _v.string, {"not": "a ref"})


async def test_a_bad_result_is_raised_from_the_await_and_the_task_destroyed() -> None:
    caller = polled({"status": "success", "progress": 1.0, "result": "<value><int>x</int>"})
    task = Task.start(caller, "VM.clone", _v.string, REF)
    with pytest.raises(ProtocolError, match=r"VM\.clone"):
        await task
    assert caller.calls == ["event.from", "task.get_record", "task.destroy"]


async def test_a_failure_without_error_info_is_a_protocol_error() -> None:
    task = Task.start(polled({"status": "failure", "error_info": []}), "VM.x", _v.void, REF)
    with pytest.raises(ProtocolError, match="no error_info"):
        await task


async def test_a_bad_task_record_is_a_protocol_error() -> None:
    task = Task.start(polled({"status": "done?", "progress": "half"}), "VM.x", _v.void, REF)
    with pytest.raises(ProtocolError, match="progress"):
        await task


async def test_a_bad_event_batch_while_watching_is_a_protocol_error() -> None:
    caller = Scripted({"event.from": lambda p: {"token": 1}, "task.destroy": lambda p: ""})
    task = Task.start(caller, "VM.x", _v.void, REF)
    with pytest.raises(ProtocolError, match=r"event\.from returned a bad value"):
        await task


async def test_xend_is_learnt_once_per_caller() -> None:
    caller = polled({"status": "success", "progress": 1.0, "result": ""})
    await Task.start(caller, "VM.x", _v.void, REF)
    await Task.start(caller, "VM.x", _v.void, REF + "2")
    assert caller.calls.count("event.from") == 1


def test_the_async_namespace_loads_one_class_module_on_first_use() -> None:
    from tests.xenapi.test_generated_code import loaded_after

    code = (
        "from aioxend.xenapi._generated import Namespace\n"
        "class C(Namespace):\n"
        "    async def call(self, *a, **k): return None\n"
        "C().Async.VBD\n"
    )
    prefix = "aioxend.xenapi._generated._async"
    assert {m for m in loaded_after(code) if m.startswith(prefix)} == {
        prefix,
        f"{prefix}.vbd",
    }
    assert "aioxend.xenapi._task" not in loaded_after("import aioxend.xenapi")


async def test_xends_task_records_are_read_as_xend_writes_them() -> None:
    # XendTask.get_record: progress in percent, the code apart, allowed_operations a struct
    xend: dict[str, object] = {"progress": "100", "error_code": "", "allowed_operations": {}}
    record: dict[str, object] = {**xend, "status": "success", "result": "uuid"}
    done = Task.start(polled(record), "VM.clone", _v.string, REF)
    assert await done == "uuid"
    assert done.progress == 1.0
    failed: dict[str, object] = {
        **xend,
        "status": "failure",
        "error_code": "VM_BAD_POWER_STATE",
        "error_info": [REF, "Halted", "Running"],
    }
    task = Task.start(polled(failed), "VM.start", _v.void, REF)
    with pytest.raises(VmBadPowerState) as caught:
        await task
    assert (caught.value.expected, caught.value.actual) == ("Halted", "Running")
