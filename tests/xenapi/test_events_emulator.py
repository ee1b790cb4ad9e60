"""The emulator's event calls as a client we did not write (the official SDK) sees them:
xend's ``event.register``/``event.next``/``event.unregister`` (``XendAPI.py``: a queue
of 50 per session, ids per session, no snapshot, exact class names, an unregister that
keeps the intersection), ``event.next`` blocking until an event, and
``XenAPIServer.lose_events`` (``EVENTS_LOST`` for both event forms)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import failure, login, sdk


@pytest.fixture
def xend() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", dialect="xend", vms=2) as server:
        yield server


@pytest.fixture
def xapi() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=2) as server:
        yield server


def xend_login(url: str) -> Any:
    """An SDK session logged in with xend's two-argument login."""
    session = sdk(url)
    session.xenapi.login_with_password("root", "xenroot")
    return session.xenapi


def vm2(x: Any) -> str:
    [ref] = x.VM.get_by_name_label("vm2")
    return str(ref)


def test_xend_queues_events_per_session_without_snapshots(xend: XenAPIServer) -> None:
    x = xend_login(xend.url)
    other = xend_login(xend.url)
    x.event.register(["VM"])
    other.event.register(["host"])
    ref = vm2(x)
    x.VM.set_name_description(ref, "one")
    x.VM.set_name_description(ref, "two")
    events = x.event.next()
    assert [(e["id"], e["class"], e["operation"], e["ref"]) for e in events] == [
        ("1", "VM", "mod", ref),
        ("2", "VM", "mod", ref),
    ]
    assert all("snapshot" not in e and e["obj_uuid"] == ref for e in events)
    assert failure(xend_login(xend.url).event.next)[0] == "SESSION_NOT_REGISTERED"
    x.event.register(["vm"])  # exact names: "vm" is not "VM", and "*" no wildcard
    x.event.unregister(["vm"])  # the intersection: keeps "vm" only
    x.VM.set_name_description(ref, "three")
    other.host.set_name_label(other.host.get_all()[0], "renamed")
    [host_event] = other.event.next()
    assert host_event["class"] == "host"
    x.event.unregister([])
    assert failure(x.event.next)[0] == "SESSION_NOT_REGISTERED"


def test_xend_event_next_blocks_until_an_event(xend: XenAPIServer) -> None:
    x = xend_login(xend.url)
    x.event.register([])  # [] registers every class
    writer = xend_login(xend.url)
    ref = vm2(writer)
    timer = threading.Timer(0.3, lambda: writer.VM.set_name_description(ref, "later"))
    started = time.monotonic()
    timer.start()
    [event] = x.event.next()
    timer.join()
    assert time.monotonic() - started >= 0.25
    assert (event["class"], event["ref"]) == ("VM", ref)


def test_xend_queue_of_50_and_lose_events(xend: XenAPIServer) -> None:
    x = xend_login(xend.url)
    x.event.register(["VM"])
    ref = vm2(x)
    for i in range(51):
        x.VM.set_name_description(ref, str(i))
    assert failure(x.event.next) == ["EVENTS_LOST"]
    x.VM.set_name_description(ref, "after")
    [event] = x.event.next()  # the queue goes on; the dropped event took no id
    assert event["id"] == "51"
    xend.lose_events()
    assert failure(x.event.next) == ["EVENTS_LOST"]


def test_xapi_event_next_has_lower_case_classes_and_snapshots(xapi: XenAPIServer) -> None:
    x = login(xapi.url).xenapi
    x.event.register(["VM"])
    ref = vm2(x)
    x.VM.set_name_description(ref, "described")
    [event] = x.event.next()
    assert (event["class"], event["operation"]) == ("vm", "mod")
    assert event["snapshot"]["name_description"] == "described"


def test_lose_events_makes_older_tokens_events_lost(xapi: XenAPIServer) -> None:
    x = login(xapi.url).xenapi
    token = getattr(x.event, "from")(["vm"], "", 0.0)["token"]
    xapi.lose_events()
    assert failure(getattr(x.event, "from"), ["vm"], token, 0.0) == ["EVENTS_LOST"]
    fresh = getattr(x.event, "from")(["vm"], "", 0.0)  # from "" is always whole
    assert {e["operation"] for e in fresh["events"]} == {"add"}
    assert getattr(x.event, "from")(["vm"], fresh["token"], 0.0)["events"] == []
