"""The exception tree: builtin bases, fault mapping, messages, pickling."""

from __future__ import annotations

import pickle

import pytest

import aioxend
from aioxend.errors import fault_for


def test_every_public_error_is_a_xend_error() -> None:
    for name in aioxend.__all__:
        obj = getattr(aioxend, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, aioxend.XendError), name


def test_builtin_bases() -> None:
    assert issubclass(aioxend.Timeout, TimeoutError)
    assert issubclass(aioxend.ReadTimeout, TimeoutError)
    assert issubclass(aioxend.ConnectError, ConnectionError)
    assert issubclass(aioxend.LocalProtocolError, ValueError)
    assert issubclass(aioxend.LocalProtocolError, aioxend.ProtocolError)
    assert issubclass(aioxend.InvalidDomain, LookupError)
    assert issubclass(aioxend.UnsupportedOperation, NotImplementedError)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (1, aioxend.InternalError),
        (2, aioxend.OperationFailed),
        (3, aioxend.InvalidDomain),
        (-32000, aioxend.Fault),
    ],
)
def test_fault_for_picks_the_class(code: int, cls: type[aioxend.Fault]) -> None:
    fault = fault_for(code, "text")
    assert type(fault) is cls
    assert fault.code == code
    assert fault.string == "text"


def test_fault_message_names_operation_and_domain() -> None:
    fault = fault_for(2, "Cannot pause privileged domain 0", method="pause", dom="Domain-0")
    assert str(fault) == "pause('Domain-0'): Cannot pause privileged domain 0 (fault 2)"
    missing = fault_for(3, "vm9", method="pause")
    assert str(missing) == "pause: domain 'vm9' does not exist (fault 3)"


def test_faults_pickle() -> None:
    fault = fault_for(3, "vm9", method="pause", dom="vm9")
    back = pickle.loads(pickle.dumps(fault))
    assert type(back) is aioxend.InvalidDomain
    assert (back.code, back.string, back.method, back.dom) == (3, "vm9", "pause", "vm9")


def test_protocol_error_offset_in_message() -> None:
    err = aioxend.ProtocolError("bad tag", offset=17)
    assert err.offset == 17
    assert "byte 17" in str(err)
    limit = aioxend.LimitExceeded("max_depth", 256, offset=3)
    assert limit.limit == "max_depth"
    assert "max_depth" in str(limit)
