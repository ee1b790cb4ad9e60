"""aioxend.Fleet: many hosts, bounded concurrency, per-host deadlines, typed failures.

The logic tests use a small in-memory client (``connect=``) so each rule is checked
exactly, on asyncio and on trio; the end-to-end test runs against 100 endpoints on
loopback: emulators on UNIX sockets and TCP, some down, some slowed past the deadline.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import anyio
import pytest

from aioxend.errors import ConnectError, ReadTimeout, Timeout, TransportError
from aioxend.fleet import Fleet, FleetResults, HostResult

# --- a fake client: the fleet's rules without sockets ---------------------------------------


class FakeClient:
    """Answers ``domains()`` with its URL; URLs say how to misbehave."""

    opened: ClassVar[list[str]] = []
    closed: ClassVar[list[str]] = []
    in_flight: ClassVar[int] = 0
    most_in_flight: ClassVar[int] = 0

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.kwargs = kwargs

    async def __aenter__(self) -> FakeClient:
        if "refused" in self.url:
            raise ConnectError(f"{self.url}: connection refused")
        if "hang-open" in self.url:
            await anyio.sleep(60)
        FakeClient.opened.append(self.url)
        return self

    async def aclose(self) -> None:
        FakeClient.closed.append(self.url)

    async def domains(self) -> list[str]:
        FakeClient.in_flight += 1
        FakeClient.most_in_flight = max(FakeClient.most_in_flight, FakeClient.in_flight)
        try:
            await anyio.sleep(0.01)
            if "slow" in self.url:
                await anyio.sleep(60)
            if "bug" in self.url:
                raise KeyError("a bug in the caller's operation")
            return [self.url, str(self.kwargs.get("protocol"))]
        finally:
            FakeClient.in_flight -= 1


#: ``Fleet(connect=...)`` expects a factory of ``XendClient``; the fake has the same shape.
FAKE: Any = FakeClient


@pytest.fixture(autouse=True)
def _reset_fake() -> None:
    FakeClient.opened = []
    FakeClient.closed = []
    FakeClient.in_flight = 0
    FakeClient.most_in_flight = 0


async def fake_domains(client: Any) -> list[str]:
    result: list[str] = await client.domains()
    return result


def fake_urls() -> list[str]:
    urls = [f"host-{i}" for i in range(40)]
    urls[3] = "refused-3"
    urls[7] = "slow-7"
    urls[11] = "hang-open-11"
    urls[20] = "bug-20"
    return urls


async def test_results_per_host_in_order_and_failures_typed() -> None:
    urls = fake_urls()
    fleet = Fleet(urls, concurrency=5, timeout=0.3, connect=FAKE, protocol="xmlrpc")
    results = await fleet.run(fake_domains)
    assert isinstance(results, FleetResults)
    assert [r.url for r in results] == urls
    for r in results:
        if r.url.startswith("host-"):
            assert r.ok
            assert r.value == [r.url, "xmlrpc"]
            assert r.result() == r.value
            assert r.error is None
        else:
            assert not r.ok
            assert r.value is None
            assert r.error is not None
            with pytest.raises(type(r.error)):
                r.result()
    errors = results.errors()
    assert set(errors) == {"refused-3", "slow-7", "hang-open-11", "bug-20"}
    assert isinstance(errors["refused-3"], ConnectError)
    assert isinstance(errors["slow-7"], ReadTimeout)
    assert isinstance(errors["hang-open-11"], ReadTimeout)
    assert "slow-7" in str(errors["slow-7"])
    assert isinstance(errors["bug-20"], KeyError)
    assert len(results.succeeded) == 36
    assert len(results.failed) == 4
    assert results.values()["host-0"] == ["host-0", "xmlrpc"]
    # Timed-out hosts were cut at their deadline, not at the end of their 60 s sleeps.
    assert results[7].elapsed < 30
    assert results[11].elapsed < 30
    # Outside ``async with`` every client was closed again, once, half-opened ones too.
    assert sorted(FakeClient.closed) == sorted([*FakeClient.opened, "refused-3", "hang-open-11"])


async def test_concurrency_is_bounded() -> None:
    urls = [f"host-{i}" for i in range(50)]
    results = await Fleet(urls, concurrency=7, connect=FAKE).run(fake_domains)
    assert len(results.succeeded) == 50
    assert FakeClient.most_in_flight == 7


async def test_clients_kept_across_runs_inside_async_with() -> None:
    urls = ["host-a", "host-b", "slow-c"]
    async with Fleet(urls, timeout=0.2, connect=FAKE) as fleet:
        first = await fleet.run(fake_domains)
        second = await fleet.run(fake_domains)
        assert [r.ok for r in first] == [True, True, False]
        assert [r.ok for r in second] == [True, True, False]
        # host-a and host-b opened once; the timed-out slow-c is dropped and reopened.
        assert FakeClient.opened.count("host-a") == 1
        assert FakeClient.opened.count("slow-c") == 2
        assert "host-a" not in FakeClient.closed
    assert FakeClient.closed.count("host-a") == 1
    assert FakeClient.closed.count("host-b") == 1
    with pytest.raises(RuntimeError, match="closed"):
        await fleet.run(fake_domains)


async def test_on_result_and_per_run_timeout_and_exception_group() -> None:
    seen: list[HostResult[list[str]]] = []

    async def progress(result: HostResult[list[str]]) -> None:
        seen.append(result)

    fleet = Fleet(["host-1", "slow-2"], timeout=None, connect=FAKE)
    results = await fleet.run(fake_domains, timeout=0.2, on_result=progress)
    assert sorted(r.url for r in seen) == ["host-1", "slow-2"]
    with pytest.raises(ExceptionGroup) as group:
        results.raise_for_errors()
    assert group.value.subgroup(Timeout) is not None
    assert "1 of 2 hosts failed" in str(group.value)
    ok = await Fleet(["host-1"], connect=FAKE).run(fake_domains)
    ok.raise_for_errors()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        Fleet(["a"], concurrency=0)
    with pytest.raises(ValueError, match="timeout"):
        Fleet(["a"], timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        Fleet(["a"], timeout=float("nan"))


async def test_empty_fleet() -> None:
    results = await Fleet([], connect=FAKE).run(fake_domains)
    assert len(results) == 0
    results.raise_for_errors()


def test_runs_under_trio() -> None:
    pytest.importorskip("trio")

    async def main() -> FleetResults[list[str]]:
        fleet = Fleet(fake_urls(), concurrency=4, timeout=0.3, connect=FAKE)
        return await fleet.run(fake_domains)

    results = anyio.run(main, backend="trio")
    assert len(results.succeeded) == 36
    assert isinstance(results.errors()["slow-7"], ReadTimeout)


# --- 100 endpoints on loopback --------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.asynccontextmanager
async def hundred_endpoints() -> AsyncIterator[tuple[list[str], dict[str, str]]]:
    """100 URLs: 86 live emulators, 7 down, 7 slowed past the deadline; and each's kind."""
    emulator = pytest.importorskip("aioxend.emulator")
    if not hasattr(emulator, "Emulator"):
        pytest.skip("aioxend.emulator.Emulator is not in the tree yet")
    urls: list[str] = []
    kinds: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        async with contextlib.AsyncExitStack() as stack:
            for i in range(93):
                if i % 2:
                    emu = emulator.Emulator(
                        domains=1 + i % 4, seed=i, xmlrpc_unix=os.path.join(tmp, f"h{i}.sock")
                    )
                else:
                    emu = emulator.Emulator(domains=1 + i % 4, seed=i, xmlrpc_tcp="127.0.0.1:0")
                emu = await stack.enter_async_context(emu)
                url = emu.xmlrpc_url
                if i % 13 == 5:
                    emu.faults.add("latency", delay=30.0)
                    kinds[url] = "slow"
                else:
                    kinds[url] = f"live:{1 + i % 4}"
                urls.append(url)
            for i in range(4):
                url = f"httpu://{tmp}/missing-{i}.sock"
                kinds[url] = "down"
                urls.insert(i * 23, url)
            for i in range(3):
                url = f"http://127.0.0.1:{_closed_port()}/"
                kinds[url] = "down"
                urls.insert(i * 31 + 5, url)
            yield urls, kinds


async def test_hundred_endpoints_some_down_some_slow() -> None:
    import aioxend

    async def names(client: aioxend.XendClient) -> list[str]:
        return sorted(d.name for d in await client.domains())

    async with hundred_endpoints() as (urls, kinds):
        assert len(urls) == 100
        assert sum(k == "down" for k in kinds.values()) == 7
        assert sum(k == "slow" for k in kinds.values()) == 7
        expected: dict[str, list[str]] = {}
        for url, kind in kinds.items():
            if kind.startswith("live"):
                async with aioxend.connect(url, protocol="xmlrpc") as client:
                    expected[url] = await names(client)
        async with Fleet(urls, concurrency=16, timeout=1.0, protocol="xmlrpc") as fleet:
            results = await fleet.run(names)
            again = await fleet.run(names)
    assert [r.url for r in results] == urls
    for run in (results, again):
        for r in run:
            kind = kinds[r.url]
            if kind.startswith("live"):
                assert r.ok, f"{r.url}: {r.error!r}"
                assert r.value == expected[r.url]
                assert len(r.value) == 1 + int(kind.split(":")[1])
                assert "Domain-0" in r.value
            elif kind == "down":
                assert isinstance(r.error, ConnectError), f"{r.url}: {r.error!r}"
            else:
                assert isinstance(r.error, Timeout), f"{r.url}: {r.error!r}"
                assert isinstance(r.error, TransportError)
                assert r.elapsed < 10
    assert len(results.succeeded) == 86
