"""Pool failover against the emulator: the master killed mid-run (a crash and a hang),
a member promoted; reads in flight are sent again on the new master, writes fail with a
``TransportError``; the list-of-URLs form; a pool with no master left."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.errors import ConnectError, TransportError
from aioxend.xenapi import VmPowerState, XenAPIClient, connect

LOGIN: dict[str, Any] = {"username": "root", "password": "xenroot"}


@pytest.fixture
async def pool() -> AsyncIterator[XenAPIServer]:
    """A three-host pool: the master on 127.0.0.1, members on 127.0.0.2 and .3."""
    async with XenAPIServer(tcp="127.0.0.1:0", hosts=3, vms=4) as server:
        yield server


def dead_url() -> str:
    """A URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


async def in_flight(server: XenAPIServer, count: int) -> None:
    """Wait until ``count`` calls are being served by the master."""
    with anyio.fail_after(5):
        while server.liveness.serving(server.pool.master) < count:  # noqa: ASYNC110 (no event)
            await anyio.sleep(0.01)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_master_killed_mid_run(pool: XenAPIServer, protocol: str) -> None:
    new_master = pool.member_urls[1]
    async with connect(pool.url, pool=True, protocol=protocol, **LOGIN) as xapi:  # type: ignore[arg-type]
        assert sorted(xapi._failover.members) == sorted([pool.url, *pool.member_urls])  # type: ignore[union-attr]
        old_session = xapi.session_id
        [vm1] = await xapi.VM.get_by_name_label("vm1")
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        pool.faults.add("latency", "VM.start", delay=2.0, count=1)
        pool.faults.add("latency", "VM.get_record", delay=2.0, count=1)
        results: dict[str, Any] = {}

        async def write() -> None:
            try:
                await xapi.VM.start(vm2, False, False)
            except TransportError as exc:
                results["write"] = exc

        async def read() -> None:
            results["read"] = await xapi.VM.get_record(vm1)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write)
            tasks.start_soon(read)
            await in_flight(pool, 2)
            pool.kill_master()
            pool.promote(new_master)
        assert isinstance(results["write"], TransportError)
        assert any("not sent again" in note for note in results["write"].__notes__)
        assert results["read"].name_label == "vm1"  # sent again, on the new master
        assert xapi.url == new_master
        assert xapi.session_id not in (None, old_session)
        assert xapi.session_id in pool.pool.sessions()
        # the write was not applied, and is not retried behind the caller's back
        assert await xapi.VM.get_power_state(vm2) is VmPowerState.HALTED
        await xapi.VM.start(vm2, False, False)  # later calls go to the new master
        assert await xapi.VM.get_power_state(vm2) is VmPowerState.RUNNING


async def test_a_write_that_never_left_goes_to_the_new_master(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, **LOGIN) as xapi:
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        pool.faults.add("latency", "VM.get_all", delay=2.0, count=1)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(xapi.VM.get_all)  # holds the client's one connection
            await in_flight(pool, 1)
            pool.kill_master()
            pool.promote(pool.member_urls[0])
            # a new connection, refused: the write was not sent, so it goes on
            await xapi.VM.start(vm2, False, False)
        assert xapi.url == pool.url
        assert await xapi.VM.get_power_state(vm2) is VmPowerState.RUNNING


async def test_a_failed_write_makes_the_next_call_find_the_master(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, **LOGIN) as xapi:
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        pool.faults.add("latency", "VM.start", delay=2.0, count=1)
        failed: list[BaseException] = []

        async def write() -> None:
            try:
                await xapi.VM.start(vm2, False, False)
            except TransportError as exc:
                failed.append(exc)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write)
            await in_flight(pool, 1)
            pool.kill_master()
        assert len(failed) == 1
        assert xapi._failover is not None
        assert xapi._failover.searches == 0  # a failed write searches nothing itself
        pool.promote(pool.member_urls[0])
        assert await xapi.VM.get_power_state(vm2) is VmPowerState.HALTED
        assert xapi._failover.searches == 1  # the next call did, first
        assert xapi.url == pool.url


async def test_a_blip_keeps_the_master_and_the_session(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, **LOGIN) as xapi:
        session = xapi.session_id
        pool.faults.add("drop_before", "VM.get_all", count=1)
        assert len(await xapi.VM.get_all()) == 7  # a read: the master still answers
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        pool.faults.add("drop_before", "VM.start", count=1)
        with pytest.raises(TransportError):
            await xapi.VM.start(vm2, False, False)
        await xapi.VM.start(vm2, False, False)
        assert (xapi.url, xapi.session_id) == (pool.url, session)
        assert pool.pool.sessions() == [session]


async def test_list_of_urls_follows_the_member_that_names_the_new_master(
    pool: XenAPIServer,
) -> None:
    master, member, other = pool.url, *pool.member_urls
    # only the master and one member are known: the new master is found by its name
    async with connect([dead_url(), master, member], **LOGIN) as xapi:
        assert xapi.url == master  # the dead first URL was passed over
        assert xapi._failover is not None
        assert other not in xapi._failover.members  # a list alone learns nothing
        pool.kill_master()
        pool.promote(other)
        assert len(await xapi.VM.get_all()) == 4 + 3
        assert xapi.url == other


async def test_a_list_opens_through_a_member(pool: XenAPIServer) -> None:
    async with connect([pool.member_urls[0]], **LOGIN) as xapi:
        assert xapi.url == pool.url  # HOST_IS_SLAVE at login, as without a list


async def test_no_url_of_the_list_answers() -> None:
    urls = [dead_url(), dead_url()]
    with pytest.raises(ConnectError, match="no URL of the pool answered") as caught:
        async with connect(urls, **LOGIN):
            pass
    for url in urls:
        assert url in str(caught.value)


async def test_every_member_dead_or_still_naming_the_lost_master(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, failover_timeout=0.5, **LOGIN) as xapi:
        pool.kill_master()  # and nobody is promoted: members name the lost master
        started = anyio.current_time()
        with pytest.raises(ConnectError, match=r"no master of the pool answered within 0.5 s"):
            await xapi.VM.get_all()
        assert anyio.current_time() - started < 10  # the search's 0.5 s, not the default 60
        with pytest.raises(ConnectError) as again:  # the next call searches again
            await xapi.pool.get_all()
        message = str(again.value)
        assert "HOST_IS_SLAVE 127.0.0.1 (the lost master)" in message
        for url in (pool.url, *pool.member_urls):
            assert url in message
        pool.promote(pool.member_urls[0])
        assert len(await xapi.pool.get_all()) == 1  # found once there is a master


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_master_hangs(pool: XenAPIServer, protocol: str) -> None:
    async with connect(pool.url, pool=True, timeout=0.5, protocol=protocol, **LOGIN) as xapi:  # type: ignore[arg-type]
        assert xapi.protocol == protocol
        pool.kill_master("hang")
        pool.promote(pool.member_urls[0])
        started = anyio.current_time()
        assert len(await xapi.VM.get_all()) == 7  # a read: timed out, then sent again
        assert anyio.current_time() - started < 10  # bounded by the call's 0.5 s timeout
        assert xapi.url == pool.url


async def test_demoted_master_sends_calls_on(pool: XenAPIServer) -> None:
    # a member made master while the old one lives (pool.designate_new_master): calls
    # the old master refuses with HOST_IS_SLAVE never ran, so writes are sent on too
    async with connect(pool.url, pool=True, **LOGIN) as xapi:
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        new_master = pool.member_urls[1]
        pool.promote(new_master)
        await xapi.VM.start(vm2, False, False)
        assert xapi.url == new_master
        assert await xapi.VM.get_power_state(vm2) is VmPowerState.RUNNING


async def test_concurrent_reads_share_one_search(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, **LOGIN) as xapi:
        refs = await xapi.VM.get_all()  # 4 guests and 3 control domains
        pool.faults.add("latency", "VM.get_record", delay=2.0, count=len(refs))
        records: list[object] = []

        async def read(ref: Any) -> None:
            records.append(await xapi.VM.get_record(ref))

        async with anyio.create_task_group() as tasks:
            for ref in refs:
                tasks.start_soon(read, ref)
            await in_flight(pool, len(refs))
            pool.kill_master()
            pool.promote(pool.member_urls[0])
        assert len(records) == len(refs) == 7
        assert pool.pool.sessions() == [xapi.session_id]  # one login at the new master


async def test_xend_pool_of_one(tmp_path: Any) -> None:
    async with (
        XenAPIServer(tcp="127.0.0.1:0", dialect="xend") as xend,
        connect(xend.url, pool=True, **LOGIN) as xapi,
    ):
        assert xapi._failover is not None
        assert xapi._failover.members == [xend.url]
        assert len(await xapi.host.get_all()) == 1


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="no URL"):
        XenAPIClient([])
    with pytest.raises(ValueError, match="'ftp://x/'"):
        XenAPIClient(["http://a/", "ftp://x/"])
    with pytest.raises(ValueError, match="not 'ssh://x/'"):
        XenAPIClient(["http://a/", "ssh://x/"])
    with pytest.raises(ValueError, match="adopted session_id"):
        XenAPIClient("http://a/", pool=True, session_id="OpaqueRef:x")
    with pytest.raises(ValueError, match="failover_timeout"):
        XenAPIClient("http://a/", pool=True, failover_timeout=0)


def test_failover_on_trio_with_the_pool_in_a_thread() -> None:
    import trio

    with XenAPIServer.in_thread(tcp="127.0.0.1:0", hosts=2, vms=1) as server:
        urls: list[str] = []

        async def main() -> None:
            async with connect(server.url, pool=True, **LOGIN) as xapi:
                await xapi.VM.get_all()
                server.kill_master()  # from this thread: waits for the crash on the pool's
                server.promote(server.member_urls[0])
                assert len(await xapi.VM.get_all()) == 3
                urls.append(xapi.url)

        trio.run(main)
        assert urls == [server.url]


async def test_calls_waiting_on_a_failed_search_share_its_error(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, failover_timeout=1.0, **LOGIN) as xapi:
        pool.kill_master()
        errors: list[BaseException] = []

        async def read() -> None:
            try:
                await xapi.VM.get_all()
            except ConnectError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(read)
        assert len(errors) == 5
        assert xapi._failover is not None
        assert xapi._failover.searches == 1  # one search of 1 s, not five in a row
        assert all("no master of the pool answered" in str(exc) for exc in errors)


async def test_a_cancelled_search_is_taken_up_by_the_next_call(pool: XenAPIServer) -> None:
    async with connect(pool.url, pool=True, timeout=0.3, **LOGIN) as xapi:
        pool.kill_master("hang")
        with anyio.move_on_after(0.5) as scope:  # mid-search: the members name the lost master
            await xapi.VM.get_all()
        assert scope.cancelled_caught
        pool.promote(pool.member_urls[0])
        assert len(await xapi.VM.get_all()) == 7
        assert xapi.url == pool.url


async def test_an_event_stream_goes_on_at_the_new_master(pool: XenAPIServer) -> None:
    async with (
        connect(pool.url, pool=True, **LOGIN) as xapi,
        xapi.events(["vm"], timeout=30.0) as stream,
    ):
        [vm2] = await xapi.VM.get_by_name_label("vm2")
        seen: list[object] = []

        async def consume() -> None:
            async for item in stream:
                seen.append(item)

        def started() -> bool:
            return any(getattr(e, "ref", None) == vm2 and e.operation == "mod" for e in seen)  # type: ignore[attr-defined]

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(consume)
                await in_flight(pool, 1)  # the stream waits in event.from
                pool.kill_master()
                pool.promote(pool.member_urls[0])
                await xapi.VM.start(vm2, False, False)
                while not started():  # noqa: ASYNC110 (the list is the consumer's)
                    await anyio.sleep(0.01)
                tasks.cancel_scope.cancel()
        assert xapi.url == pool.url
