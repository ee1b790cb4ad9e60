"""The explicit messages the emulator implements: sessions, VM power, clones and
snapshots, the VCPU and memory setters, host clocks, tasks, events.

Each handler takes the checked ``Call`` (its ``args`` already converted to their
datamodel types, the session already valid) and returns the result value, or raises a
``Failure``. The VM operations follow ``_power``; ``start_on``/``resume_on`` place the
VM on the named host.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aioxend.emulator.xenapi import _events, _power
from aioxend.emulator.xenapi._datamodel import model
from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._records import plain_copy
from aioxend.emulator.xenapi._tasks import new_task

if TYPE_CHECKING:
    from aioxend.emulator.xenapi._dispatch import Call

__all__ = ["HANDLERS", "check_power"]


def _login(call: Call) -> object:
    args = call.args
    originator = str(args[3]) if len(args) > 3 else ""
    return call.pool.login(call.host, args[0], args[1], originator)


def _logout(call: Call) -> object:
    call.pool.logout(call.session)
    return ""


def check_power(call: Call, op: str, state: str) -> None:
    """``VM_BAD_POWER_STATE`` unless ``op`` may run on a VM in ``state``."""
    _power.transition(op, call.args[0], state, paused=False, dialect=call.pool.dialect)


def _power_op(op: str) -> Callable[[Call], object]:
    def handler(call: Call) -> object:
        args = call.args
        host: str | None = None
        if op in ("start_on", "resume_on"):
            host = args[1]
            call.pool.get("host", host)
        paused = op in ("start", "resume", "start_on", "resume_on") and bool(args[-2])
        call.pool.power(op, args[0], paused=paused, host=host)
        return ""

    handler.__name__ = f"VM_{op}"
    return handler


def _servertime(call: Call) -> object:
    call.pool.get("host", call.args[0])
    return datetime.now(UTC).replace(microsecond=0)


def _task_destroy(call: Call) -> object:
    call.pool.remove("task", call.args[0])
    return ""


def _task_cancel(call: Call) -> object:
    record = call.pool.get("task", call.args[0])
    # xend: XendAPI.task_cancel always refused
    if call.pool.dialect == "xend":
        raise Failure("OPERATION_NOT_ALLOWED", "task is not pending")
    if call.pool.tasks.cancel(call.args[0]):
        return ""
    if record["status"] != "pending":
        raise Failure("OPERATION_NOT_ALLOWED", "task is not pending")
    # Xapi_task.cancel: a task.create'd task is marked; whoever works on it ends it
    record["status"] = "cancelling"
    call.pool.touch("task", call.args[0])
    return ""


def _task_create(call: Call) -> object:
    label, description = call.args[0], call.args[1]
    return new_task(call.pool, label, description, call.host, call.session)


def _new_vm(call: Call, op: str, fields: dict[str, object]) -> str:
    """``clone``/``copy``/``snapshot``: a halted copy of the VM's record, with new metrics."""
    pool, vm = call.pool, call.args[0]
    call.pool.power(op, vm)
    source = pool.get("VM", vm)
    keep = {k: plain_copy(v) for k, v in source.items() if k not in _NOT_COPIED}
    metrics = pool.add("VM_metrics", {"memory_actual": source["memory_static_max"]})
    ref = pool.add("VM", {**keep, **fields, "name_label": call.args[1], "metrics": metrics})
    pool.set_power_state(ref, _power.HALTED)
    return ref


_NOT_COPIED = frozenset({"uuid", "power_state", "resident_on", "domid", "metrics", "snapshots"})


def _clone(call: Call) -> object:
    return _new_vm(call, "clone", {})


def _copy(call: Call) -> object:
    if call.args[2] != call.pool.null_ref:
        call.pool.get("SR", call.args[2])
    return _new_vm(call, "copy", {})


def _snapshot(call: Call) -> object:
    vm = call.args[0]
    fields = {
        "is_a_snapshot": True,
        "snapshot_of": vm,
        "snapshot_time": datetime.now(UTC).replace(microsecond=0),
    }
    ref = _new_vm(call, "snapshot", fields)
    snapshots = call.pool.get("VM", vm)["snapshots"]
    assert isinstance(snapshots, list)
    snapshots.append(ref)
    call.pool.touch("VM", vm)
    return ref


def _no_events_in_xend(call: Call) -> None:
    if call.pool.dialect == "xend":  # xend had event.register/next only
        raise Failure("MESSAGE_METHOD_UNKNOWN", call.method)


def _event_from(call: Call) -> object:
    """One batch of ``event.from``; the listener waits and asks again while it is empty."""
    _no_events_in_xend(call)
    classes, since = call.args[0], _events.parse_token(call.args[1])
    pool = call.pool
    if 0 < since < pool.events.horizon:
        raise Failure("EVENTS_LOST")
    events: list[dict[str, object]] = []
    for generation, op, cls, ref in pool.events.since(since):
        if not _events.matches(classes, cls, ref):
            continue
        event: dict[str, object] = {
            "id": str(generation),
            "timestamp": "0.0",
            "class": cls.lower(),
            "operation": op,
            "ref": ref,
        }
        if op != "del":
            event["snapshot"] = plain_copy(pool.get(cls, ref))
        events.append(event)
    counts = {cls.lower(): _events.Int32(len(pool.table(cls))) for cls in model().classes}
    return {
        "events": events,
        "valid_ref_counts": counts,
        "token": _events.token(pool.events.generation),
    }


def _event_inject(call: Call) -> object:
    _no_events_in_xend(call)
    name = str(call.args[0])
    cls = next((c for c in model().classes if c.lower() == name.lower()), name)
    call.pool.get(cls, call.args[1])
    call.pool.touch(cls, call.args[1])
    return _events.token(call.pool.events.generation)


def _event_current_id(call: Call) -> object:
    _no_events_in_xend(call)
    return call.pool.events.generation


def _event_register(call: Call) -> object:
    call.pool.registrations.register(call.session, [str(c) for c in call.args[0]])
    return ""


def _event_unregister(call: Call) -> object:
    call.pool.registrations.unregister(call.session, [str(c) for c in call.args[0]])
    return ""


def _event_next(call: Call) -> object:
    """The queued events (``[]`` while there are none: the listener waits and asks again,
    as xend's ``Queue.get`` blocks). xapi's form has a lower-case class and a snapshot."""
    pool = call.pool
    events = pool.registrations.take(call.session)
    if pool.dialect == "xend":
        return events
    for event in events:
        cls = str(event["class"])
        event["class"] = cls.lower()
        if event["operation"] != "del" and event["ref"] in pool.table(cls):
            event["snapshot"] = plain_copy(pool.get(cls, event["ref"]))
    return events


def _setter(op: str, *fields: str) -> Callable[[Call], object]:
    """An explicit setter of VM fields that xapi allows only in some power states."""

    def handler(call: Call) -> object:
        call.pool.power(op, call.args[0])
        record = call.pool.get("VM", call.args[0])
        values = call.args[1:]
        if len(values) == 1:
            values = values * len(fields)
        for field, value in zip(fields, values, strict=True):
            record[field] = value
        call.pool.touch("VM", call.args[0])
        return ""

    return handler


_STATIC = ("memory_static_min", "memory_static_max")
_DYNAMIC = ("memory_dynamic_min", "memory_dynamic_max")

HANDLERS: dict[str, Callable[[Call], object]] = {
    "session.login_with_password": _login,
    "session.logout": _logout,
    "session.local_logout": _logout,
    "host.get_servertime": _servertime,
    "host.get_server_localtime": _servertime,
    "task.destroy": _task_destroy,
    "task.cancel": _task_cancel,
    "task.create": _task_create,
    "event.from": _event_from,
    "event.inject": _event_inject,
    "event.get_current_id": _event_current_id,
    "event.register": _event_register,
    "event.unregister": _event_unregister,
    "event.next": _event_next,
    **{f"VM.{op}": _power_op(op) for op in _power.POWER_OPERATIONS},
    "VM.clone": _clone,
    "VM.copy": _copy,
    "VM.snapshot": _snapshot,
    "VM.set_VCPUs_max": _setter("changing_VCPUs", "VCPUs_max"),
    "VM.set_VCPUs_at_startup": _setter("changing_VCPUs", "VCPUs_at_startup"),
    "VM.set_memory_static_max": _setter("changing_static_range", "memory_static_max"),
    "VM.set_memory_static_range": _setter("changing_static_range", *_STATIC),
    "VM.set_memory_dynamic_range": _setter("changing_dynamic_range", *_DYNAMIC),
    "VM.set_memory_limits": _setter("changing_memory_limits", *_STATIC, *_DYNAMIC),
    "VM.set_memory": _setter("changing_memory_limits", "memory_static_max", *_DYNAMIC),
}
