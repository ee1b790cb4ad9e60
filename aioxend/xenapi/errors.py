"""The Xen-API errors: a ``XenAPIError`` subclass per common code, and the lookups.

::

    XenAPIError (aioxend.errors)       any code; .code, .params, .method
    ├── SessionInvalid                 SESSION_INVALID: expired or unknown session (.handle)
    ├── SessionNotRegistered           SESSION_NOT_REGISTERED: event.next without event.register
    ├── SessionAuthenticationFailed    SESSION_AUTHENTICATION_FAILED: bad credentials
    ├── HostIsSlave                    HOST_IS_SLAVE: a pool member, not the master (.master)
    ├── HandleInvalid                  HANDLE_INVALID: no such object (.xenapi_class, .handle;
    │                                  also LookupError)
    ├── UuidInvalid                    UUID_INVALID: no object with that uuid (also LookupError)
    ├── MessageMethodUnknown           MESSAGE_METHOD_UNKNOWN: no such method (.unknown)
    ├── MessageParameterCountMismatch  MESSAGE_PARAMETER_COUNT_MISMATCH (.expected, .received)
    ├── VmBadPowerState                VM_BAD_POWER_STATE (.vm, .expected, .actual)
    ├── OperationNotAllowed            OPERATION_NOT_ALLOWED (.reason)
    ├── OtherOperationInProgress       OTHER_OPERATION_IN_PROGRESS: the object is busy
    ├── PermissionDenied               PERMISSION_DENIED
    ├── RbacPermissionDenied           RBAC_PERMISSION_DENIED: the role lacks it (.permission)
    ├── EventsLost                     EVENTS_LOST: resynchronise, the event queue overflowed
    ├── EventFromTokenParseFailure     EVENT_FROM_TOKEN_PARSE_FAILURE
    ├── EventSubscriptionParseFailure  EVENT_SUBSCRIPTION_PARSE_FAILURE
    ├── TaskCancelled                  TASK_CANCELLED
    ├── MessageRemoved                 MESSAGE_REMOVED: the server no longer has the method
    └── InternalError                  INTERNAL_ERROR: the server failed (xapi's or xend's;
                                       not ``aioxend.InternalError``, xend's legacy fault 1)

``by_code(code)`` gives the class for any code (``XenAPIError`` itself for the others);
``from_description(method, error_description)`` builds the error from the wire's
``[code, param, ...]`` with the parameter names of ``data/errors.json`` (xapi's
``ocaml/xapi-consts/api_errors.ml`` and ``ocaml/idl/datamodel_errors.ml``), loaded on the first
error built, not at import.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import ClassVar, Final

from aioxend.errors import ProtocolError, XenAPIError

__all__ = [
    "EventFromTokenParseFailure",
    "EventSubscriptionParseFailure",
    "EventsLost",
    "HandleInvalid",
    "HostIsSlave",
    "InternalError",
    "MessageMethodUnknown",
    "MessageParameterCountMismatch",
    "MessageRemoved",
    "OperationNotAllowed",
    "OtherOperationInProgress",
    "PermissionDenied",
    "RbacPermissionDenied",
    "SessionAuthenticationFailed",
    "SessionInvalid",
    "SessionNotRegistered",
    "TaskCancelled",
    "UuidInvalid",
    "VmBadPowerState",
    "XenAPIError",
    "by_code",
    "from_description",
    "param_names",
]

_ERRORS_JSON: Final = Path(__file__).resolve().parent / "data" / "errors.json"

# Parameter names errors.json lacks: xapi's Xapi_session.login_with_password raises
# SESSION_AUTHENTICATION_FAILED with [uname; msg].
_EXTRA_NAMES: Final = {"SESSION_AUTHENTICATION_FAILED": ("username", "message")}


class _Coded(XenAPIError):
    """A ``XenAPIError`` for one code, with its parameters by name."""

    CODE: ClassVar[str] = ""

    def _param(self, index: int) -> str | None:
        return self.params[index] if index < len(self.params) else None


class SessionInvalid(_Coded):
    """The session reference is unknown: expired (idle 24 h on xapi), logged out, or the
    server restarted. ``handle`` echoes it."""

    CODE = "SESSION_INVALID"

    @property
    def handle(self) -> str | None:
        return self._param(0)


class SessionNotRegistered(_Coded):
    """``event.next`` on a session that never called ``event.register``."""

    CODE = "SESSION_NOT_REGISTERED"


class SessionAuthenticationFailed(_Coded):
    """The username or password was refused. The username stays out of the message (it may be
    a mistyped password); ``username`` has it."""

    CODE = "SESSION_AUTHENTICATION_FAILED"
    hidden = frozenset({0})

    @property
    def username(self) -> str | None:
        return self._param(0)


class HostIsSlave(_Coded):
    """The host is a pool member, not the master; ``master`` is the master's address."""

    CODE = "HOST_IS_SLAVE"

    @property
    def master(self) -> str | None:
        return self._param(0)


class HandleInvalid(_Coded, LookupError):
    """No object of class ``xenapi_class`` has the reference ``handle`` (deleted, or never)."""

    CODE = "HANDLE_INVALID"

    @property
    def xenapi_class(self) -> str | None:
        return self._param(0)

    @property
    def handle(self) -> str | None:
        return self._param(1)


class UuidInvalid(_Coded, LookupError):
    """No object of the class given has that uuid."""

    CODE = "UUID_INVALID"


class MessageMethodUnknown(_Coded):
    """The server has no such method (xend's answer for everything it lacks); ``unknown``
    is the name it echoes."""

    CODE = "MESSAGE_METHOD_UNKNOWN"

    @property
    def unknown(self) -> str | None:
        return self._param(0)


class MessageParameterCountMismatch(_Coded):
    """The method takes another number of parameters (xend's login takes 2, xapi's 4)."""

    CODE = "MESSAGE_PARAMETER_COUNT_MISMATCH"

    @property
    def expected(self) -> int | None:
        return _int_or_none(self._param(1))

    @property
    def received(self) -> int | None:
        return _int_or_none(self._param(2))


class VmBadPowerState(_Coded):
    """The VM is not in a power state the operation allows: ``expected``, ``actual`` (lower
    case, as xapi sends them: ``halted``, ``running``)."""

    CODE = "VM_BAD_POWER_STATE"

    @property
    def vm(self) -> str | None:
        return self._param(0)

    @property
    def expected(self) -> str | None:
        return self._param(1)

    @property
    def actual(self) -> str | None:
        return self._param(2)


class OperationNotAllowed(_Coded):
    """The operation is not allowed now; ``reason`` says why."""

    CODE = "OPERATION_NOT_ALLOWED"

    @property
    def reason(self) -> str | None:
        return self._param(0)


class OtherOperationInProgress(_Coded):
    """Another operation holds the object; retrying later may succeed."""

    CODE = "OTHER_OPERATION_IN_PROGRESS"


class PermissionDenied(_Coded):
    """The caller may not perform the operation."""

    CODE = "PERMISSION_DENIED"


class RbacPermissionDenied(_Coded):
    """The session's role lacks ``permission`` (xapi's role-based access control)."""

    CODE = "RBAC_PERMISSION_DENIED"

    @property
    def permission(self) -> str | None:
        return self._param(0)


class EventsLost(_Coded):
    """Events were dropped (the queue overflowed); re-read the objects and start again."""

    CODE = "EVENTS_LOST"


class EventFromTokenParseFailure(_Coded):
    """``event.from`` was given a token that it did not hand out."""

    CODE = "EVENT_FROM_TOKEN_PARSE_FAILURE"


class EventSubscriptionParseFailure(_Coded):
    """An event subscription is not ``*``, a class name or ``class/ref``."""

    CODE = "EVENT_SUBSCRIPTION_PARSE_FAILURE"


class TaskCancelled(_Coded):
    """The task was cancelled before it finished."""

    CODE = "TASK_CANCELLED"


class MessageRemoved(_Coded):
    """The server no longer has the message (removed in its release of the datamodel)."""

    CODE = "MESSAGE_REMOVED"


class InternalError(_Coded):
    """The server failed on its side; the message may help its developers."""

    CODE = "INTERNAL_ERROR"


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


_BY_CODE: Final[dict[str, type[XenAPIError]]] = {cls.CODE: cls for cls in _Coded.__subclasses__()}


def by_code(code: str) -> type[XenAPIError]:
    """The class of the error ``code``: its subclass here, else ``XenAPIError``."""
    return _BY_CODE.get(code, XenAPIError)


@functools.cache
def _all_names() -> dict[str, tuple[str, ...]]:
    errors = json.loads(_ERRORS_JSON.read_text(encoding="utf-8"))
    # A few codes (those only api_errors.ml names) come without a parameter list.
    names = {code: tuple(entry["params"] or ()) for code, entry in errors.items()}
    names.update(_EXTRA_NAMES)
    return names


def param_names(code: str) -> tuple[str, ...]:
    """The names of the parameters of ``code``, from xapi's error list (empty if unknown)."""
    return _all_names().get(code, ())


def from_description(method: str | None, error_description: object) -> XenAPIError:
    """The error for a wire ``ErrorDescription`` (``[code, param, ...]``) answering ``method``.

    Parameters that are not strings (a JSON-RPC ``data`` may hold numbers) are kept as their
    text. A description that is not a list starting with a string code is a ``ProtocolError``.
    """
    if (
        not isinstance(error_description, (list, tuple))
        or not error_description
        or not isinstance(error_description[0], str)
    ):
        text = repr(error_description)
        where = f"{method}: " if method else ""
        raise ProtocolError(f"{where}an error description must be [code, ...], got {text:.80}")
    code, *rest = error_description
    params = [p if isinstance(p, str) else _param_text(p) for p in rest]
    return by_code(code)(code, params, method=method, names=param_names(code))


def _param_text(value: object) -> str:
    """A parameter that came as another JSON value, as text (``1`` not ``1.0`` for ints)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
