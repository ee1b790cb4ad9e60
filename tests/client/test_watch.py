"""``XendClient.watch()`` over both legacy protocols against the emulator: add/mod/del
with the changed fields, the interval, ``initial`` and ``ignore``, cancellation, and a
dead server."""

from __future__ import annotations

import datetime
import math
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

import aioxend
from aioxend import ConnectError, DomainInfo, Event, TransportError, XendClient
from aioxend.emulator import Emulator
from aioxend.watch import DomainWatch

FAST = 0.05


@pytest.fixture(params=["xmlrpc", "sxp"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[tuple[XendClient, XendClient]]:
    """A watching client and a second one that makes the changes, on one protocol."""
    protocol = request.param
    async with Emulator(domains=2, xmlrpc_tcp="127.0.0.1:0", sxp_tcp="127.0.0.1:0") as emu:
        url = emu.xmlrpc_url if protocol == "xmlrpc" else emu.sxp_url
        assert url is not None
        async with (
            aioxend.connect(url, protocol=protocol) as watcher,
            aioxend.connect(url, protocol=protocol) as actor,
        ):
            yield watcher, actor


async def take(watch: DomainWatch, count: int, seconds: float = 10) -> list[Event]:
    with anyio.fail_after(seconds):
        return [await watch.__anext__() for _ in range(count)]


async def test_add_mod_del(client: tuple[XendClient, XendClient]) -> None:
    watcher, actor = client
    watch = watcher.watch(interval=FAST)
    adds = await take(watch, 3)
    assert [e.operation for e in adds] == ["add"] * 3
    assert [e.id for e in adds] == [1, 2, 3]
    names = {e.ref: e.snapshot.name for e in adds if isinstance(e.snapshot, DomainInfo)}
    assert sorted(names.values()) == ["Domain-0", "vm1", "vm2"]
    for event in adds:
        assert event.cls == "domain"
        assert event.changed is None
        assert event.timestamp.tzinfo is not None
        assert abs(event.timestamp - datetime.datetime.now(datetime.UTC)).total_seconds() < 60
        assert isinstance(event.snapshot, DomainInfo)
        assert event.ref == str(event.snapshot.uuid)
    vm1 = next(ref for ref, name in names.items() if name == "vm1")

    await actor.pause("vm1")
    [paused] = await take(watch, 1)
    assert (paused.operation, paused.ref, paused.id) == ("mod", vm1, 4)
    assert paused.changed is not None
    assert {"state", "state_string"} <= paused.changed
    assert "cpu_time" not in paused.changed
    assert isinstance(paused.snapshot, DomainInfo)
    assert paused.snapshot.state_string[2] == "p"

    await actor.rename("vm1", "web")
    [renamed] = await take(watch, 1)
    assert (renamed.operation, renamed.ref, renamed.changed) == ("mod", vm1, frozenset({"name"}))

    await actor.destroy("web")  # an unmanaged domain: gone once destroyed
    events = await take(watch, 1)
    while events[-1].operation != "del":
        events += await take(watch, 1)
    assert all(e.ref == vm1 for e in events)
    assert events[-1].snapshot is None
    assert events[-1].changed is None
    ids = [e.id for e in [*adds, paused, renamed, *events]]
    assert ids == list(range(1, len(ids) + 1))


async def test_new_domain_is_an_add(client: tuple[XendClient, XendClient]) -> None:
    watcher, actor = client
    watch = watcher.watch(interval=FAST)
    await take(watch, 3)  # the domains there at the start
    await actor.create(["vm", ["name", "fresh"], ["memory", 128], ["image", ["linux"]]])
    [added] = await take(watch, 1)
    assert added.operation == "add"
    assert isinstance(added.snapshot, DomainInfo)
    assert added.snapshot.name == "fresh"
    assert added.id == 4


async def test_full_sees_devices_come_and_go(client: tuple[XendClient, XendClient]) -> None:
    watcher, actor = client
    watch = watcher.watch(interval=FAST, full=True)
    adds = await take(watch, 3)
    [vm1] = [
        e.snapshot for e in adds if isinstance(e.snapshot, DomainInfo) and e.snapshot.name == "vm1"
    ]
    await actor.device_create("vm1", "(vbd (uname phy:/dev/vg/extra) (dev xvdb) (mode r))")
    [attached] = await take(watch, 1)
    assert attached.operation == "mod"
    assert attached.changed == frozenset({"devices"})
    assert isinstance(attached.snapshot, DomainInfo)
    assert len(attached.snapshot.devices) == len(vm1.devices) + 1
    await actor.device_destroy("vm1", "vbd", "xvdb")
    [detached] = await take(watch, 1)
    assert detached.changed == frozenset({"devices"})


async def test_ignore_nothing_reports_cpu_time(client: tuple[XendClient, XendClient]) -> None:
    watcher, _ = client
    watch = watcher.watch(interval=FAST, ignore=(), initial=False)
    [event] = await take(watch, 1)  # running domains' CPU time grows between polls
    assert (event.operation, event.id) == ("mod", 1)  # initial=False: no adds first
    assert event.changed is not None
    assert "cpu_time" in event.changed
    assert watch.compared >= {"cpu_time", "state", "name"}


async def test_interval(client: tuple[XendClient, XendClient], monkeypatch: Any) -> None:
    watcher, _ = client
    polls = 0
    domains = watcher.domains

    async def counted(*args: Any, **kwargs: Any) -> list[DomainInfo]:
        nonlocal polls
        polls += 1
        return await domains(*args, **kwargs)

    monkeypatch.setattr(watcher, "domains", counted)
    with anyio.move_on_after(0.55):
        async for _ in watcher.watch(interval=0.1, initial=False):
            pytest.fail("nothing changed")
    assert 2 <= polls <= 7  # 6 on an idle machine: at 0, 0.1, ..., 0.5 s
    polls = 0
    with anyio.move_on_after(0.5):
        async for _ in watcher.watch(interval=30.0, initial=False):
            pytest.fail("nothing changed")
    assert polls == 1


async def test_cancellation_between_and_during_polls(
    client: tuple[XendClient, XendClient],
) -> None:
    watcher, _ = client
    with anyio.move_on_after(0.3) as scope:  # between polls: waiting for the next one
        async for _ in watcher.watch(interval=60.0, initial=False):
            pass
    assert scope.cancelled_caught
    with anyio.move_on_after(0.3) as scope:
        async for _ in watcher.watch(interval=FAST, initial=True):
            pass  # every event read; then waits: cancelled mid-wait or mid-poll
    assert scope.cancelled_caught
    assert len(await watcher.domains()) == 3  # the client goes on


async def test_cancellation_mid_poll() -> None:
    async with Emulator(domains=1, xmlrpc_tcp="127.0.0.1:0") as emu:
        assert emu.xmlrpc_url is not None
        emu.faults.add("latency", delay=5.0, count=1)
        async with aioxend.connect(emu.xmlrpc_url, protocol="xmlrpc") as watcher:
            started = anyio.current_time()
            with anyio.move_on_after(0.2):
                async for _ in watcher.watch(interval=FAST):
                    pytest.fail("the poll is stalled")
            assert anyio.current_time() - started < 4  # not the poll's 5 s of latency
            assert len(await watcher.domains()) == 2


async def test_dead_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with aioxend.connect(f"http://127.0.0.1:{port}/", protocol="xmlrpc") as watcher:
        with pytest.raises(ConnectError, match="domains") as caught:
            await watcher.watch().__anext__()
        assert str(port) in str(caught.value)


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
async def test_server_dies_mid_watch(protocol: str) -> None:
    emu = Emulator(domains=1, xmlrpc_tcp="127.0.0.1:0", sxp_tcp="127.0.0.1:0")
    await emu.start()
    try:
        url = emu.xmlrpc_url if protocol == "xmlrpc" else emu.sxp_url
        assert url is not None
        async with aioxend.connect(url, protocol=protocol, timeout=2.0) as watcher:  # type: ignore[arg-type]
            watch = watcher.watch(interval=FAST)
            await take(watch, 2)
            await emu.stop()
            with anyio.fail_after(10), pytest.raises(TransportError, match="domains"):
                await watch.__anext__()
    finally:
        await emu.stop()


async def test_one_iterator_at_a_time(client: tuple[XendClient, XendClient]) -> None:
    watcher, _ = client
    watch = watcher.watch(interval=60.0, initial=False)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch.__anext__)
        await anyio.sleep(0.1)
        with pytest.raises(RuntimeError, match="already iterating"):
            await watch.__anext__()
        tasks.cancel_scope.cancel()


def test_bad_arguments() -> None:
    client = XendClient("http://127.0.0.1:1/")
    for interval in (0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="interval"):
            client.watch(interval=interval)
    for interval_type in (True, "1"):
        with pytest.raises(TypeError, match="interval"):
            client.watch(interval=interval_type)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"no field of DomainInfo: \['cpu'\]"):
        client.watch(ignore=["cpu"])
    with pytest.raises(TypeError, match="collection of field names"):
        client.watch(ignore="cpu_time")
    assert "every 1 s" in repr(client.watch())
