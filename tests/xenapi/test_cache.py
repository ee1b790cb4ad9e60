"""The object cache against the Xen-API emulator, over both wires and xend's dialect:
seeding, queries, live updates, changed()/changes(), drift and lost-event resyncs,
errors of the update loop, closing, bad input, trio."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from aioxend import TransportError, UnsupportedOperation
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import (
    Cache,
    CacheError,
    Change,
    VmPowerState,
    VMRef,
    XenAPIClient,
    _cache,
    connect,
    errors,
)
from aioxend.xenapi._generated.vm import VMRecord
from tests.xenapi._drift import add_silently, remove_silently

WIRES = ["jsonrpc", "xmlrpc"]
_made = itertools.count()


def fresh(text: str) -> str:
    """A value no test has set before (the servers are shared by the tests of a module)."""
    return f"{text} {next(_made)}"


@pytest.fixture(scope="module")
def server() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=6, hosts=2, seed=3) as srv:
        yield srv


@pytest.fixture(scope="module")
def xend() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", dialect="xend", vms=4, seed=3) as srv:
        yield srv


@pytest.fixture(params=WIRES)
async def xapi(request: pytest.FixtureRequest, server: XenAPIServer) -> AsyncIterator[XenAPIClient]:
    server.errors.clear()
    async with connect(
        server.url, username="root", password="xenroot", protocol=request.param
    ) as client:
        yield client


async def settled(cache: Cache, xapi: XenAPIClient) -> None:
    """The cache after it applied every change made so far, and equal to the server."""
    with anyio.fail_after(10):
        await cache.barrier()
    for cls in cache.classes:
        assert getattr(cache, cls) == await getattr(xapi, cls).get_all_records(), cls


async def until_it_fails(step: Callable[[], Awaitable[object]]) -> None:
    while True:
        await step()


async def a_halted_guest(xapi: XenAPIClient) -> VMRef:
    records = await xapi.VM.get_all_records()
    return next(
        ref
        for ref, vm in records.items()
        if vm.power_state is VmPowerState.HALTED and not vm.is_control_domain
    )


async def test_seeded_with_every_record(xapi: XenAPIClient) -> None:
    async with await xapi.cache(["VM", "host", "task"]) as cache:
        assert cache.classes == ("VM", "host", "task")
        vms, hosts = await xapi.VM.get_all_records(), await xapi.host.get_all_records()
        assert vms == cache.VM
        assert cache.host == hosts
        assert dict(cache.task) == await xapi.task.get_all_records()
        assert cache.resyncs == 0
        ref = next(iter(cache.VM))
        assert isinstance(cache.VM[ref], VMRecord)
        assert ref in cache.VM
        assert "OpaqueRef:nothing" not in cache.VM
        assert len(cache.VM) == len(list(cache.VM)) == len(cache.VM.values())


async def test_await_form_and_aclose(xapi: XenAPIClient) -> None:
    cache = await xapi.cache(["vm"])  # any case: the datamodel's spelling is kept
    assert cache.classes == ("VM",)
    assert len(cache.VM) > 0
    await cache.aclose()
    assert cache._done.is_set()  # the loop task has ended
    with pytest.raises(RuntimeError, match="closed"):
        len(cache.VM)
    with pytest.raises(RuntimeError, match="closed"):
        await cache.changed()
    await cache.aclose()  # twice is harmless


async def test_queries(xapi: XenAPIClient) -> None:
    async with await xapi.cache(["VM"]) as cache:
        records = await xapi.VM.get_all_records()
        for ref, vm in records.items():
            assert cache.VM.by_uuid(vm.uuid) == ref
        running = {r: v for r, v in records.items() if v.power_state is VmPowerState.RUNNING}
        assert cache.VM.where(power_state=VmPowerState.RUNNING) == running
        assert cache.VM.where(power_state="Running") == running
        guests = cache.VM.where(power_state="Running", is_control_domain=False)
        assert guests == {r: v for r, v in running.items() if not v.is_control_domain}
        big = cache.VM.where(memory_static_max=lambda m: m > 2 * 1024**3)
        assert big == {r: v for r, v in records.items() if v.memory_static_max > 2 * 1024**3}
        assert cache.VM.where() == records
        assert cache.VM.where(name_label="no such VM") == {}


async def test_bad_queries(xapi: XenAPIClient) -> None:
    async with await xapi.cache(["VM"]) as cache:
        with pytest.raises(TypeError, match="no field 'powerstate'; did you mean 'power_state'"):
            cache.VM.where(powerstate="Running")
        with pytest.raises(ValueError, match="one of Halted, Paused, Running, Suspended"):
            cache.VM.where(power_state="running")
        with pytest.raises(TypeError, match="holds int, not str"):
            cache.VM.where(memory_target="1024")
        with pytest.raises(TypeError, match="holds bool, not int"):
            cache.VM.where(is_a_template=0)
        with pytest.raises(TypeError, match="holds str"):
            cache.VM.where(resident_on=None)
        with pytest.raises(KeyError, match="no VM with uuid"):
            cache.VM.by_uuid("00000000-0000-0000-0000-000000000000")
        with pytest.raises(TypeError, match="a UUID is a string"):
            cache.VM.by_uuid(42)  # type: ignore[arg-type]
        with pytest.raises(KeyError):
            cache.VM[VMRef("OpaqueRef:nothing")]
        with pytest.raises(AttributeError, match="holds VM, not SR"):
            cache.SR  # noqa: B018
        with pytest.raises(AttributeError, match="no attribute 'nothing'"):
            cache.nothing  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    ("classes", "error", "match"),
    [
        ("VM", TypeError, "list of class names"),
        ([], ValueError, "at least one class"),
        (["VM", "Vmm"], ValueError, "'Vmm' is not a class a cache can hold"),
        (["session"], ValueError, "'session' is not a class"),
        (["event"], ValueError, "'event' is not a class"),
        ([42], ValueError, "42 is not a class"),
        (None, TypeError, "list of class names"),
    ],
)
async def test_bad_classes(xapi: XenAPIClient, classes: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        await xapi.cache(classes)


async def test_a_failed_seed_raises_its_error(xapi: XenAPIClient, server: XenAPIServer) -> None:
    server.fail_next(1, "INTERNAL_ERROR", "seed failed", method="host.get_all_records")
    with pytest.raises(errors.InternalError, match="seed failed"):
        await xapi.cache(["VM", "host"])  # the error itself, not an exception group
    async with await xapi.cache(["VM", "host"]) as cache:  # the client is still fine
        assert len(cache.host) == 2


async def test_live_updates_and_changes(xapi: XenAPIClient, server: XenAPIServer) -> None:
    async with await xapi.cache(["VM", "host"]) as cache:
        seen: list[Change] = []

        async def read() -> None:
            async for change in cache.changes():
                seen.append(change)

        async with anyio.create_task_group() as tg:
            tg.start_soon(read)
            await anyio.lowlevel.checkpoint()
            ref = await a_halted_guest(xapi)
            await xapi.VM.start(ref, False, False)
            await settled(cache, xapi)
            assert cache.VM[ref].power_state is VmPowerState.RUNNING
            await xapi.VM.hard_shutdown(ref)
            clone = await xapi.VM.clone(ref, "cached-clone")
            await settled(cache, xapi)
            assert cache.VM[clone].name_label == "cached-clone"
            await xapi.VM.set_name_label(clone, fresh("renamed"))
            await settled(cache, xapi)
            assert cache.VM.by_uuid(cache.VM[clone].uuid) == clone
            await xapi.VM.destroy(clone)
            await settled(cache, xapi)
            assert clone not in cache.VM
            tg.cancel_scope.cancel()
        mine = [(c.operation, c.cls) for c in seen if c.ref in (ref, clone)]
        assert mine == [
            ("mod", "VM"),  # started
            ("mod", "VM"),  # shut down
            ("add", "VM"),  # cloned
            ("mod", "VM"),  # renamed
            ("del", "VM"),
        ]
        started = seen[0]
        assert started.old.power_state is VmPowerState.HALTED
        assert started.new.power_state is VmPowerState.RUNNING
        assert started.resync is None
        host_changes = [c for c in seen if c.cls == "host"]
        assert host_changes
        assert all(c.operation == "mod" for c in host_changes)  # resident_VMs
        assert next(c for c in seen if c.operation == "del").new is None
        assert cache.resyncs == 0


async def test_changed_returns_the_next_batch(xapi: XenAPIClient) -> None:
    async with await xapi.cache(["VM"]) as cache:
        ref = await a_halted_guest(xapi)
        async with anyio.create_task_group() as tg:
            got: list[tuple[Change, ...]] = []

            async def wait() -> None:
                got.append(await cache.changed())

            tg.start_soon(wait)
            await anyio.lowlevel.checkpoint()
            await xapi.VM.set_name_description(ref, text := fresh("changed"))
            with anyio.fail_after(10):
                await cache.barrier()
        [batch] = got
        assert [(c.ref, c.operation) for c in batch] == [(ref, "mod")]
        assert batch[0].new.name_description == text


async def test_two_readers_see_the_same_changes(xapi: XenAPIClient) -> None:
    async with await xapi.cache(["VM"]) as cache:
        ref = await a_halted_guest(xapi)
        first, second = cache.changes(), cache.changes()
        await xapi.VM.set_name_description(ref, one := fresh("one"))
        await cache.barrier()
        await xapi.VM.set_name_description(ref, two := fresh("two"))
        await cache.barrier()
        for reader in (first, second):
            with anyio.fail_after(5):
                got = [await anext(reader), await anext(reader)]
            assert [c.new.name_description for c in got] == [one, two]


async def test_changes_end_when_closed(xapi: XenAPIClient) -> None:
    cache = await xapi.cache(["VM"])
    ended = anyio.Event()

    async def read() -> None:
        async for _ in cache.changes():
            pass
        ended.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        await anyio.sleep(0.05)
        await cache.aclose()
        with anyio.fail_after(5):
            await ended.wait()


async def test_drift_is_resynced_and_reported(
    xapi: XenAPIClient, server: XenAPIServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with await xapi.cache(["VM"]) as cache:
        other = await a_halted_guest(xapi)
        added = add_silently(server, other)
        with caplog.at_level(logging.WARNING, "aioxend.xenapi.cache"):
            await xapi.VM.set_name_description(other, fresh("an event, to bring the counts"))
            await settled(cache, xapi)
        assert added in cache.VM
        assert cache.resyncs == 1
        assert "drifted" in caplog.text
        reader = cache.changes()
        remove_silently(server, added)
        await xapi.VM.set_name_description(other, fresh("another event"))
        await settled(cache, xapi)
        assert added not in cache.VM
        assert cache.resyncs == 2
        with anyio.fail_after(5):
            changes = [await anext(reader), await anext(reader)]
        assert (changes[0].operation, changes[0].resync) == ("mod", None)
        assert (changes[1].ref, changes[1].operation, changes[1].resync) == (added, "del", "drift")


async def test_events_lost_resyncs(xapi: XenAPIClient, server: XenAPIServer) -> None:
    async with await xapi.cache(["VM"]) as cache:
        ref = await a_halted_guest(xapi)
        server.fail_next(1, "EVENTS_LOST", method="event.from")
        await xapi.VM.set_name_description(ref, text := fresh("lost"))
        await settled(cache, xapi)
        assert cache.resyncs == 1
        assert cache.VM[ref].name_description == text


async def test_session_expiry_resyncs(xapi: XenAPIClient, server: XenAPIServer) -> None:
    async with await xapi.cache(["VM"]) as cache:
        ref = await a_halted_guest(xapi)
        server.pool.expire_session(xapi.session_id)
        # another client's change ends the event.from in flight; the next one the cache
        # sends carries the expired session: the client logs in again, the stream resyncs
        async with connect(server.url, username="root", password="xenroot") as other:
            await other.VM.set_name_description(ref, text := fresh("after expiry"))
        with anyio.fail_after(10):
            # the resync may find nothing new, so there may be no change to await
            while cache.resyncs == 0:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        await settled(cache, xapi)
        assert cache.resyncs == 1
        assert cache.VM[ref].name_description == text


@pytest.mark.parametrize("kind", ["drop_before", "drop_mid", "http500"])
async def test_a_transport_failure_is_ridden_out(
    xapi: XenAPIClient, server: XenAPIServer, kind: str
) -> None:
    async with await xapi.cache(["VM"]) as cache:
        ref = await a_halted_guest(xapi)
        rule = server.faults.add(kind, "event.from", count=2)
        try:
            await xapi.VM.set_name_description(ref, text := fresh("after a failure"))
            await settled(cache, xapi)
        finally:
            server.faults.remove(rule)
        assert rule.fired >= 1
        assert cache.VM[ref].name_description == text
        assert cache.resyncs == 0  # the new stream went on from the token: nothing lost


async def test_transport_failures_in_a_row_surface(
    xapi: XenAPIClient, server: XenAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cache, "RETRIES", 2)
    monkeypatch.setattr(_cache, "RETRY_SECONDS", 0.01)
    cache = await xapi.cache(["VM"])
    rule = server.faults.add("drop_before", "event.from")
    try:
        await xapi.VM.set_name_description(await a_halted_guest(xapi), fresh("wakes it"))
        with anyio.fail_after(10), pytest.raises(CacheError) as failed:
            await until_it_fails(cache.changed)
    finally:
        server.faults.remove(rule)
    assert isinstance(failed.value.__cause__, TransportError)
    assert rule.fired == 3  # the first try and two more
    await cache.aclose()


async def test_loop_errors_surface(xapi: XenAPIClient, server: XenAPIServer) -> None:
    cache = await xapi.cache(["VM"])
    reader = cache.changes()
    ref = await a_halted_guest(xapi)
    await xapi.VM.set_name_description(ref, before := fresh("before the failure"))
    await cache.barrier()
    server.fail_next(1, "INTERNAL_ERROR", "boom", method="event.from")
    await xapi.VM.set_name_description(ref, fresh("wakes the event.from"))
    with anyio.fail_after(10), pytest.raises(CacheError, match="boom") as failed:
        await until_it_fails(cache.changed)
    assert isinstance(failed.value.__cause__, errors.InternalError)
    with pytest.raises(CacheError):
        cache.VM[ref]
    with pytest.raises(CacheError):
        len(cache.VM)
    with pytest.raises(CacheError):
        await cache.barrier()
    first = await anext(reader)  # what came before the failure is still given
    assert first.new.name_description == before
    with pytest.raises(CacheError):
        await until_it_fails(reader.__anext__)
    await cache.aclose()


async def test_closed_client_surfaces(server: XenAPIServer) -> None:
    async with connect(server.url, username="root", password="xenroot") as xapi:
        cache = await xapi.cache(["VM"])
    with anyio.fail_after(10), pytest.raises(CacheError, match="closed"):
        await until_it_fails(cache.changed)
    await cache.aclose()


@pytest.mark.parametrize("classes", [["VM", "host"], ["VM", "host", "task", "VIF"]])
async def test_xend(xend: XenAPIServer, classes: list[str]) -> None:
    async with (
        connect(xend.url, username="root", password="xenroot") as xapi,
        await xapi.cache(classes) as cache,
    ):
        vms, hosts = await xapi.VM.get_all_records(), await xapi.host.get_all_records()
        assert vms == cache.VM
        assert cache.host == hosts
        ref = await a_halted_guest(xapi)
        await xapi.VM.start(ref, False, False)
        with anyio.fail_after(10):
            while cache.VM[ref].power_state is not VmPowerState.RUNNING:
                await cache.changed()
        await xapi.VM.hard_shutdown(ref)
        with anyio.fail_after(10):
            while cache.VM[ref].power_state is not VmPowerState.HALTED:
                await cache.changed()
        vms = await xapi.VM.get_all_records()
        assert vms == cache.VM
        with pytest.raises(UnsupportedOperation):
            await cache.barrier()


async def test_xend_lacks_a_class(xend: XenAPIServer) -> None:
    async with connect(xend.url, username="root", password="xenroot") as xapi:
        with pytest.raises((CacheError, errors.MessageMethodUnknown)):
            await xapi.cache(["VM", "Cluster"])


def test_trio(server: XenAPIServer) -> None:
    import trio

    async def main() -> None:
        async with connect(server.url, username="root", password="xenroot") as xapi:
            async with await xapi.cache(["VM", "host"]) as cache:
                ref = await a_halted_guest(xapi)
                await xapi.VM.set_name_description(ref, text := fresh("under trio"))
                await settled(cache, xapi)
                assert cache.VM[ref].name_description == text
            assert cache._done.is_set()

    trio.run(main)
