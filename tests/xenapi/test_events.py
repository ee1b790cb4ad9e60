"""``xapi.events(...)`` against the emulator: xapi over both wires, and xend's dialect.

Adds, mods and dels with typed snapshots; resuming from a token; ``EVENTS_LOST`` and an
expired session, each answered by a ``Resync`` with the fresh records, after which the
stream goes on.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

import anyio
import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import Event, EventStream, Resync, XenAPIClient, connect, errors
from aioxend.xenapi._generated.vm import VMRecord

WIRES = ["jsonrpc", "xmlrpc", "xend"]
VMS = 3


@asynccontextmanager
async def opened(kind: str, **server: object) -> AsyncIterator[tuple[XenAPIServer, XenAPIClient]]:
    dialect = "xend" if kind == "xend" else "xapi"
    protocol = "xmlrpc" if kind == "xend" else kind
    async with (
        XenAPIServer(vms=VMS, dialect=dialect, **server) as srv,  # type: ignore[arg-type]
        connect(srv.url, username="root", password="xenroot", protocol=protocol) as xapi,  # type: ignore[arg-type]
    ):
        yield srv, xapi


async def until(
    stream: EventStream, done: Callable[[Event | Resync], bool], seconds: float = 10.0
) -> list[Event | Resync]:
    """Items of ``stream`` up to the first one ``done`` accepts (which is last)."""
    seen: list[Event | Resync] = []
    with anyio.fail_after(seconds):
        async for item in stream:
            seen.append(item)
            if done(item):
                return seen
    raise AssertionError(f"the stream ended: {seen}")


def is_event(operation: str, ref: str) -> Callable[[Event | Resync], bool]:
    return lambda e: isinstance(e, Event) and (e.operation, e.ref) == (operation, ref)


async def all_vms(xapi: XenAPIClient) -> set[str]:
    return set(await xapi.VM.get_all())


async def expect_resync(stream: EventStream, reason: str, vm: str, description: str) -> None:
    """The next item is a ``Resync`` for ``reason`` in which ``vm`` has ``description``."""
    resync = await anext(stream)
    assert isinstance(resync, Resync)
    assert resync.reason == reason
    record = resync.records["VM"][vm]
    assert isinstance(record, VMRecord)
    assert record.name_description == description


async def skip_initial(stream: EventStream, xapi: XenAPIClient) -> None:
    """Read the ``add`` of every VM that a stream from ``""`` starts with."""
    for _ in await all_vms(xapi):
        await anext(stream)


@pytest.mark.parametrize("kind", WIRES)
async def test_adds_mods_and_dels_with_typed_snapshots(kind: str) -> None:
    async with opened(kind) as (_srv, xapi):
        vms = await all_vms(xapi)
        stream = xapi.events(["vm"], timeout=5.0)
        first = [await anext(stream) for _ in vms]
        assert all(isinstance(e, Event) and e.operation == "add" for e in first)
        assert {e.ref for e in first if isinstance(e, Event)} == vms
        event = first[0]
        assert isinstance(event, Event)
        assert event.cls == "VM"
        assert isinstance(event.snapshot, VMRecord)
        assert event.timestamp.tzinfo is not None

        [halted] = await xapi.VM.get_by_name_label("vm2")
        clone = await xapi.VM.clone(halted, "short-lived")
        [*_, added] = await until(stream, is_event("add", clone))
        assert isinstance(added, Event)
        assert isinstance(added.snapshot, VMRecord)
        assert added.snapshot.name_label == "short-lived"

        await xapi.VM.start(clone, False, False)

        def running(e: Event | Resync) -> bool:
            snapshot = e.snapshot if isinstance(e, Event) and e.ref == clone else None
            return isinstance(snapshot, VMRecord) and snapshot.power_state == "Running"

        await until(stream, running)

        await xapi.VM.hard_shutdown(clone)
        await xapi.VM.destroy(clone)
        [*_, deleted] = await until(stream, is_event("del", clone))
        assert isinstance(deleted, Event)
        assert deleted.snapshot is None
        await stream.aclose()
        assert [e async for e in stream] == []


@pytest.mark.parametrize("kind", WIRES)
async def test_one_object_subscription_sees_only_that_object(kind: str) -> None:
    async with opened(kind) as (_srv, xapi):
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        [vm1] = await xapi.VM.get_by_name_label("vm1")
        async with xapi.events([f"vm/{vm2}"], timeout=5.0) as stream:
            [start] = await until(stream, is_event("add", vm2))
            await xapi.VM.pause(vm1)
            await xapi.VM.start(vm2, False, False)
            seen = await until(stream, is_event("mod", vm2))
            assert {e.ref for e in seen if isinstance(e, Event)} == {vm2}
            assert isinstance(start, Event)


@pytest.mark.parametrize("kind", ["jsonrpc", "xmlrpc"])
async def test_resume_from_a_token(kind: str) -> None:
    async with opened(kind) as (_srv, xapi):
        stream = xapi.events(["vm"], timeout=5.0)
        await skip_initial(stream, xapi)
        token = stream.token
        assert token
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        await xapi.VM.start(vm2, False, False)
        resumed = xapi.events(["vm"], token=token, timeout=5.0)
        event = await anext(resumed)
        assert isinstance(event, Event)
        assert (event.operation, event.ref) == ("mod", vm2)
        assert resumed.token > token


async def test_the_token_moves_only_past_a_batch_yielded_whole() -> None:
    async with opened("jsonrpc") as (_srv, xapi):
        stream = xapi.events(["vm"], timeout=5.0)
        await anext(stream)
        assert stream.token == ""  # the batch is not yielded whole yet: resume repeats it
        for _ in range(len(await all_vms(xapi)) - 1):
            await anext(stream)
        assert stream.token != ""


async def test_a_token_cannot_resume_on_xend_so_it_resynchronises() -> None:
    async with opened("xend") as (_srv, xapi):
        stream = xapi.events(["vm"], token="xend/7", timeout=5.0)
        resync = await anext(stream)
        assert isinstance(resync, Resync)
        assert resync.reason == "TOKEN"
        assert set(resync.records["VM"]) == await all_vms(xapi)


@pytest.mark.parametrize("kind", WIRES)
async def test_events_lost_resynchronises_and_goes_on(kind: str) -> None:
    async with opened(kind) as (srv, xapi):
        stream = xapi.events(["vm"], timeout=5.0)
        await skip_initial(stream, xapi)
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        await xapi.VM.start(vm2, False, False)
        srv.lose_events()
        [*_, resync] = await until(stream, lambda e: isinstance(e, Resync))
        assert isinstance(resync, Resync)
        assert resync.reason == "EVENTS_LOST"
        assert set(resync.records["VM"]) == await all_vms(xapi)
        record = resync.records["VM"][vm2]
        assert isinstance(record, VMRecord)
        assert record.power_state == "Running"
        assert stream.token == resync.token
        await xapi.VM.pause(vm2)
        await until(stream, is_event("mod", vm2))


@pytest.mark.parametrize("kind", WIRES)
async def test_an_expired_session_resynchronises_and_goes_on(kind: str) -> None:
    async with opened(kind) as (srv, xapi):
        stream = xapi.events(["vm"], timeout=5.0)
        await skip_initial(stream, xapi)
        old = xapi.session_id
        srv.expire_session()
        [vm2] = await xapi.VM.get_by_name_label("vm2")  # a read: the client logs in again
        await xapi.VM.start(vm2, False, False)
        srv.expire_session()  # and once more under the stream's feet
        [*_, resync] = await until(stream, lambda e: isinstance(e, Resync))
        assert isinstance(resync, Resync)
        assert resync.reason == "SESSION_INVALID"
        assert xapi.session_id != old
        assert set(resync.records["VM"]) == await all_vms(xapi)
        await xapi.VM.pause(vm2)
        await until(stream, is_event("mod", vm2))


async def test_xend_queue_of_50_overflows_into_a_resync() -> None:
    async with opened("xend") as (srv, xapi):
        stream = xapi.events(["VM"], timeout=5.0)
        await skip_initial(stream, xapi)
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        for i in range(60):  # one session's queue holds 50
            await xapi.VM.set_name_description(vm2, f"change {i}")
        await expect_resync(stream, "EVENTS_LOST", vm2, "change 59")
        assert srv.pool.registrations.registered(str(xapi.session_id))
        await stream.aclose()
        assert not srv.pool.registrations.registered(str(xapi.session_id))


async def test_an_adopted_session_that_expires_is_raised() -> None:
    async with XenAPIServer(vms=1) as srv:
        session = srv.pool.login(srv.pool.master, "root", "xenroot")
        async with connect(srv.url, session_id=session, protocol="jsonrpc") as xapi:
            stream = xapi.events(["vm"], timeout=1.0)
            await skip_initial(stream, xapi)
            srv.expire_session()
            with pytest.raises(errors.SessionInvalid):
                await anext(stream)


async def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    async with opened("jsonrpc") as (_srv, xapi):
        with pytest.raises(TypeError):
            xapi.events("vm")
        with pytest.raises(ValueError, match="non-empty"):
            xapi.events([])
        for wrong in (-1, 0, 86401):
            with pytest.raises(ValueError, match="more than 0"):
                xapi.events(["vm"], timeout=wrong)
        with pytest.raises(TypeError):
            xapi.events(["vm"], token=5)  # type: ignore[arg-type]


async def test_a_bad_subscription_is_the_servers_error() -> None:
    async with opened("jsonrpc") as (_srv, xapi):
        stream = xapi.events(["vm"], token="not-a-token", timeout=1.0)
        with pytest.raises(errors.EventFromTokenParseFailure):
            await anext(stream)


async def test_two_readers_at_once_is_an_error() -> None:
    async with opened("jsonrpc") as (_srv, xapi):
        stream = xapi.events(["vm"], token="", timeout=5.0)
        await skip_initial(stream, xapi)
        async with anyio.create_task_group() as tg:
            tg.start_soon(anext, stream)
            await anyio.sleep(0.2)
            with pytest.raises(RuntimeError, match="another task"):
                await anext(stream)
            tg.cancel_scope.cancel()


async def random_step(rng: random.Random, srv: XenAPIServer, xapi: XenAPIClient, keep: str) -> None:
    """One change of the pool: a VM (not ``keep``) made, started, stopped, renamed or
    destroyed, or the server losing events or sessions."""
    records = await xapi.VM.get_all_records()
    guests = [ref for ref, r in records.items() if not r.is_control_domain and ref != keep]
    ref = rng.choice(guests)
    state = await xapi.VM.get_power_state(ref)
    action = rng.choice(["clone", "power", "rename", "rename", "destroy", "lose", "expire"])
    if action == "clone" and state == "Halted":
        await xapi.VM.clone(ref, f"clone{rng.randrange(1000)}")
    elif action == "power" and state == "Running":
        await xapi.VM.hard_shutdown(ref)
    elif action == "power" and state == "Halted":
        await xapi.VM.start(ref, False, False)
    elif action == "destroy" and state == "Halted" and len(guests) > 1:
        await xapi.VM.destroy(ref)
    elif action == "lose":
        srv.lose_events()
    elif action == "expire":
        srv.expire_session()
        await xapi.VM.get_all()  # a read: the client logs in again
    else:
        await xapi.VM.set_name_description(ref, f"d{rng.randrange(1000)}")


def fold(state: dict[str, object], item: Event | Resync) -> None:
    """What a consumer of the stream knows after ``item``."""
    if isinstance(item, Resync):
        state.clear()
        state.update(item.records.get("VM", {}))
    elif item.operation == "del":
        state.pop(item.ref, None)
    else:
        state[item.ref] = item.snapshot


def summary(records: Mapping[str, object]) -> dict[str, tuple[str, str, str]]:
    out = {}
    for ref, record in records.items():
        assert isinstance(record, VMRecord)
        out[ref] = (record.name_label, record.name_description, str(record.power_state))
    return out


class CaughtUp:
    """Folds each item into ``state``; true at the end of the batch in which the
    sentinel VM shows the marker (the stream's token moves at a batch's last item)."""

    def __init__(self, stream: EventStream, state: dict[str, object], sentinel: str, marker: str):
        self.stream, self.state, self.sentinel, self.marker = stream, state, sentinel, marker
        self.token = stream.token
        self.seen = False

    def __call__(self, item: Event | Resync) -> bool:
        fold(self.state, item)
        record = self.state.get(self.sentinel)
        if isinstance(record, VMRecord) and record.name_description == self.marker:
            self.seen = True
        moved, self.token = self.stream.token != self.token, self.stream.token
        return self.seen and (moved or isinstance(item, Resync))


@pytest.mark.parametrize("kind", WIRES)
@pytest.mark.parametrize("seed", [1, 2, 7])
async def test_folding_the_stream_gives_the_pools_state(kind: str, seed: int) -> None:
    rng = random.Random(seed)
    async with opened(kind) as (srv, xapi):
        [sentinel] = await xapi.VM.get_by_name_label("vm1")
        stream = xapi.events(["vm"], timeout=5.0)
        state: dict[str, object] = {}
        for round_ in range(4):
            for _ in range(rng.randrange(1, 6)):
                await random_step(rng, srv, xapi, sentinel)
            await xapi.VM.set_name_description(sentinel, f"round {round_}")

            caught_up = CaughtUp(stream, state, sentinel, f"round {round_}")
            await until(stream, caught_up)
            pool = {str(ref): record for ref, record in (await xapi.VM.get_all_records()).items()}
            assert summary(state) == summary(pool)
        await stream.aclose()


@pytest.mark.parametrize("kind", WIRES)
async def test_a_resync_names_every_class_asked_for_even_when_empty(kind: str) -> None:
    async with opened(kind) as (srv, xapi):
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        stream = xapi.events([f"vm/{vm2}", "task"], timeout=5.0)
        await until(stream, is_event("add", vm2))
        await xapi.VM.destroy(vm2)
        srv.lose_events()
        [*_, resync] = await until(stream, lambda e: isinstance(e, Resync))
        assert isinstance(resync, Resync)
        assert resync.records == {"VM": {}, "task": {}}


async def test_a_cancelled_event_next_on_xend_resynchronises_on_a_fresh_queue() -> None:
    async with opened("xend") as (_srv, xapi):
        stream = xapi.events(["vm"], timeout=5.0)
        await skip_initial(stream, xapi)
        with anyio.move_on_after(0.3):
            await anext(stream)  # blocked in event.next, then cancelled
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        await xapi.VM.set_name_description(vm2, "while nobody read")
        await expect_resync(stream, "INTERRUPTED", vm2, "while nobody read")
        await xapi.VM.set_name_description(vm2, "read")
        [*_, event] = await until(stream, is_event("mod", vm2))
        assert isinstance(event, Event)
        assert isinstance(event.snapshot, VMRecord)
        assert event.snapshot.name_description == "read"
        await stream.aclose()
