"""Our client and the official SDK, against the same emulator, see the same pool.

The SDK (synchronous, run in a worker thread) decodes with the standard library; its
raw records, typed by the generated layer, must equal what ``aioxend.xenapi`` returns
over each wire, and every error must come with the same code and parameters.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, Literal

import anyio
import pytest
import XenAPI  # type: ignore[import-untyped]

from aioxend import XenAPIError, xenapi
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import XenAPIClient
from tests.emulator.xenapi.conftest import login

CLASSES = ("VM", "host", "pool", "VM_metrics", "host_metrics")


@pytest.fixture
def pool() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(hosts=2, vms=4, seed=5) as server:
        yield server


def _record_type(cls: str) -> Any:
    module = importlib.import_module(f"aioxend.xenapi._generated.{cls.lower()}")
    return next(
        getattr(module, name) for name in dir(module) if name.lower() == f"{cls.lower()}record"
    )


def _root(url: str, protocol: Literal["jsonrpc", "xmlrpc", "auto"] = "auto") -> XenAPIClient:
    """Our client, logged in as root."""
    return xenapi.connect(url, username="root", password="xenroot", protocol=protocol)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_same_records(pool: XenAPIServer, protocol: Literal["jsonrpc", "xmlrpc"]) -> None:
    session = await anyio.to_thread.run_sync(login, pool.url)
    async with _root(pool.url, protocol) as client:
        assert client.protocol == protocol
        for cls in CLASSES:
            raw = await anyio.to_thread.run_sync(getattr(session.xenapi, cls).get_all_records)
            ours = await getattr(client, cls).get_all_records()
            record = _record_type(cls)
            assert set(ours) == set(raw), cls
            for ref, value in raw.items():
                assert record.from_wire(value) == ours[ref], (cls, ref)


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_same_errors(pool: XenAPIServer, protocol: Literal["jsonrpc", "xmlrpc"]) -> None:
    session = await anyio.to_thread.run_sync(login, pool.url)
    [running] = await anyio.to_thread.run_sync(session.xenapi.VM.get_by_name_label, "vm1")
    calls: list[tuple[str, tuple[Any, ...]]] = [
        ("VM.start", (running, False, False)),
        ("VM.get_record", ("OpaqueRef:nope",)),
        ("VM.get_by_uuid", ("no-such-uuid",)),
        ("VM.frobnicate", (running,)),
        ("VM.clean_shutdown", ()),
        ("VM.add_to_other_config", (running, "seeded", "again")),
    ]
    async with _root(pool.url, protocol) as client:
        await client.call("VM.add_to_other_config", running, "seeded-twice", "x")
        calls.append(("VM.add_to_other_config", (running, "seeded-twice", "y")))
        for method, args in calls:
            sdk_call = session.xenapi
            for part in method.split("."):
                sdk_call = getattr(sdk_call, part)
            with pytest.raises(XenAPI.Failure) as theirs:
                await anyio.to_thread.run_sync(sdk_call, *args)
            with pytest.raises(XenAPIError) as mine:
                await client.call(method, *args)
            assert [mine.value.code, *mine.value.params] == theirs.value.details, method


async def test_same_records_from_xend() -> None:
    with XenAPIServer.in_thread(dialect="xend", vms=3) as server:
        session = XenAPI.Session(server.url)
        await anyio.to_thread.run_sync(session.xenapi.login_with_password, "root", "xenroot")
        async with _root(server.url) as client:
            assert client.protocol == "xmlrpc"  # xend has no JSON-RPC
            assert client.api_version == (1, 0)
            for cls in ("VM", "host"):
                raw = await anyio.to_thread.run_sync(getattr(session.xenapi, cls).get_all_records)
                ours = await getattr(client, cls).get_all_records()
                record = _record_type(cls)
                assert {ref: record.from_wire(value) for ref, value in raw.items()} == ours
