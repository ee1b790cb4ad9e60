"""The blocking Xen-API client against the emulator: typed calls, the async client's
errors, login at connect and logout at close, threads, and a client nobody closed."""

from __future__ import annotations

import gc
import warnings
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from aioxend import xenapi as async_xenapi
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.sync import xenapi
from aioxend.xenapi import VmPowerState, VMRef, errors
from aioxend.xenapi._events import Event
from aioxend.xenapi._generated.vm import VMRecord
from tests.sync.conftest import portal_threads, same_error


@pytest.fixture(scope="module")
def server() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", hosts=2, vms=4, seed=3) as emulator:
        yield emulator


def async_error(
    url: str, act: Callable[[async_xenapi.XenAPIClient], Awaitable[object]]
) -> BaseException:
    async def main() -> BaseException:
        async with async_xenapi.connect(url, username="root", password="xenroot") as xapi:
            try:
                await act(xapi)
            except Exception as exc:
                return exc
        raise AssertionError("no error")

    return anyio.run(main)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
def test_typed_calls_as_the_async_client(server: XenAPIServer, protocol: str) -> None:
    before = set(server.pool.sessions())
    with xenapi.connect(server.url, protocol=protocol, username="root", password="xenroot") as xapi:  # type: ignore[arg-type]
        assert xapi.protocol == protocol
        assert xapi.session_id in server.pool.sessions()
        assert xapi.api_version is not None
        records = xapi.VM.get_all_records()
        assert all(isinstance(r, VMRecord) for r in records.values())
        [ref] = xapi.VM.get_by_name_label("vm2")
        assert xapi.VM.get_record(ref) == records[ref]
        assert xapi.VM.get_power_state(ref) is VmPowerState.HALTED
        xapi.VM.start(ref, False, False)
        assert xapi.call("VM.get_power_state", ref) == "Running"
        xapi.VM.hard_shutdown(ref)
        assert xapi.VM is xapi.VM  # made once
    assert set(server.pool.sessions()) == before  # logged out


def test_errors_are_the_async_clients_same_class_and_message(server: XenAPIServer) -> None:
    missing = VMRef("OpaqueRef:no-such-vm")
    with xenapi.connect(server.url, username="root", password="xenroot") as xapi:
        with pytest.raises(errors.HandleInvalid) as handle:
            xapi.VM.get_record(missing)
        with pytest.raises(errors.MessageMethodUnknown) as unknown:
            xapi.call("VM.no_such_message")
    same_error(handle.value, async_error(server.url, lambda x: x.VM.get_record(missing)))
    same_error(unknown.value, async_error(server.url, lambda x: x.call("VM.no_such_message")))


def test_a_wrong_password_raises_at_connect_and_leaves_no_thread(server: XenAPIServer) -> None:
    with pytest.raises(errors.SessionAuthenticationFailed) as mine:
        xenapi.connect(server.url, username="root", password="wrong")

    async def theirs() -> None:
        async with async_xenapi.connect(server.url, username="root", password="wrong"):
            pass

    with pytest.raises(errors.SessionAuthenticationFailed) as caught:
        anyio.run(theirs)
    same_error(mine.value, caught.value)
    assert "wrong" not in str(mine.value)


def test_several_threads_at_once(server: XenAPIServer) -> None:
    with xenapi.connect(server.url, username="root", password="xenroot") as xapi:
        refs = list(xapi.VM.get_all_records())
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda ref: xapi.VM.get_record(ref).uuid, refs * 8))
        assert got == [xapi.VM.get_record(ref).uuid for ref in refs] * 8


def test_after_close_calls_raise_as_the_async_clients(server: XenAPIServer) -> None:
    xapi = xenapi.connect(server.url, username="root", password="xenroot")
    xapi.close()
    with pytest.raises(RuntimeError) as caught:
        xapi.VM.get_all()

    async def closed_then_call(client: async_xenapi.XenAPIClient) -> object:
        await client.aclose()
        return await client.VM.get_all()

    same_error(caught.value, async_error(server.url, closed_then_call))


def test_a_client_nobody_closed_is_closed_when_collected(server: XenAPIServer) -> None:
    before = set(server.pool.sessions())
    xapi = xenapi.connect(server.url, username="root", password="xenroot")
    vm = xapi.VM
    del xapi
    gc.collect()
    assert len(portal_threads()) == 1  # the part keeps its client alive
    assert vm.get_all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del vm
        gc.collect()
    assert [w.category for w in caught] == [ResourceWarning]
    assert "unclosed <blocking <XenAPIClient" in str(caught[0].message)
    assert set(server.pool.sessions()) == before  # logged out


def test_events_are_a_blocking_iterator_whose_token_matches_what_was_read(
    server: XenAPIServer,
) -> None:
    with xenapi.connect(server.url, username="root", password="xenroot") as xapi:
        vms = set(xapi.VM.get_all())
        with xapi.events(["vm"], timeout=5.0) as stream:
            first = [next(stream) for _ in vms]
            assert {e.ref for e in first if isinstance(e, Event)} == vms
            assert all(isinstance(e, Event) and e.operation == "add" for e in first)
            token = stream.source.token  # the batch was read whole: nothing read ahead
            assert token
            records = xapi.VM.get_all_records()
            vm3 = next(r for r, vm in records.items() if vm.power_state is VmPowerState.HALTED)
            xapi.VM.start(vm3, False, False)
            for event in stream:
                if isinstance(event, Event) and event.ref == vm3:
                    break
            assert isinstance(event, Event)
            assert event.operation == "mod"
            assert isinstance(event.snapshot, VMRecord)
        assert list(stream) == []  # closed
        with xapi.events(["vm"], token=token, timeout=5.0) as resumed:
            again = next(resumed)
            assert isinstance(again, Event)
            assert (again.operation, again.ref) == ("mod", vm3)
        xapi.VM.hard_shutdown(vm3)


def test_async_messages_give_blocking_tasks_as_the_async_client_does() -> None:
    with (
        XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=2, task_duration=0.2) as slow,
        xenapi.connect(slow.url, username="root", password="xenroot") as xapi,
    ):
        records = xapi.VM.get_all_records()
        halted = next(r for r, vm in records.items() if vm.power_state is VmPowerState.HALTED)
        clone = xapi.Async.VM.clone(halted, "copy").wait()
        assert xapi.VM.get_name_label(clone) == "copy"
        task = xapi.Async.VM.start(halted, False, False)
        assert (task.method, task.ref[:10]) == ("VM.start", "OpaqueRef:")
        assert task.wait(timeout=30) is None
        assert task.status == "success"
        assert xapi.VM.get_power_state(halted) is VmPowerState.RUNNING
        with pytest.raises(errors.VmBadPowerState) as caught:
            xapi.Async.VM.start(halted, False, False).wait()  # running already

        async def start_again(client: async_xenapi.XenAPIClient) -> None:
            await (await client.Async.VM.start(halted, False, False))

        same_error(caught.value, async_error(slow.url, start_again))
        xapi.VM.hard_shutdown(halted)
