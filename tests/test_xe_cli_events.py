"""``aioxend xe event-watch`` against the Xen-API emulator, on both event forms.

xapi's dialect serves ``event.from`` (over JSON-RPC and XML-RPC), xend's only
``event.register``/``event.next``. The watch runs ``cli.main`` in a thread, writing into
a queue of lines, while the test changes the pool through ``aioxend xe`` in its own
thread, once the watch has printed the current objects.
"""

from __future__ import annotations

import asyncio
import io
import json
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from aioxend import cli, xenapi
from aioxend._xe import main as xe_main
from aioxend.emulator.xenapi import XenAPIServer

WIRES = [
    pytest.param(("xapi", "jsonrpc"), id="jsonrpc"),
    pytest.param(("xapi", "xmlrpc"), id="xmlrpc"),
    pytest.param(("xend", "xmlrpc"), id="xend"),
]


class Lines(io.StringIO):
    """A stdout that hands each line written to a queue, from any thread."""

    def __init__(self) -> None:
        super().__init__()
        self.queue: queue.Queue[str] = queue.Queue()
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        for line in done:
            self.queue.put(line)
        return len(text)

    def take(self, count: int) -> list[str]:
        return [self.queue.get(timeout=20) for _ in range(count)]


class Watch:
    """``aioxend xe ... event-watch ARGS`` running in a thread."""

    def __init__(self, argv: list[str], out: Lines) -> None:
        self.code: int | None = None
        self._thread = threading.Thread(target=self._run, args=(argv, out), daemon=True)
        self._thread.start()

    def _run(self, argv: list[str], out: Lines) -> None:
        self.code = xe_main(argv[1:], out=out)

    def join(self) -> int | None:
        self._thread.join(timeout=20)
        return self.code

    def join_for(self, seconds: float) -> None:
        self._thread.join(timeout=seconds)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[XenAPIServer]:
    dialect = getattr(request, "param", ("xapi", "jsonrpc"))[0]
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=3, dialect=dialect) as srv:
        yield srv


@pytest.fixture
def lines() -> Lines:
    return Lines()


def argv_for(server: XenAPIServer, tmp_path: Path, protocol: str = "auto") -> list[str]:
    password = tmp_path / "pw"
    password.write_text("xenroot\n")
    return ["xe", "--url", server.url, "--password-file", str(password), "--protocol", protocol]


def uuid_of(server: XenAPIServer, name: str) -> str:
    return str(server.pool.get("VM", server.pool.vm(name))["uuid"])


@pytest.mark.parametrize("server", WIRES, indirect=True)
def test_watch_prints_current_objects_then_changes(
    server: XenAPIServer, lines: Lines, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    protocol = request.node.callspec.id
    argv = argv_for(server, tmp_path, "jsonrpc" if protocol == "jsonrpc" else "xmlrpc")
    watch = Watch([*argv, "event-watch", "class=vm", "count=5"], lines)
    first = lines.take(4)
    assert sorted(line.split()[2] for line in first) == sorted(
        str(vm["uuid"]) for vm in server.pool.table("VM").values()
    )
    assert all(line.startswith("add vm ") for line in first)
    assert f"add vm {uuid_of(server, 'vm2')} name-label=vm2 power-state=halted" in first
    assert cli.main([*argv, "vm-shutdown", "vm=vm1"]) == 0
    [change] = lines.take(1)
    assert change == f"mod vm {uuid_of(server, 'vm1')} name-label=vm1 power-state=halted"
    assert watch.join() == 0


def test_filters_json_and_resume(server: XenAPIServer, lines: Lines, tmp_path: Path) -> None:
    argv = argv_for(server, tmp_path)
    watch = Watch(
        [*argv, "--json", "event-watch", "class=vm", "power-state=halted", "count=2"], lines
    )
    [halted] = [json.loads(line) for line in lines.take(1)]
    assert halted["uuid"] == uuid_of(server, "vm2")
    assert (halted["class"], halted["operation"], halted["power-state"]) == ("vm", "add", "halted")
    assert cli.main([*argv, "vm-shutdown", "vm=vm1"]) == 0
    [change] = [json.loads(line) for line in lines.take(1)]
    assert (change["uuid"], change["operation"]) == (uuid_of(server, "vm1"), "mod")
    assert watch.join() == 0
    # From the last token, a new watch sees only what came after.
    assert cli.main([*argv, "vm-start", "vm=vm1"]) == 0
    resumed = Watch(
        [*argv, "event-watch", "class=vm", f"token={change['token']}", "count=1"], lines
    )
    [line] = lines.take(1)
    assert resumed.join() == 0
    assert line.startswith(f"mod vm {uuid_of(server, 'vm1')} ")
    assert line.endswith("power-state=running")


@pytest.mark.parametrize("server", WIRES[::2], indirect=True)
def test_lost_events_say_so(server: XenAPIServer, lines: Lines, tmp_path: Path) -> None:
    argv = argv_for(server, tmp_path, "xmlrpc")
    watch = Watch([*argv, "event-watch", "class=vm", "count=6"], lines)
    lines.take(4)
    server.lose_events()
    # The change waits for the resync line: made before the watch has read the pool
    # afresh, it would be in the fresh records and never an event of its own.
    assert lines.take(1) == ["resync (EVENTS_LOST): 4 objects read afresh"]
    assert cli.main([*argv, "vm-shutdown", "vm=vm1"]) == 0
    assert lines.take(1) == [f"mod vm {uuid_of(server, 'vm1')} name-label=vm1 power-state=halted"]
    assert watch.join() == 0


def test_deleted_object_keeps_its_uuid(server: XenAPIServer, lines: Lines, tmp_path: Path) -> None:
    argv = argv_for(server, tmp_path)
    watch = Watch([*argv, "event-watch", "class=vm", "count=5"], lines)
    lines.take(4)
    vm2 = uuid_of(server, "vm2")

    async def destroy() -> None:
        async with xenapi.connect(server.url, username="root", password="xenroot") as xapi:
            await xapi.VM.destroy(await xapi.VM.get_by_uuid(vm2))

    asyncio.run(destroy())
    [gone] = lines.take(1)
    assert watch.join() == 0
    assert gone == f"del vm {vm2}"


def test_bad_watch_parameters(
    server: XenAPIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = argv_for(server, tmp_path)
    for params, needle in [
        (["class=bogus"], "unknown class 'bogus'"),
        (["count=0"], "count must be a positive number"),
        (["class=vm,host", "power-state=running"], "exactly one of"),
        (["class=vm", "colour=red"], "Unknown field 'colour'"),
        (["class=vm", "params=colour"], "Unknown field 'colour'"),
    ]:
        assert cli.main([*argv, "event-watch", *params]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("aioxend: error: event-watch: ")
        assert needle in err


# --------------------------------------------------------------------------- event-wait


@pytest.mark.parametrize("server", WIRES, indirect=True)
def test_event_wait(
    server: XenAPIServer, lines: Lines, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    protocol = request.node.callspec.id
    argv = argv_for(server, tmp_path, "jsonrpc" if protocol == "jsonrpc" else "xmlrpc")
    # Already true: at once.
    assert (
        xe_main([*argv[1:], "event-wait", "class=vm", "name-label=vm2", "power-state=halted"]) == 0
    )
    # Not yet: until vm1 is no longer running (xe's /= for "not equal").
    waiting = Watch(
        [*argv, "event-wait", "class=vm", "name-label=vm1", "power-state=/=running"], lines
    )
    waiting.join_for(0.5)
    assert waiting.code is None  # still waiting
    assert cli.main([*argv, "vm-suspend", "vm=vm1"]) == 0
    assert waiting.join() == 0
    assert lines.queue.empty()  # event-wait prints nothing, as xe's


def test_bad_wait_parameters(
    server: XenAPIServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = argv_for(server, tmp_path)
    for params, needle in [
        ([], "required parameter not found: class"),
        (["class=sr"], "class must be one of vm, host, task"),
        (["class=vm", "colour=red"], "Unknown field 'colour'"),
    ]:
        assert cli.main([*argv, "event-wait", *params]) == cli.EXIT_USAGE
        err = capsys.readouterr().err
        assert err.startswith("aioxend: error: event-wait: ")
        assert needle in err
