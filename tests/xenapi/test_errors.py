"""Xen-API errors: the class per code, the message with parameter names, robustness."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aioxend
from aioxend.errors import ProtocolError, XenAPIError, XendError
from aioxend.xenapi import errors

ERRORS_JSON = Path(__file__).resolve().parents[2] / "aioxend/xenapi/data/errors.json"
NAMED = [
    ("SESSION_INVALID", errors.SessionInvalid),
    ("HOST_IS_SLAVE", errors.HostIsSlave),
    ("HANDLE_INVALID", errors.HandleInvalid),
    ("SESSION_AUTHENTICATION_FAILED", errors.SessionAuthenticationFailed),
    ("MESSAGE_METHOD_UNKNOWN", errors.MessageMethodUnknown),
    ("MESSAGE_PARAMETER_COUNT_MISMATCH", errors.MessageParameterCountMismatch),
    ("VM_BAD_POWER_STATE", errors.VmBadPowerState),
    ("OPERATION_NOT_ALLOWED", errors.OperationNotAllowed),
    ("PERMISSION_DENIED", errors.PermissionDenied),
    ("EVENTS_LOST", errors.EventsLost),
    ("INTERNAL_ERROR", errors.InternalError),
]


def test_xenapi_error_is_public_and_in_the_tree() -> None:
    assert aioxend.XenAPIError is XenAPIError
    assert issubclass(XenAPIError, XendError)
    assert "XenAPIError" in (aioxend.errors.__doc__ or "")


@pytest.mark.parametrize(("code", "cls"), NAMED)
def test_by_code_gives_the_subclass(code: str, cls: type[XenAPIError]) -> None:
    assert errors.by_code(code) is cls
    assert issubclass(cls, XenAPIError)
    assert cls.__name__ == "".join(w.capitalize() for w in code.split("_"))
    error = errors.from_description("VM.start", [code])
    assert type(error) is cls
    assert error.code == code


def test_by_code_for_any_code() -> None:
    for code in json.loads(ERRORS_JSON.read_text("utf-8")):
        assert issubclass(errors.by_code(code), XenAPIError)
    assert errors.by_code("NO_SUCH_CODE_EVER") is XenAPIError


def test_message_names_the_method_code_and_parameters() -> None:
    error = errors.from_description(
        "VM.start", ["VM_BAD_POWER_STATE", "OpaqueRef:1", "halted", "running"]
    )
    assert (
        str(error)
        == "VM.start: VM_BAD_POWER_STATE (vm=OpaqueRef:1, expected=halted, actual=running)"
    )
    assert isinstance(error, errors.VmBadPowerState)
    assert (error.vm, error.expected, error.actual) == ("OpaqueRef:1", "halted", "running")
    assert error.params == ["OpaqueRef:1", "halted", "running"]
    assert error.method == "VM.start"


def test_more_parameters_than_names_are_listed_by_position_fewer_are_fine() -> None:
    more = errors.from_description("VM.get_record", ["HANDLE_INVALID", "VM", "OpaqueRef:x", "why"])
    assert str(more) == "VM.get_record: HANDLE_INVALID (class=VM, handle=OpaqueRef:x, why)"
    fewer = errors.from_description("VM.get_record", ["HANDLE_INVALID", "VM"])
    assert str(fewer) == "VM.get_record: HANDLE_INVALID (class=VM)"
    assert isinstance(fewer, errors.HandleInvalid)
    assert isinstance(fewer, LookupError)
    assert (fewer.xenapi_class, fewer.handle) == ("VM", None)
    assert str(errors.from_description(None, ["EVENTS_LOST"])) == "EVENTS_LOST"


def test_unknown_codes_list_their_parameters() -> None:
    error = errors.from_description("x.y", ["SOMETHING_NEW", "a", 2, None])
    assert type(error) is XenAPIError
    assert error.params == ["a", "2", "null"]
    assert str(error) == "x.y: SOMETHING_NEW (a, 2, null)"


def test_attributes_of_the_common_errors() -> None:
    slave = errors.from_description("session.login_with_password", ["HOST_IS_SLAVE", "10.0.0.2"])
    assert isinstance(slave, errors.HostIsSlave)
    assert slave.master == "10.0.0.2"
    assert "Master IP address=10.0.0.2" in str(slave)
    count = errors.from_description(
        "session.login_with_password",
        ["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "4"],
    )
    assert isinstance(count, errors.MessageParameterCountMismatch)
    assert (count.expected, count.received) == (2, 4)
    invalid = errors.from_description("VM.get_all", ["SESSION_INVALID", "OpaqueRef:s"])
    assert isinstance(invalid, errors.SessionInvalid)
    assert invalid.handle == "OpaqueRef:s"
    unknown = errors.from_description("VM.frobnicate", ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"])
    assert isinstance(unknown, errors.MessageMethodUnknown)
    assert unknown.unknown == "VM.frobnicate"


def test_the_username_of_a_failed_login_stays_out_of_the_message() -> None:
    error = errors.from_description(
        "session.login_with_password",
        ["SESSION_AUTHENTICATION_FAILED", "hunter2-typed-as-user", "Authentication failure"],
    )
    assert isinstance(error, errors.SessionAuthenticationFailed)
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(error)
    assert "message=Authentication failure" in str(error)
    assert error.username == "hunter2-typed-as-user"


@pytest.mark.parametrize("code", ["VM_BAD_POWER_STATE", "SESSION_AUTHENTICATION_FAILED", "X"])
def test_errors_pickle(code: str) -> None:
    error = errors.from_description("VM.start", [code, "a", "b", "c"])
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.code, copy.params, copy.method, str(copy)) == (
        error.code,
        error.params,
        error.method,
        str(error),
    )


@pytest.mark.parametrize("bad", [None, [], {}, "VM_BAD_POWER_STATE", [1, 2], [None], ("",)[1:]])
def test_a_malformed_description_is_a_protocol_error(bad: object) -> None:
    with pytest.raises(ProtocolError, match=r"VM\.start: an error description"):
        errors.from_description("VM.start", bad)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@given(JSONISH)
def test_any_description_gives_an_error_or_a_protocol_error(description: object) -> None:
    try:
        error = errors.from_description("m", description)
    except ProtocolError:
        return
    assert isinstance(error, XenAPIError)
    assert all(isinstance(p, str) for p in error.params)
    assert str(error).startswith("m: ")
