"""The object cache under random operations (a hypothesis state machine), over both wires.

Rules change the emulated pool through the API (create, clone, destroy, start, shut down,
pause, set fields) and behind its back (a VM added or removed without an event: drift; an
``EVENTS_LOST``). After every step the cache, once it has caught up (``barrier``), must
equal ``get_all_records`` of each class, its UUID index must match its records, and the
changes it reported (``changes()``), applied to what it held at the start, must give
what it holds now.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import anyio
import anyio.from_thread
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import Cache, VmPowerState, VMRef, XenAPIClient, connect
from tests.xenapi._drift import add_silently, remove_silently

CLASSES = ["VM", "host", "VM_metrics"]
# what XML 1.0 can carry (no controls, surrogates, U+FFFE or U+FFFF), so both wires take it
XML_CHARACTERS = st.characters(
    codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="\ufffe\uffff"
)
TEXT = st.text(XML_CHARACTERS, max_size=12)


class CacheMachine(RuleBasedStateMachine):
    """One pool, one client, one cache; a reader of ``changes()`` keeps a mirror."""

    protocol: ClassVar[str] = "jsonrpc"

    def __init__(self) -> None:
        super().__init__()
        self.stack = contextlib.ExitStack()
        self.server = self.stack.enter_context(XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=4))
        self.portal = self.stack.enter_context(anyio.from_thread.start_blocking_portal())
        self.client: XenAPIClient = self.portal.call(self._connect)
        self.stack.callback(self.portal.call, self.client.aclose)
        self.cache: Cache = self.portal.call(self._open)
        self.stack.callback(self.portal.call, self.cache.aclose)
        self.mirror: dict[str, dict[str, Any]] = {c: dict(getattr(self.cache, c)) for c in CLASSES}
        self.mirror_errors: list[str] = []
        self.portal.start_task_soon(self._mirror)
        self.drifted = 0

    async def _connect(self) -> XenAPIClient:
        client = connect(
            self.server.url,
            username="root",
            password="xenroot",
            protocol=self.protocol,  # type: ignore[arg-type]
        )
        return await client.__aenter__()

    async def _open(self) -> Cache:
        return await self.client.cache(CLASSES)

    async def _mirror(self) -> None:
        try:
            async for change in self.cache.changes():
                table = self.mirror[change.cls]
                if table.get(change.ref) != change.old:
                    self.mirror_errors.append(f"{change}: the old record is not the one held")
                if change.new is None:
                    table.pop(change.ref, None)
                else:
                    table[change.ref] = change.new
        except BaseException as exc:  # the invariant reports it
            self.mirror_errors.append(f"the reader of changes() failed: {exc!r}")
            raise

    def teardown(self) -> None:
        self.stack.close()

    # --- picking objects -------------------------------------------------------------------
    def guests(self, state: str | None = None) -> list[str]:
        with self.server.pool.lock:
            return sorted(
                ref
                for ref, vm in self.server.pool.objects["VM"].items()
                if not vm["is_control_domain"] and (state is None or vm["power_state"] == state)
            )

    def call(self, method: str, *params: object) -> None:
        self.portal.call(lambda: self.client.call(method, *params))

    # --- rules: through the API -------------------------------------------------------------
    @precondition(lambda self: self.guests("Halted"))
    @rule(data=st.data(), name=TEXT)
    def clone(self, data: st.DataObject, name: str) -> None:
        self.call("VM.clone", data.draw(st.sampled_from(self.guests("Halted"))), name)

    @rule(name=TEXT)
    def create(self, name: str) -> None:
        self.call("VM.create", {"name_label": name, "memory_static_max": 1 << 30})

    @precondition(lambda self: len(self.guests("Halted")) > 1)
    @rule(data=st.data())
    def destroy(self, data: st.DataObject) -> None:
        self.call("VM.destroy", data.draw(st.sampled_from(self.guests("Halted"))))

    @precondition(lambda self: self.guests("Halted"))
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        self.call("VM.start", data.draw(st.sampled_from(self.guests("Halted"))), False, False)

    @precondition(lambda self: self.guests("Running"))
    @rule(data=st.data(), pause=st.booleans())
    def stop_or_pause(self, data: st.DataObject, pause: bool) -> None:
        ref = data.draw(st.sampled_from(self.guests("Running")))
        self.call("VM.pause" if pause else "VM.hard_shutdown", ref)

    @precondition(lambda self: self.guests("Paused"))
    @rule(data=st.data())
    def unpause(self, data: st.DataObject) -> None:
        self.call("VM.unpause", data.draw(st.sampled_from(self.guests("Paused"))))

    @precondition(lambda self: self.guests())
    @rule(data=st.data(), text=TEXT, field=st.sampled_from(["name_label", "name_description"]))
    def set_field(self, data: st.DataObject, text: str, field: str) -> None:
        self.call(f"VM.set_{field}", data.draw(st.sampled_from(self.guests())), text)

    @precondition(lambda self: self.guests())
    @rule(data=st.data(), key=st.sampled_from(["a", "b"]), value=TEXT, remove=st.booleans())
    def other_config(self, data: st.DataObject, key: str, value: str, remove: bool) -> None:
        ref = data.draw(st.sampled_from(self.guests()))
        if remove:
            self.call("VM.remove_from_other_config", ref, key)
        else:
            self.call("VM.remove_from_other_config", ref, key)
            self.call("VM.add_to_other_config", ref, key, value)

    # --- rules: behind the API's back -------------------------------------------------------
    @precondition(lambda self: len(self.guests("Halted")) > 1)
    @rule(data=st.data(), remove=st.booleans())
    def drift(self, data: st.DataObject, remove: bool) -> None:
        """A VM record appears or vanishes with no event: only the counts can tell."""
        ref = data.draw(st.sampled_from(self.guests("Halted")))
        if remove:
            remove_silently(self.server, ref)
        else:
            add_silently(self.server, ref)
        self.drifted += 1

    @rule()
    def lose_events(self) -> None:
        self.server.fail_next(1, "EVENTS_LOST", method="event.from")

    # --- what must hold -------------------------------------------------------------------
    @invariant()
    def equals_the_server(self) -> None:
        self.portal.call(self._check)

    async def _check(self) -> None:
        with anyio.fail_after(5):
            await self.cache.barrier()
        for cls in CLASSES:
            view = getattr(self.cache, cls)
            records = await getattr(self.client, cls).get_all_records()
            assert dict(view) == records, cls
            assert {view.by_uuid(r.uuid): r for r in records.values()} == records
        with anyio.fail_after(5):  # the reader of changes() runs when the cache publishes
            while any(self.mirror[c] != dict(getattr(self.cache, c)) for c in CLASSES):  # noqa: ASYNC110
                await anyio.sleep(0.001)
        assert self.mirror_errors == []
        assert self.cache.resyncs >= self.drifted


class XmlRpcCacheMachine(CacheMachine):
    protocol = "xmlrpc"


SETTINGS = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestCacheJsonRpc = CacheMachine.TestCase
TestCacheJsonRpc.settings = SETTINGS
TestCacheXmlRpc = XmlRpcCacheMachine.TestCase
TestCacheXmlRpc.settings = SETTINGS


def test_a_paused_vm_is_seen_as_paused() -> None:
    """One step of the machine by hand: a pause is seen, and the machine's checks pass."""
    machine = CacheMachine()
    try:
        ref = VMRef(machine.guests("Running")[0])
        machine.call("VM.pause", ref)
        machine.equals_the_server()
        assert machine.cache.VM[ref].power_state is VmPowerState.PAUSED
    finally:
        machine.teardown()
