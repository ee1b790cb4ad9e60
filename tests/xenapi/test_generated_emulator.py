"""The generated classes against the Xen-API emulator, over both wires, through a Caller
made of the standard library (``xmlrpc.client``; ``json`` + ``http.client``).

The typed records of every class read over XML-RPC (ints as strings, ``DateTime``) and over
JSON-RPC (ints as numbers, datetimes as text) must be equal; the emulator sends every field
of the datamodel, so none may land in ``extra``; errors come back as the subclasses of
``aioxend.xenapi.errors``.
"""

from __future__ import annotations

import asyncio
import datetime
import http.client
import json
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aioxend._default import DEFAULT, TimeoutArg
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import errors
from aioxend.xenapi._generated import CLASSES, NO_SESSION, Namespace
from aioxend.xenapi._generated._enums.vm_power_state import VmPowerState
from aioxend.xenapi._generated._refs import VMRef
from aioxend.xenapi._generated.event import EventBatch

DATAMODEL = json.loads(
    (Path(__file__).resolve().parents[2] / "aioxend/xenapi/data/xenapi.json").read_text("utf-8")
)
# Every class with a get_all_records, and the fields it has had but no longer has (a server
# may still send them: they are kept in a record's ``extra``).
LISTED = {
    c["name"]: {f["name"] for f in c["fields"] if f["lifecycle"]["state"] == "Removed_s"}
    for c in DATAMODEL
    if any(
        m["name"] == "get_all_records" and m["implicit"] and m["lifecycle"]["state"] != "Removed_s"
        for m in c["messages"]
    )
}


class StdlibCaller(Namespace):
    """A Caller over one wire, logged in as root, each call in a worker thread."""

    def __init__(self, url: str, wire: str) -> None:
        self.url = url
        self.wire = wire
        self.session_ref = ""

    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,  # noqa: ASYNC109 (the Caller protocol)
        read: bool = False,
    ) -> object:
        if method not in NO_SESSION:
            params = (self.session_ref, *params)
        send = self._xmlrpc if self.wire == "xmlrpc" else self._jsonrpc
        return await asyncio.to_thread(send, method, list(params))

    def _xmlrpc(self, method: str, params: list[object]) -> object:
        wire_params = [str(p) if type(p) is int else p for p in params]
        answer: Any = getattr(xmlrpc.client.ServerProxy(self.url), method)(*wire_params)
        if answer["Status"] != "Success":
            raise errors.from_description(method, answer["ErrorDescription"])
        return answer["Value"]

    def _jsonrpc(self, method: str, params: list[object]) -> object:
        doc = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            body = json.dumps(doc, default=str).encode()
            conn.request("POST", "/jsonrpc", body, {"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        if "error" in answer:
            error = answer["error"]
            raise errors.from_description(method, [error["message"], *error.get("data", [])])
        return answer["result"]

    async def login(self) -> None:
        login = self.session.login_with_password
        self.session_ref = await login("root", "xenroot", "2.21", "aioxend-tests")


@pytest.fixture(scope="module")
def server() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", hosts=2, vms=4, seed=3) as srv:
        yield srv


async def logged_in(server: XenAPIServer, wire: str) -> StdlibCaller:
    caller = StdlibCaller(server.url, wire)
    await caller.login()
    return caller


async def test_records_are_equal_over_both_wires(server: XenAPIServer) -> None:
    over_xml = await logged_in(server, "xmlrpc")
    over_json = await logged_in(server, "jsonrpc")
    compared = set()
    for name, removed in LISTED.items():
        from_xml = await getattr(over_xml, name).get_all_records()
        from_json = await getattr(over_json, name).get_all_records()
        assert from_xml == from_json, name
        for record in from_xml.values():
            assert set(record.extra) <= removed, (name, record.extra)
        if from_xml:
            compared.add(name)
    assert {"VM", "host", "pool", "VM_metrics", "host_metrics"} <= compared


async def test_typed_values_from_the_emulator(server: XenAPIServer) -> None:
    caller = await logged_in(server, "xmlrpc")
    [ref] = await caller.VM.get_by_name_label("vm1")
    record = await caller.VM.get_record(ref)
    assert record.name_label == "vm1"
    assert record.power_state is VmPowerState.RUNNING
    assert isinstance(record.memory_static_max, int)
    assert record.resident_on in await caller.host.get_all()
    assert await caller.VM.get_power_state(ref) is VmPowerState.RUNNING


async def test_errors_come_back_as_their_classes(server: XenAPIServer) -> None:
    for wire in ("xmlrpc", "jsonrpc"):
        caller = await logged_in(server, wire)
        [ref] = await caller.VM.get_by_name_label("vm1")
        with pytest.raises(errors.VmBadPowerState) as bad:
            await caller.VM.start(ref, False, False)
        assert (bad.value.vm, bad.value.expected, bad.value.actual) == (ref, "halted", "running")
        assert str(bad.value).startswith("VM.start: VM_BAD_POWER_STATE (vm=")
        with pytest.raises(errors.HandleInvalid) as invalid:
            await caller.VM.get_record(VMRef("OpaqueRef:nothing"))
        assert invalid.value.xenapi_class == "VM"


async def test_event_from_gives_a_typed_batch(server: XenAPIServer) -> None:
    for wire in ("xmlrpc", "jsonrpc"):
        caller = await logged_in(server, wire)
        batch = await caller.event.from_(["vm"], "", 0.0)
        assert isinstance(batch, EventBatch)
        assert batch.token
        assert {event.class_ for event in batch.events} == {"vm"}
        assert batch.valid_ref_counts["vm"] == len(batch.events)


def test_every_class_is_reachable() -> None:
    caller = StdlibCaller("http://unused/", "xmlrpc")
    assert [getattr(caller, n).xenapi_name for n in CLASSES] == list(CLASSES)


async def test_xend_records_are_typed_with_defaults_for_what_xend_lacks() -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", dialect="xend", seed=3) as xend:
        caller = StdlibCaller(xend.url, "xmlrpc")
        session = await caller.call("session.login_with_password", "root", "xenroot")
        assert isinstance(session, str)
        caller.session_ref = session
        records = await caller.VM.get_all_records()
        assert records
        for ref, record in records.items():
            assert record.uuid == ref  # xend's references are the UUIDs
            assert isinstance(record.power_state, VmPowerState)
        metrics = await caller.VM_metrics.get_all_records()
        assert metrics
        assert all(m.last_updated.tzinfo is datetime.UTC for m in metrics.values())
