"""The explicit messages the emulator implements: sessions, VM power, host clocks, tasks.

Each handler takes the checked ``Call`` (its ``args`` already converted to their
datamodel types, the session already valid) and returns the result value, or raises a
``Failure``. The VM operations follow ``_power``; ``start_on``/``resume_on`` place the
VM on the named host.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aioxend.emulator.xenapi import _power
from aioxend.emulator.xenapi._failure import Failure

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
    if call.pool.dialect == "xend" or record["status"] != "pending":
        raise Failure("OPERATION_NOT_ALLOWED", "task is not pending")
    record["status"] = "cancelled"
    return ""


HANDLERS: dict[str, Callable[[Call], object]] = {
    "session.login_with_password": _login,
    "session.logout": _logout,
    "session.local_logout": _logout,
    "host.get_servertime": _servertime,
    "host.get_server_localtime": _servertime,
    "task.destroy": _task_destroy,
    "task.cancel": _task_cancel,
    **{f"VM.{op}": _power_op(op) for op in _power.OPERATIONS if op != "destroy"},
}
