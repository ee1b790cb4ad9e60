"""event.from / event.inject against the emulator, with the SDK and over JSON-RPC."""

from __future__ import annotations

import threading
import time

from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import failure, jsonrpc, login, proxy


def test_empty_token_gives_every_object_then_waits(xapi: XenAPIServer) -> None:
    x = login(xapi.url).xenapi
    batch = getattr(x.event, "from")(["vm"], "", 0.0)
    adds = {e["ref"] for e in batch["events"]}
    assert adds == set(x.VM.get_all())
    assert {e["operation"] for e in batch["events"]} == {"add"}
    assert all(e["class"] == "vm" and "snapshot" in e for e in batch["events"])
    # valid_ref_counts are XML-RPC ints (rpclib's Int32), not strings
    assert batch["valid_ref_counts"]["vm"] == len(adds)
    token = batch["token"]
    assert len(token.split(",")[0]) == 20
    started = time.monotonic()
    empty = getattr(x.event, "from")(["vm"], token, 0.3)
    assert empty["events"] == []
    assert time.monotonic() - started >= 0.25


def test_a_change_wakes_a_waiting_event_from(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    x = session.xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    token = getattr(x.event, "from")(["*"], "", 0.0)["token"]
    other = login(xapi.url).xenapi
    timer = threading.Timer(0.2, lambda: other.VM.start(vm, False, False))
    timer.start()
    started = time.monotonic()
    batch = getattr(x.event, "from")([f"vm/{vm}"], token, 10.0)
    timer.join()
    assert time.monotonic() - started < 5
    [event] = batch["events"]
    assert (event["operation"], event["ref"]) == ("mod", vm)
    assert event["snapshot"]["power_state"] == "Running"
    assert int(event["id"]) > int(token.split(",")[0])


def test_inject_and_deletes(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    x = session.xenapi
    [vm] = x.VM.get_by_name_label("vm2")
    start = getattr(x.event, "from")(["vm"], "", 0.0)["token"]
    injected = x.event.inject("VM", vm)
    assert injected > start
    clone = x.VM.clone(vm, "short-lived")
    [mod] = getattr(x.event, "from")(["vm"], start, 0.0)["events"][:1]
    assert (mod["operation"], mod["ref"]) == ("mod", vm)
    after_clone = getattr(x.event, "from")(["vm"], injected, 0.0)
    assert [(e["operation"], e["ref"]) for e in after_clone["events"]] == [("add", clone)]
    x.VM.destroy(clone)
    batch = getattr(x.event, "from")(["vm"], after_clone["token"], 0.0)
    [gone] = batch["events"]
    assert (gone["operation"], gone["ref"]) == ("del", clone)
    assert "snapshot" not in gone
    # created and destroyed within the window: nothing to report
    assert getattr(x.event, "from")(["vm"], injected, 0.0)["events"] == []
    event_from = getattr(x.event, "from")
    assert failure(event_from, ["vm"], "nonsense", 0.0) == [
        "EVENT_FROM_TOKEN_PARSE_FAILURE",
        "nonsense",
    ]
    assert failure(x.event.inject, "VM", "OpaqueRef:x") == ["HANDLE_INVALID", "VM", "OpaqueRef:x"]
    assert int(x.event.get_current_id()) >= 1


def test_event_from_over_jsonrpc(xapi: XenAPIServer) -> None:
    session = login(xapi.url).handle
    answer = jsonrpc(xapi.url, "event.from", session, ["host"], "", 0)
    batch = answer["result"]
    assert {e["class"] for e in batch["events"]} == {"host"}
    assert batch["valid_ref_counts"]["host"] == 2


def test_xend_has_no_event_from(xend: XenAPIServer) -> None:
    rpc = proxy(xend.url)
    session = rpc.session.login_with_password("root", "xenroot")["Value"]
    answer = getattr(rpc.event, "from")(session, ["*"], "", "0")
    assert answer["ErrorDescription"] == ["MESSAGE_METHOD_UNKNOWN", "event.from"]
