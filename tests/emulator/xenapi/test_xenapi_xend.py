"""xend's dialect of Xen-API (Xen 3.1 to 4.4), driven by the official SDK and the stdlib."""

from __future__ import annotations

import json
import uuid
import xmlrpc.client
from typing import Any

import pytest

from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import failure, post, proxy, sdk


@pytest.fixture(params=["tcp", "unix"])
def url(request: pytest.FixtureRequest, xend: XenAPIServer) -> str:
    return xend.urls[0 if request.param == "tcp" else 1]


def xend_login(url: str) -> Any:
    session = sdk(url)
    session.xenapi.login_with_password("root", "xenroot")
    return session


def test_two_argument_login_only(url: str) -> None:
    session = sdk(url)
    details = failure(session.xenapi.login_with_password, "root", "xenroot", "1.0", "t")
    assert details == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "4"]
    session.xenapi.login_with_password("root", "xenroot")
    assert str(uuid.UUID(session.handle)) == session.handle  # a plain UUID, no OpaqueRef
    assert failure(sdk(url).xenapi.login_with_password, "root", "nope") == [
        "SESSION_AUTHENTICATION_FAILED"
    ]
    session.xenapi.session.logout()


def test_uuid_references_and_string_ints(url: str) -> None:
    x = xend_login(url).xenapi
    for ref, record in x.VM.get_all_records().items():
        assert ref == record["uuid"]
    [vm] = x.VM.get_by_name_label("vm1")
    assert x.VM.get_by_uuid(vm) == vm
    assert x.VM.get_VCPUs_max(vm) == "1"
    assert x.VM.get_resident_on(vm) == x.host.get_all()[0]
    assert x.VM.get_suspend_VDI(vm) == ""  # xend's null reference is the empty string
    major = x.host.get_API_version_major(x.host.get_all()[0])
    assert major == "1"
    # xend marshalled xmlrpclib.DateTime(time.gmtime()): no "Z"
    when = x.host.get_servertime(x.host.get_all()[0])
    assert isinstance(when, xmlrpc.client.DateTime)
    assert not when.value.endswith("Z")


def test_bad_power_state_as_xend_words_it(url: str) -> None:
    x = xend_login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm1")
    assert failure(x.VM.start, vm, False, False) == ["VM_BAD_POWER_STATE", vm, "Halted", "Running"]
    [halted] = x.VM.get_by_name_label("vm2")
    assert failure(x.VM.pause, halted) == ["VM_BAD_POWER_STATE", halted, "Running", "Halted"]


def test_counts_include_the_session(url: str) -> None:
    x = xend_login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm1")
    # XendAPI.catch_typeerror counts every argument, the session too
    assert failure(x.VM.get_record) == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "VM.get_record",
        "2",
        "1",
    ]
    assert failure(x.VM.start, vm) == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "4", "2"]
    assert failure(x.VM.frobnicate, vm) == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]


def test_session_checked_before_the_count(xend: XenAPIServer) -> None:
    rpc = proxy(xend.url)
    answer = rpc.VM.get_record("not-a-session")
    assert answer == {"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", "not-a-session"]}


def test_sessions_never_expire_by_time(xend: XenAPIServer) -> None:
    assert xend.pool.session_timeout is None
    session = sdk(xend.url)
    session.xenapi.login_with_password("root", "xenroot")
    ref = session.handle
    xend.expire_session(ref)  # a restart of xend: the SDK logs in again, with two arguments
    assert session.xenapi.VM.get_all()
    assert session.handle != ref


def test_no_jsonrpc(xend: XenAPIServer) -> None:
    doc = {"jsonrpc": "2.0", "method": "session.login_with_password", "params": [], "id": 1}
    status, _ = post(xend.url, "/jsonrpc", json.dumps(doc).encode(), "application/json")
    assert status == 404


def test_xend_serves_one_host() -> None:
    with pytest.raises(ValueError, match="one host"):
        XenAPIServer(dialect="xend", hosts=2)
    with pytest.raises(ValueError, match="dialect"):
        XenAPIServer(dialect="xcp")


def test_only_xends_classes(url: str) -> None:
    session = xend_login(url)
    x = session.xenapi
    assert failure(x.pool.get_all) == ["MESSAGE_METHOD_UNKNOWN", "pool.get_all"]
    assert x.host.get_all()
    # the SDK's API_version reads pool.get_all, which xend never had
    assert failure(lambda: session.API_version) == ["MESSAGE_METHOD_UNKNOWN", "pool.get_all"]


def test_a_session_reads_only_itself(url: str) -> None:
    mine, other = xend_login(url), xend_login(url)
    x = mine.xenapi
    assert x.session.get_this_user(mine.handle) == "root"
    assert x.session.get_record(mine.handle)["uuid"] == mine.handle
    assert failure(x.session.get_record, other.handle) == ["PERMISSION_DENIED"]
    assert failure(x.session.get_this_host, other.handle) == ["PERMISSION_DENIED"]
