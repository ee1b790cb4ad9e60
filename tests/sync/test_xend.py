"""The blocking xend client against the emulator: the async client's results, errors and
timeouts, from several threads, and no thread left once it is closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import pytest

import aioxend
import aioxend.sync
from aioxend.emulator import Emulator
from tests.sync.conftest import portal_threads, same_error


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator.in_thread(domains=6) as emulator:
        yield emulator


@pytest.fixture(params=["xmlrpc", "sxp"])
def url(request: pytest.FixtureRequest, emu: Emulator) -> str:
    found = emu.xmlrpc_url if request.param == "xmlrpc" else emu.sxp_url
    assert found is not None
    return found


def async_error(url: str, act: Callable[[aioxend.XendClient], Awaitable[object]]) -> BaseException:
    """What the async client raises for ``act``."""

    async def main() -> BaseException:
        async with aioxend.connect(url) as client:
            try:
                await act(client)
            except Exception as exc:
                return exc
        raise AssertionError("no error")

    return anyio.run(main)


def test_calls_return_what_the_async_client_returns(url: str, emu: Emulator) -> None:
    def still(domains: list[aioxend.DomainInfo]) -> list[tuple[object, ...]]:
        return [(d.name, d.domid, d.uuid, d.state, d.memory, d.image) for d in domains]

    async def expected() -> Any:
        async with aioxend.connect(url) as client:
            return still(await client.domains()), await client.node_info(), client.protocol

    with aioxend.sync.connect(url) as xend:
        assert (still(xend.domains()), xend.node_info(), xend.protocol) == anyio.run(expected)
        assert xend.url == url
        assert "blocking" in repr(xend)
        xend.pause("vm1")
        assert emu.host.domain("vm1").state_string[2] == "p"
        xend.unpause("vm1")
        assert xend.domain_names("running")[0] == "Domain-0"
        [thread] = portal_threads()
        assert thread.daemon


def test_errors_are_the_async_clients_same_class_and_message(url: str) -> None:
    with aioxend.sync.connect(url) as xend, pytest.raises(aioxend.InvalidDomain) as caught:
        xend.pause("nosuch")
    same_error(caught.value, async_error(url, lambda c: c.pause("nosuch")))
    with aioxend.sync.connect(url) as xend, pytest.raises(ValueError, match="mib") as bad:
        xend.set_memory("vm2", -1)
    same_error(bad.value, async_error(url, lambda c: c.set_memory("vm2", -1)))


def test_a_bad_argument_to_connect_raises_as_the_async_one_and_starts_no_thread() -> None:
    with pytest.raises(ValueError, match="protocol") as mine:
        aioxend.sync.connect("http://127.0.0.1:1/", protocol="soap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="protocol") as theirs:
        aioxend.connect("http://127.0.0.1:1/", protocol="soap")  # type: ignore[arg-type]
    same_error(mine.value, theirs.value)


def test_a_failed_connect_raises_the_async_error_and_leaves_no_thread() -> None:
    with pytest.raises(aioxend.ConnectError) as mine:
        aioxend.sync.connect("http://127.0.0.1:1/", timeout=5)

    async def theirs() -> None:
        async with aioxend.connect("http://127.0.0.1:1/", timeout=5):
            pass

    with pytest.raises(aioxend.ConnectError) as caught:
        anyio.run(theirs)
    same_error(mine.value, caught.value)


def test_timeouts_are_the_async_clients(url: str, emu: Emulator) -> None:
    with aioxend.sync.connect(url, timeout=30) as xend:
        emu.faults.add("stall", count=1)
        started = time.monotonic()
        with pytest.raises(aioxend.ReadTimeout) as caught:
            xend.domains(timeout=0.3)
        assert 0.25 < time.monotonic() - started < 5
        assert isinstance(caught.value, TimeoutError)
        emu.faults.clear()
        assert xend.domains()[0].name == "Domain-0"  # still healthy

    def stalled(client: aioxend.XendClient) -> Awaitable[object]:
        emu.faults.add("stall", count=1)
        return client.domains(timeout=0.3)

    try:
        same_error(caught.value, async_error(url, stalled))
    finally:
        emu.faults.clear()


def test_several_threads_share_one_client_and_its_loop(url: str, emu: Emulator) -> None:
    names = [f"vm{1 + n % 6}" for n in range(48)]
    with aioxend.sync.connect(url) as xend:
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(lambda name: xend.domain(name).name, names))
        assert got == names
        assert len(portal_threads()) == 1
        # Calls of several threads wait on the server together, as tasks of one loop.
        emu.faults.add("latency", delay=0.4)
        try:
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda name: xend.domain(name), names[:8]))
            assert time.monotonic() - started < 8 * 0.4 / 2
        finally:
            emu.faults.clear()


def test_close_stops_the_thread_and_later_calls_raise_as_the_async_client(url: str) -> None:
    xend = aioxend.sync.connect(url)
    assert len(portal_threads()) == 1
    xend.close()
    assert portal_threads() == []
    assert xend.closed
    with pytest.raises(RuntimeError) as caught:
        xend.domains()
    same_error(caught.value, async_error(url, closed_then_domains))
    xend.close()  # again: nothing to do
    with pytest.raises(RuntimeError, match="closed"), xend:
        pass


async def closed_then_domains(client: aioxend.XendClient) -> object:
    await client.aclose()
    return await client.domains()


def test_the_with_block_closes_on_an_exception_too(url: str) -> None:
    with pytest.raises(KeyError), aioxend.sync.connect(url) as xend:
        raise KeyError("out")
    assert xend.closed


def test_close_from_another_thread_ends_a_call_in_flight(url: str, emu: Emulator) -> None:
    xend = aioxend.sync.connect(url, timeout=None)
    emu.faults.add("stall", count=1)
    try:
        closer = threading.Timer(0.3, xend.close)
        closer.start()
        with pytest.raises(RuntimeError, match=r"^this XendClient was closed during the call$"):
            xend.domains()
        closer.join()
    finally:
        emu.faults.clear()


def test_watch_is_a_blocking_iterator_of_the_async_watch(url: str) -> None:
    with aioxend.sync.connect(url) as xend:
        names = set(xend.domain_names())
        with xend.watch(interval=0.05) as changes:
            first = [next(changes) for _ in names]
            assert {e.operation for e in first} == {"add"}
            xend.pause("vm5")
            for event in changes:
                if event.operation == "mod" and event.snapshot is not None:
                    assert isinstance(event.snapshot, aioxend.DomainInfo)
                    if event.snapshot.name == "vm5":
                        break
            assert event.changed is not None
            assert "state" in event.changed or "state_string" in event.changed
        assert list(changes) == []
        xend.unpause("vm5")
