"""Dispatch of one Xen-API call on one host of the pool: checks, then the handler.

The checks run in the order of xapi's generated server (``ocaml/idl/ocaml_backend/
gen_server.ml``): an unknown name is ``MESSAGE_METHOD_UNKNOWN [method]``
(``Server_helpers.unknown_rpc_failure``); a wrong count is
``MESSAGE_PARAMETER_COUNT_MISMATCH [method, expected, received]`` counting the
parameters after the session (``parameter_count_mismatch_failure``); the parameters are
converted to their types (``FIELD_TYPE_ERROR [param]``); then the session
(``Session_check.check``: ``SESSION_INVALID [ref]``, and on a pool member
``HOST_IS_SLAVE [master address]``); the user's role against the message's roles
(``Rbac.check``: ``RBAC_PERMISSION_DENIED [permission, text]``); a ``Removed`` message is
``MESSAGE_REMOVED``. xend
(``XendAPI.session_required`` inside ``catch_typeerror``) checks the session before
the count and counts the session among the parameters.

Implicit messages (``get_<field>``, ``set_<field>``, ``add_to_``/``remove_from_`` a map,
``add_``/``remove_`` a set, ``get_record``, ``get_all``, ``get_all_records``,
``get_by_uuid``, ``get_by_name_label``, ``create``, ``destroy``) work for every class of
the datamodel, and so do explicit setters of a plain field; explicit messages with more
to them are in ``_explicit``, and any other answers
``NOT_IMPLEMENTED [method]`` once the session is checked. ``Async.<Class>.<message>``
returns a task, finished at once or after ``task_duration`` (``_tasks``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aioxend.emulator.xenapi import _explicit
from aioxend.emulator.xenapi._datamodel import ClassModel, Message, model
from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._pool import Pool
from aioxend.emulator.xenapi._records import coerce_fields, plain_copy
from aioxend.emulator.xenapi._types import coerce, parse_type

__all__ = ["Call", "Dispatcher"]

LOGIN = "session.login_with_password"

# the classes of xapi's datamodel that xend 4.x served (XendAPI.classes): no pool, no user
XEND_CLASSES = frozenset(
    {
        "session",
        "event",
        "host",
        "host_cpu",
        "host_metrics",
        "VM",
        "VM_metrics",
        "VBD",
        "VBD_metrics",
        "VIF",
        "VIF_metrics",
        "VDI",
        "VTPM",
        "console",
        "SR",
        "task",
        "network",
        "PIF",
        "PIF_metrics",
        "PBD",
    }
)

# trailing parameters with a default (param_default in ocaml/idl/datamodel*.ml), which
# the JSON datamodel leaves out: a call may omit them
_DEFAULTED = {LOGIN: 2, "VM.snapshot": 1}


def _served(cls: ClassModel, message: Message, method: str) -> bool:
    """Whether the emulator implements a message: every implicit one, the explicit
    handlers, and explicit setters of a plain field (``VM.set_actions_after_crash``)."""
    if message.implicit or method in _explicit.HANDLERS:
        return True
    name = message.name
    return name.startswith("set_") and name[4:] in cls.fields and len(message.params) == 2


class Call:
    """One call being served: the pool, the host it reached, its session and params."""

    def __init__(
        self, pool: Pool, host: str, cls: ClassModel, message: Message, params: list[Any]
    ) -> None:
        self.pool = pool
        self.host = host
        self.cls = cls
        self.message = message
        self.session: str = params[0] if message.session and params else ""
        self.args = params[1:] if message.session else params

    @property
    def method(self) -> str:
        return f"{self.cls.name}.{self.message.name}"


class Dispatcher:
    """Serves calls on one host of ``pool`` (the master, or a member)."""

    def __init__(self, pool: Pool, host: str, encode_result: Callable[[object], object]) -> None:
        self.pool = pool
        self.host = host
        self._encode_result = encode_result

    def method_names(self) -> list[str]:
        """``system.listMethods``: every message's wire name (xend: of its classes)."""
        xend = self.pool.dialect == "xend"
        return [
            f"{cls.name}.{name}"
            for cls in model().classes.values()
            if not xend or cls.name in XEND_CLASSES
            for name, message in cls.messages.items()
            if not message.removed
        ]

    def call(self, method: str, params: list[Any]) -> object:
        """The result of ``method(*params)``; raises ``Failure`` for a Xen-API error."""
        self.pool.tasks.settle()
        if method.startswith("Async."):
            return self._async(method[len("Async.") :], params)
        call = self.check(method, params)
        with self.pool.lock:
            return self._run(call)

    def check(self, method: str, params: list[Any]) -> Call:
        """The checked call: name, count, parameter types and session all valid."""
        cls_name, _, name = method.partition(".")
        cls = model().classes.get(cls_name)
        if self.pool.dialect == "xend" and cls_name not in XEND_CLASSES:
            cls = None
        message = cls.messages.get(name) if cls is not None else None
        if cls is None or message is None:
            raise Failure("MESSAGE_METHOD_UNKNOWN", method)
        call = Call(self.pool, self.host, cls, message, params)
        if not _served(cls, message, method):
            # the JSON datamodel does not say which parameters have defaults, so the
            # count of a message we do not implement cannot be checked
            if message.session and params:
                self.pool.check_session(params[0])
            raise Failure("NOT_IMPLEMENTED", method)
        if self.pool.dialect == "xend":
            self._check_xend(call, params)
        else:
            self._check_xapi(call, params)
        if message.removed:
            raise Failure("MESSAGE_REMOVED")
        return call

    # -- checks --------------------------------------------------------------------
    def _check_xapi(self, call: Call, params: list[Any]) -> None:
        message = call.message
        received = len(params) - (1 if message.session else 0)
        expected = len(message.params) - _DEFAULTED.get(call.method, 0)
        ok = expected <= received <= len(message.params)
        if not ok:
            raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", call.method, expected, received)
        call.args = [
            coerce(parse_type(kind), value, pname)
            for (pname, kind), value in zip(message.params, call.args, strict=False)
        ]
        is_member = self.host != self.pool.master
        if message.session:
            self.pool.check_session(call.session)
        if is_member and (message.session or call.method == LOGIN):
            address = self.pool.get("host", self.pool.master)["address"]
            raise Failure("HOST_IS_SLAVE", address)
        if message.session and message.roles and self.pool.role(call.session) not in message.roles:
            # Rbac.disallowed_permission_exn: the permission is the lower-case action
            roles = ", ".join(message.roles)
            text = f"No permission in user session. (Roles with this permission: {roles})"
            raise Failure("RBAC_PERMISSION_DENIED", call.method.lower(), text)

    def _check_xend(self, call: Call, params: list[Any]) -> None:
        message = call.message
        if call.method == LOGIN:
            if len(params) != 2:
                raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", LOGIN, 2, len(params))
            return
        expected = len(message.params) + (1 if message.session else 0)
        if message.session and params:
            self.pool.check_session(params[0])
        if len(params) != expected:
            raise Failure("MESSAGE_PARAMETER_COUNT_MISMATCH", call.method, expected, len(params))
        call.args = [
            coerce(parse_type(kind), value, pname)
            for (pname, kind), value in zip(message.params, call.args, strict=True)
        ]

    # -- handlers ------------------------------------------------------------------
    def _run(self, call: Call) -> object:
        handler = _explicit.HANDLERS.get(call.method)
        if handler is not None:
            return handler(call)
        return _implicit(call)

    def _async(self, method: str, params: list[Any]) -> str:
        cls_name, _, name = method.partition(".")
        cls = model().classes.get(cls_name)
        if cls is None or name not in cls.messages or not cls.messages[name].session:
            raise Failure("MESSAGE_METHOD_UNKNOWN", f"Async.{method}")
        call = self.check(method, params)  # errors before the task exists come back bare
        name = f"Async.{method}"
        return self.pool.tasks.submit(
            name, self.host, call.session, lambda: self._run(call), self._encode_result
        )


def _implicit(call: Call) -> object:
    """The generic getters, setters, constructors and queries of every class."""
    pool, cls, name, args = call.pool, call.cls.name, call.message.name, call.args
    if _reads_other_session(call):
        raise Failure("PERMISSION_DENIED")  # XendAPI.session_get_record and friends
    if name == "get_all":
        return list(pool.table(cls))
    if name == "get_all_records":
        return {ref: plain_copy(rec) for ref, rec in pool.table(cls).items()}
    if name == "get_record":
        return plain_copy(pool.get(cls, args[0]))
    if name == "get_by_uuid":
        return _by_uuid(pool, cls, args[0])
    if name == "get_by_name_label":
        return [ref for ref, rec in pool.table(cls).items() if rec.get("name_label") == args[0]]
    if name == "create":
        return pool.add(cls, coerce_fields(call.cls, args[0]))
    if name == "destroy":
        if cls == "VM":
            record = pool.get(cls, args[0])
            _explicit.check_power(call, "destroy", str(record["power_state"]))
        pool.remove(cls, args[0])
        return ""
    return _field_message(call)


_XEND_OWN_SESSION = frozenset({"get_record", "get_this_host", "get_this_user", "get_last_active"})


def _reads_other_session(call: Call) -> bool:
    """xend let a session read only its own record and fields."""
    return (
        call.pool.dialect == "xend"
        and call.cls.name == "session"
        and call.message.name in _XEND_OWN_SESSION
        and call.args[0] != call.session
    )


def _by_uuid(pool: Pool, cls: str, uuid: str) -> str:
    if pool.dialect == "xend":
        return uuid  # XendAPI._get_by_uuid: the ref is the uuid, unchecked
    for ref, rec in pool.table(cls).items():
        if rec["uuid"] == uuid:
            return ref
    raise Failure("UUID_INVALID", cls, uuid)


def _field_message(call: Call) -> object:
    name, args, fields = call.message.name, call.args, call.cls.fields
    record = call.pool.get(call.cls.name, args[0])
    if not name.startswith("get_"):
        call.pool.touch(call.cls.name, args[0])
    for prefix in ("get_", "set_", "add_to_", "remove_from_", "add_", "remove_"):
        field = name[len(prefix) :]
        if not name.startswith(prefix) or field not in fields:
            continue
        if prefix == "get_":
            return plain_copy(record[field])
        if prefix == "set_":
            record[field] = args[1]
        elif prefix == "add_to_":
            mapping = record[field]
            assert isinstance(mapping, dict)
            if args[1] in mapping:
                raise Failure("MAP_DUPLICATE_KEY", call.cls.name, field, args[0], args[1])
            mapping[args[1]] = args[2]
        elif prefix == "remove_from_":
            mapping = record[field]
            assert isinstance(mapping, dict)
            mapping.pop(args[1], None)
        else:
            values = record[field]
            assert isinstance(values, list)
            if prefix == "add_" and args[1] not in values:
                values.append(args[1])
            elif prefix == "remove_" and args[1] in values:
                values.remove(args[1])
        return ""
    raise Failure("NOT_IMPLEMENTED", call.method)
