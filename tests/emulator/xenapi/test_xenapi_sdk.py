"""The official XenAPI SDK drives the emulator over XML-RPC, on TCP and a UNIX socket.

The SDK is code we did not write: what it accepts and how it fails is what a xapi user
sees. Each test runs over both listeners of the master.
"""

from __future__ import annotations

import datetime
import time
import xmlrpc.client

import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.emulator.xenapi._datamodel import model
from tests.emulator.xenapi.conftest import failure, login, proxy, sdk


@pytest.fixture(params=["tcp", "unix"])
def url(request: pytest.FixtureRequest, xapi: XenAPIServer) -> str:
    index = 0 if request.param == "tcp" else 1
    return xapi.urls[index]


def test_login_logout(url: str, xapi: XenAPIServer) -> None:
    session = login(url)
    ref = session.handle
    assert ref.startswith("OpaqueRef:")
    assert ref in xapi.pool.sessions()
    assert session.xenapi.session.get_this_host(ref) == xapi.pool.master
    assert session.xenapi.session.get_auth_user_name(ref) == "root"
    assert session.xenapi.session.get_originator(ref) == "aioxend-tests"
    session.xenapi.session.logout()
    assert ref not in xapi.pool.sessions()


def test_two_argument_login_is_accepted_by_xapi(url: str) -> None:
    session = sdk(url)
    session.xenapi.login_with_password("admin", "admin")
    assert session.xenapi.pool.get_all()
    session.xenapi.session.logout()


def test_bad_password(url: str) -> None:
    session = sdk(url)
    details = failure(session.xenapi.login_with_password, "root", "wrong", "1.0", "t")
    assert details == ["SESSION_AUTHENTICATION_FAILED", "root", "Authentication failure"]
    details = failure(session.xenapi.login_with_password, "nobody", "xenroot", "1.0", "t")
    assert details[:2] == ["SESSION_AUTHENTICATION_FAILED", "nobody"]


def test_records_have_every_datamodel_field(url: str) -> None:
    session = login(url)
    x = session.xenapi
    records = x.VM.get_all_records()
    names = sorted(r["name_label"] for r in records.values() if not r["is_control_domain"])
    assert names == ["vm1", "vm2", "vm3", "vm4"]
    for cls in ("VM", "host", "pool", "VM_metrics", "host_metrics"):
        expected = set(model().classes[cls].fields)
        for ref in getattr(x, cls).get_all():
            record = getattr(x, cls).get_record(ref)
            assert set(record) == expected, cls
    assert set(x.session.get_record(session.handle)) == set(model().classes["session"].fields)
    [vm1] = x.VM.get_by_name_label("vm1")
    record = x.VM.get_record(vm1)
    assert record == records[vm1]
    # ints travel as strings over XML-RPC; the SDK does not convert them
    assert record["memory_static_max"] == str(1024 * 1024 * 1024)
    assert record["domid"] == "1"
    assert record["HVM_shadow_multiplier"] == 1.0
    assert record["power_state"] == "Running"
    assert isinstance(record["snapshot_time"], xmlrpc.client.DateTime)
    assert record["snapshot_time"].value == "19700101T00:00:00Z"
    assert record["suspend_VDI"] == "OpaqueRef:NULL"
    assert x.VM.get_by_uuid(record["uuid"]) == vm1
    assert x.VM.get_name_label(vm1) == "vm1"
    assert x.VM.get_memory_static_max(vm1) == str(1024**3)


def test_setters_and_maps(url: str) -> None:
    x = login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    x.VM.set_name_description(vm, "a guest")
    assert x.VM.get_name_description(vm) == "a guest"
    x.VM.set_user_version(vm, "42")  # an int, as a string, as the SDK's users send it
    assert x.VM.get_user_version(vm) == "42"
    x.VM.add_to_other_config(vm, "k", "v")
    assert x.VM.get_other_config(vm)["k"] == "v"
    details = failure(x.VM.add_to_other_config, vm, "k", "w")
    assert details == ["MAP_DUPLICATE_KEY", "VM", "other_config", vm, "k"]
    x.VM.remove_from_other_config(vm, "k")
    assert "k" not in x.VM.get_other_config(vm)
    x.VM.add_tags(vm, "web")
    assert x.VM.get_tags(vm) == ["web"]
    x.VM.remove_tags(vm, "web")
    assert x.VM.get_tags(vm) == []
    assert failure(x.VM.set_user_version, vm, "many") == ["FIELD_TYPE_ERROR", "value"]


def test_power_state_machine(url: str) -> None:
    x = login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    assert x.VM.get_power_state(vm) == "Halted"
    x.VM.start(vm, False, False)
    assert x.VM.get_power_state(vm) == "Running"
    assert x.VM.get_resident_on(vm) != "OpaqueRef:NULL"
    assert vm in x.host.get_resident_VMs(x.VM.get_resident_on(vm))
    x.VM.pause(vm)
    assert x.VM.get_power_state(vm) == "Paused"
    x.VM.unpause(vm)
    x.VM.suspend(vm)
    assert x.VM.get_power_state(vm) == "Suspended"
    assert x.VM.get_resident_on(vm) == "OpaqueRef:NULL"
    x.VM.resume(vm, False, False)
    x.VM.clean_reboot(vm)
    x.VM.hard_reboot(vm)
    assert x.VM.get_power_state(vm) == "Running"
    x.VM.clean_shutdown(vm)
    assert x.VM.get_power_state(vm) == "Halted"
    assert x.VM.get_domid(vm) == "-1"
    x.VM.start(vm, True, False)
    assert x.VM.get_power_state(vm) == "Paused"
    x.VM.hard_shutdown(vm)
    assert x.VM.get_power_state(vm) == "Halted"
    assert sorted(x.VM.get_allowed_operations(vm)) == [
        "changing_VCPUs",
        "changing_dynamic_range",
        "changing_memory_limits",
        "changing_static_range",
        "clone",
        "copy",
        "destroy",
        "power_state_reset",
        "snapshot",
        "start",
        "start_on",
    ]


def test_bad_power_state_as_xapi_words_it(url: str) -> None:
    x = login(url).xenapi
    [running] = x.VM.get_by_name_label("vm1")
    [halted] = x.VM.get_by_name_label("vm2")
    assert failure(x.VM.start, running, False, False) == [
        "VM_BAD_POWER_STATE",
        running,
        "halted",
        "running",
    ]
    assert failure(x.VM.hard_shutdown, halted) == [
        "VM_BAD_POWER_STATE",
        halted,
        "paused, suspended, running",
        "halted",
    ]
    assert failure(x.VM.hard_reboot, halted)[2:] == ["paused, running", "halted"]
    assert failure(x.VM.unpause, running)[2:] == ["paused", "running"]
    assert failure(x.VM.resume, halted, False, False)[2:] == ["suspended", "halted"]
    assert failure(x.VM.destroy, running)[2:] == ["halted, suspended", "running"]


def test_control_domain_refuses_power_operations(url: str) -> None:
    session = login(url)
    x = session.xenapi
    dom0 = x.host.get_control_domain(x.session.get_this_host(session.handle))
    details = failure(x.VM.pause, dom0)
    assert details == ["OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain"]


def test_handle_and_uuid_errors(url: str) -> None:
    x = login(url).xenapi
    assert failure(x.VM.get_record, "OpaqueRef:nope") == ["HANDLE_INVALID", "VM", "OpaqueRef:nope"]
    assert failure(x.host.get_name_label, "junk") == ["HANDLE_INVALID", "host", "junk"]
    assert failure(x.VM.start, "OpaqueRef:NULL", False, False)[:2] == ["HANDLE_INVALID", "VM"]
    assert failure(x.VM.get_by_uuid, "0000") == ["UUID_INVALID", "VM", "0000"]
    assert x.VM.get_by_name_label("no such vm") == []


def test_method_and_count_errors(url: str) -> None:
    x = login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm1")
    assert failure(x.VM.frobnicate, vm) == ["MESSAGE_METHOD_UNKNOWN", "VM.frobnicate"]
    assert failure(x.Nonsense.get_all) == ["MESSAGE_METHOD_UNKNOWN", "Nonsense.get_all"]
    assert failure(x.VM.start, vm) == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "VM.start", "3", "1"]
    assert failure(x.VM.get_all, vm) == [
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        "VM.get_all",
        "0",
        "1",
    ]
    details = failure(sdk(url).xenapi.login_with_password, "root")
    assert details == ["MESSAGE_PARAMETER_COUNT_MISMATCH", "session.login_with_password", "2", "1"]
    assert failure(x.VM.get_is_snapshot_from_vmpp, vm) == ["MESSAGE_REMOVED"]
    assert failure(x.VM.migrate_send, vm, {}, True, {}, {}, {}) == [
        "NOT_IMPLEMENTED",
        "VM.migrate_send",
    ]


def test_servertime_is_a_utc_datetime(url: str) -> None:
    x = login(url).xenapi
    host = x.pool.get_master(x.pool.get_all()[0])
    value = x.host.get_servertime(host)
    assert isinstance(value, xmlrpc.client.DateTime)
    assert value.value.endswith("Z")
    when = datetime.datetime.strptime(value.value, "%Y%m%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    assert abs((datetime.datetime.now(datetime.UTC) - when).total_seconds()) < 60


def test_api_version_as_the_sdk_reads_it(url: str) -> None:
    assert login(url).API_version == "2.21"


def test_async_returns_a_finished_task(url: str) -> None:
    x = login(url).xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    task = x.Async.VM.start(vm, False, False)
    record = x.task.get_record(task)
    assert record["status"] == "success"
    assert record["result"] == "<value></value>"
    assert record["progress"] == 1.0
    assert x.VM.get_power_state(vm) == "Running"
    failed = x.task.get_record(x.Async.VM.start(vm, False, False))
    assert failed["status"] == "failure"
    assert failed["error_info"] == ["VM_BAD_POWER_STATE", vm, "halted", "running"]
    created = x.task.get_record(x.Async.VM.get_by_uuid(x.VM.get_uuid(vm)))
    assert created["result"] == f"<value>{vm}</value>"
    x.task.destroy(task)
    assert failure(x.task.get_record, task) == ["HANDLE_INVALID", "task", task]


def test_host_is_slave_names_the_master(xapi: XenAPIServer) -> None:
    [member_url] = xapi.member_urls
    assert member_url.startswith("http://127.0.0.2:")
    member = sdk(member_url)
    details = failure(member.xenapi.login_with_password, "root", "xenroot", "1.0", "t")
    assert details == ["HOST_IS_SLAVE", "127.0.0.1"]
    # even a wrong password: xapi answers HOST_IS_SLAVE before it authenticates
    details = failure(member.xenapi.login_with_password, "root", "bad", "1.0", "t")
    assert details == ["HOST_IS_SLAVE", "127.0.0.1"]
    # the master is the same URL with the address the error gave
    master = login(member_url.replace("127.0.0.2", details[1]))
    x = master.xenapi
    hosts = {x.host.get_address(h): h for h in x.host.get_all()}
    assert set(hosts) == {"127.0.0.1", "127.0.0.2"}
    assert x.pool.get_master(x.pool.get_all()[0]) == hosts["127.0.0.1"]
    # a session of the master is refused by a member, after it is checked
    rpc = proxy(member_url)
    answer = rpc.VM.get_all(master.handle)
    assert answer == {"Status": "Failure", "ErrorDescription": ["HOST_IS_SLAVE", "127.0.0.1"]}
    answer = rpc.VM.get_all("OpaqueRef:stale")
    assert answer["ErrorDescription"] == ["SESSION_INVALID", "OpaqueRef:stale"]


def test_expired_session_the_sdk_logs_in_again(url: str, xapi: XenAPIServer) -> None:
    session = login(url)
    first = session.handle
    xapi.expire_session(first)
    # the official SDK re-sends the stored password on SESSION_INVALID and retries
    assert session.xenapi.VM.get_all()
    assert session.handle != first
    assert first not in xapi.pool.sessions()
    rpc = proxy(xapi.urls[0])
    assert rpc.VM.get_all(first)["ErrorDescription"] == ["SESSION_INVALID", first]


def test_idle_session_expires() -> None:
    with XenAPIServer.in_thread(session_timeout=0.2) as server:
        session = login(server.url)
        ref = session.handle
        assert session.xenapi.VM.get_all()
        rpc = proxy(server.url)
        time.sleep(0.5)
        assert rpc.VM.get_all(ref)["ErrorDescription"] == ["SESSION_INVALID", ref]


def test_oldest_sessions_beyond_the_limit_are_destroyed() -> None:
    with XenAPIServer.in_thread(max_sessions=2) as server:
        sessions = [login(server.url) for _ in range(3)]
        live = server.pool.sessions()
        assert sessions[0].handle not in live
        assert [s.handle for s in sessions[1:]] == live


def test_other_users_and_no_default_users() -> None:
    with XenAPIServer.in_thread(users={"alice": "s3cret"}) as server:
        assert login(server.url, "alice", "s3cret").xenapi.VM.get_all()
        details = failure(sdk(server.url).xenapi.login_with_password, "root", "xenroot")
        assert details[0] == "SESSION_AUTHENTICATION_FAILED"


def test_read_only_user_is_refused_changes(url: str) -> None:
    x = login(url, "reader", "reader").xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    assert x.VM.get_record(vm)["power_state"] == "Halted"  # reads are allowed
    details = failure(x.VM.start, vm, False, False)
    assert details[:2] == ["RBAC_PERMISSION_DENIED", "vm.start"]
    assert details[2].startswith("No permission in user session. (Roles with this permission: ")
    assert "vm-power-admin" in details[2]
    assert failure(x.VM.set_name_label, vm, "x")[:2] == [
        "RBAC_PERMISSION_DENIED",
        "vm.set_name_label",
    ]
    assert x.VM.get_power_state(vm) == "Halted"


def test_clone_snapshot_and_setters_that_need_a_halted_vm(url: str) -> None:
    x = login(url).xenapi
    [running] = x.VM.get_by_name_label("vm1")
    [halted] = x.VM.get_by_name_label("vm2")
    assert failure(x.VM.clone, running, "c")[2:] == ["halted", "running"]
    clone = x.VM.clone(halted, "vm2-clone")
    record = x.VM.get_record(clone)
    assert record["name_label"] == "vm2-clone"
    assert record["power_state"] == "Halted"
    assert record["uuid"] != x.VM.get_uuid(halted)
    assert record["memory_static_max"] == x.VM.get_memory_static_max(halted)
    assert record["metrics"] != x.VM.get_metrics(halted)
    snap = x.VM.snapshot(running, "vm1-snap")  # the default ignore_vdis may be left out
    assert x.VM.get_is_a_snapshot(snap) is True
    assert x.VM.get_snapshot_of(snap) == running
    assert x.VM.get_snapshots(running) == [snap]
    assert failure(x.VM.set_VCPUs_max, running, "2")[2:] == ["halted", "running"]
    x.VM.set_VCPUs_max(halted, "4")
    x.VM.set_VCPUs_at_startup(halted, "2")
    assert (x.VM.get_VCPUs_max(halted), x.VM.get_VCPUs_at_startup(halted)) == ("4", "2")
    x.VM.set_memory_dynamic_range(running, str(512 * 2**20), str(1024 * 2**20))
    assert x.VM.get_memory_dynamic_min(running) == str(512 * 2**20)
    x.VM.set_memory(halted, str(2 * 2**30))
    assert x.VM.get_memory_static_max(halted) == str(2 * 2**30)
    x.VM.set_actions_after_crash(halted, "preserve")  # an explicit setter of a plain field
    assert x.VM.get_actions_after_crash(halted) == "preserve"
    x.VM.power_state_reset(running)
    assert x.VM.get_power_state(running) == "Halted"


def test_pending_tasks_finish_later_or_are_cancelled() -> None:
    with XenAPIServer.in_thread(task_duration=0.3) as server:
        session = login(server.url)
        x = session.xenapi
        [vm] = x.VM.get_by_name_label("vm2")
        task = x.Async.VM.start(vm, False, False)
        assert x.task.get_status(task) == "pending"
        assert x.task.get_progress(task) == 0.0
        assert x.VM.get_power_state(vm) == "Halted"  # not run yet
        token = getattr(x.event, "from")([f"task/{task}"], "", 0.0)["token"]
        progress = []
        while True:  # woken at each step of its progress, then when it ends
            batch = getattr(x.event, "from")([f"task/{task}"], token, 5.0)
            token = batch["token"]
            [event] = batch["events"]
            if event["snapshot"]["status"] != "pending":
                break
            progress.append(event["snapshot"]["progress"])
        assert event["snapshot"]["status"] == "success"
        assert progress == sorted(progress)
        assert set(progress) <= {0.25, 0.5, 0.75}
        assert x.VM.get_power_state(vm) == "Running"
        assert failure(x.task.cancel, task) == ["OPERATION_NOT_ALLOWED", "task is not pending"]
        second = x.Async.VM.clean_shutdown(vm)
        x.task.cancel(second)
        assert x.task.get_status(second) == "cancelled"
        time.sleep(0.5)
        assert x.VM.get_power_state(vm) == "Running"  # a cancelled task never runs
        assert sorted(x.session.get_tasks(session.handle)) == sorted([task, second])
