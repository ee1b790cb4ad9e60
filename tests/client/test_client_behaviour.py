"""The client as a service uses it: auto fallback, trio, 500 calls at once, cancellation,
timeouts, retries of reads only, and failures of the server mapped to our classes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import trio

import aioxend
from aioxend import DomainState
from aioxend.emulator import Emulator
from aioxend.errors import (
    HTTPStatusError,
    ProtocolError,
    Timeout,
    TransportError,
)


@pytest.fixture(scope="module")
def emu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    base = tmp_path_factory.mktemp("emu")
    with Emulator.in_thread(
        domains=6,
        seed=2,
        xmlrpc_unix=str(base / "xmlrpc.sock"),
        sxp_unix=str(base / "sxp.sock"),
    ) as emulator:
        yield emulator


def xmlrpc_url(emu: Emulator) -> str:
    assert emu.xmlrpc_url is not None
    return emu.xmlrpc_url


def sxp_url(emu: Emulator) -> str:
    assert emu.sxp_url is not None
    return emu.sxp_url


@pytest.fixture(autouse=True)
def _no_faults_left(emu: Emulator) -> Iterator[None]:
    yield
    emu.faults.clear()


async def test_auto_falls_back_to_sxp_for_the_clients_life(emu: Emulator) -> None:
    async with aioxend.connect(sxp_url(emu)) as client:
        assert client.protocol == "sxp"
        names = await client.domain_names()
        assert "vm1" in names
        assert (await client.domain("vm1")).name == "vm1"
        assert client.protocol == "sxp"


async def test_auto_against_an_sxp_only_emulator_over_tcp() -> None:
    async with Emulator(domains=2, sxp_tcp="127.0.0.1:0") as legacy:
        assert legacy.xmlrpc_url is None
        assert legacy.sxp_url is not None
        async with aioxend.connect(legacy.sxp_url) as client:
            assert client.protocol == "sxp"
            await client.pause("vm1")
            assert DomainState.PAUSED in (await client.domain("vm1")).state
            with pytest.raises(aioxend.InvalidDomain):
                await client.unpause("vm9")
            with pytest.raises(aioxend.UnsupportedOperation):
                await client.suspend("vm1")


async def test_auto_keeps_xmlrpc(emu: Emulator) -> None:
    async with aioxend.connect(xmlrpc_url(emu)) as client:
        assert client.protocol == "xmlrpc"
        assert "vm1" in await client.domain_names()


def test_client_under_trio(emu: Emulator) -> None:
    async def main() -> list[str]:
        seen = []
        for url in (xmlrpc_url(emu), sxp_url(emu)):
            async with aioxend.connect(url) as client:
                await client.pause("vm4")
                assert DomainState.PAUSED in (await client.domain("vm4")).state
                await client.unpause("vm4")
                assert DomainState.PAUSED not in (await client.domain("vm4")).state
                with pytest.raises(aioxend.InvalidDomain):
                    await client.pause("nosuch")
                with trio.move_on_after(0.05):
                    emu.faults.add("stall", count=1)
                    await client.domains()
                emu.faults.clear()
                seen.append(client.protocol)
                assert (await client.domains())[0].name == "Domain-0"
        return seen

    assert trio.run(main) == ["xmlrpc", "sxp"]


async def test_500_concurrent_calls_on_one_client(emu: Emulator) -> None:
    names = ["Domain-0", "vm1", "vm2", "vm3", "vm5", "vm6"]
    results: dict[int, str] = {}
    async with aioxend.connect(
        xmlrpc_url(emu),
        protocol="xmlrpc",
        max_connections=32,
    ) as client:

        async def one(i: int) -> None:
            results[i] = (await client.domain(names[i % len(names)], full=False)).name

        async with anyio.create_task_group() as tg:
            for i in range(500):
                tg.start_soon(one, i)
    assert results == {i: names[i % len(names)] for i in range(500)}


async def test_concurrent_calls_over_sxp(emu: Emulator) -> None:
    async with aioxend.connect(sxp_url(emu), protocol="sxp") as client:
        found: list[int] = []

        async def one() -> None:
            found.append(len(await client.domains()))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(one)
    assert len(set(found)) == 1
    assert found[0] >= 7


@pytest.mark.parametrize("kind", ["stall", "trickle", "latency"])
async def test_cancelled_call_leaves_client_healthy(emu: Emulator, kind: str) -> None:
    async with aioxend.connect(xmlrpc_url(emu), protocol="xmlrpc") as client:
        await client.domain("vm1")  # a kept-alive connection in the pool
        delay = {"latency": 2.0, "trickle": 0.01, "stall": 0.0}[kind]
        emu.faults.add(kind, "xend.domains_with_state", delay=delay, count=1)
        with anyio.move_on_after(0.15) as scope:
            await client.domains(full=True)
        assert scope.cancelled_caught
        for _ in range(3):
            assert (await client.domain("vm1")).name == "vm1"
        assert len(await client.domains()) >= 7


@pytest.mark.parametrize("url", [xmlrpc_url, sxp_url], ids=["xmlrpc", "sxp"])
async def test_per_call_timeout(emu: Emulator, url: Any) -> None:
    async with aioxend.connect(url(emu), timeout=30) as client:
        emu.faults.add("stall", count=1)
        with pytest.raises(TimeoutError) as info:
            await client.domain("vm1", timeout=0.2)
        assert isinstance(info.value, Timeout)
        assert (await client.domain("vm1", timeout=5)).name == "vm1"


async def test_reads_are_retried_once_writes_never(emu: Emulator) -> None:
    async with aioxend.connect(xmlrpc_url(emu), protocol="xmlrpc") as client:
        await client.domain("vm6")  # keep a connection alive
        rule = emu.faults.add("drop_before", "xend.domain", count=1)
        assert (await client.domain("vm6")).name == "vm6"
        assert rule.fired == 1
        await client.domain("vm6")
        rule = emu.faults.add("drop_before", "xend.domain.pause", count=1)
        with pytest.raises(TransportError):
            await client.pause("vm6")
        assert rule.fired == 1
        assert (
            DomainState.PAUSED not in (await client.domain("vm6")).state
        )  # not resent behind our back


@pytest.mark.parametrize(
    ("kind", "error"),
    [("malformed", ProtocolError), ("http500", HTTPStatusError), ("truncate", TransportError)],
)
@pytest.mark.parametrize("url", [xmlrpc_url, sxp_url], ids=["xmlrpc", "sxp"])
async def test_server_failures_map_to_our_classes(
    emu: Emulator, url: Any, kind: str, error: type[Exception]
) -> None:
    async with aioxend.connect(url(emu)) as client:
        emu.faults.add(kind, count=1)
        with pytest.raises(error):
            await client.domain("vm1")
        assert (await client.domain("vm1")).name == "vm1"
