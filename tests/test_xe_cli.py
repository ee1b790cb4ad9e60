"""``aioxend xe`` against the Xen-API emulator: xe's output, filters, verbs, exit codes.

The emulator runs on its own loop in a background thread (``XenAPIServer.in_thread``);
the tests call ``aioxend.cli.main(["xe", ...])`` (the hook into the main command line)
synchronously and read what it printed. The listing and power verbs run over JSON-RPC,
XML-RPC and xend's dialect (XML-RPC only, references that are uuids).
"""

from __future__ import annotations

import io
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aioxend import cli
from aioxend._xe._args import parse_argv, read_password_file
from aioxend.emulator.xenapi import XenAPIServer

WIRES = [
    pytest.param(("xapi", "jsonrpc"), id="jsonrpc"),
    pytest.param(("xapi", "xmlrpc"), id="xmlrpc"),
    pytest.param(("xend", "xmlrpc"), id="xend"),
]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Pool:
    """A running emulator and the options that reach it."""

    server: XenAPIServer
    argv: tuple[str, ...]

    def uuid(self, name: str) -> str:
        pool = self.server.pool
        return str(pool.get("VM", pool.vm(name))["uuid"])

    def state(self, name: str) -> str:
        pool = self.server.pool
        return str(pool.get("VM", pool.vm(name))["power_state"])


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "pw"
    path.write_text("xenroot\n")
    return path


@pytest.fixture(params=WIRES)
def pool(request: pytest.FixtureRequest, password_file: Path) -> Iterator[Pool]:
    dialect, protocol = request.param
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=3, dialect=dialect) as server:
        argv = ("--url", server.url, "--password-file", str(password_file), "--protocol", protocol)
        yield Pool(server, argv)


@pytest.fixture
def xapi_pool(password_file: Path) -> Iterator[Pool]:
    """The xapi dialect over the default wire, for tests where the wire does not matter."""
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=3) as server:
        yield Pool(server, ("--url", server.url, "--password-file", str(password_file)))


def xe(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = cli.main(["xe", *argv])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def one_line_error(result: Run, code: int, *needles: str) -> None:
    assert result.code == code, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("aioxend: error: "), result.err
    for needle in needles:
        assert needle in lines[0], result.err


def blocks(text: str) -> list[dict[str, str]]:
    """xe's records read back: ``name ( RO): value`` lines, records apart by blank lines."""
    records: list[dict[str, str]] = []
    for chunk in text.split("\n\n\n"):
        if not chunk.strip():
            continue
        record: dict[str, str] = {}
        for line in chunk.splitlines():
            match = re.fullmatch(r" *(\S+) \((?: R[OW]|[SM]R[OW])\) *: (.*)", line)
            assert match, line
            record[match.group(1)] = match.group(2)
        records.append(record)
    return records


# --------------------------------------------------------------------------- listings


def test_vm_list_prints_xe_blocks(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    result = xe(capsys, *pool.argv, "vm-list")
    assert result.code == 0, result.err
    assert result.err == ""
    # cli_printer.ml multi_line_record: the first name padded right, the others left, to
    # the longest ("power-state ( RO)", 17) plus 4; every record then two empty lines.
    first = result.out.split("\n\n\n")[0].splitlines()
    assert re.fullmatch(r"uuid \( RO\) {11}: [0-9a-f-]{36}", first[0]), first
    assert first[1].startswith("     name-label ( RW): ")
    assert first[2].startswith("    power-state ( RO): ")
    assert result.out.endswith("\n\n\n")
    records = blocks(result.out)
    by_name = {r["name-label"]: r for r in records}
    assert by_name["vm1"] == {
        "uuid": pool.uuid("vm1"),
        "name-label": "vm1",
        "power-state": "running",
    }
    assert by_name["vm2"]["power-state"] == "halted"
    assert by_name["vm3"]["power-state"] == "paused"
    assert len(records) == 4  # the control domain too, as xe lists it


def test_vm_list_filters_and_params(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    result = xe(capsys, *pool.argv, "vm-list", "power-state=halted", "params=uuid,name-label")
    assert result.code == 0, result.err
    assert blocks(result.out) == [{"uuid": pool.uuid("vm2"), "name-label": "vm2"}]
    # Fields print in the record's order, whatever order params= names them in.
    result = xe(capsys, *pool.argv, "vm-list", "name-label=vm1", "params=power-state,uuid")
    assert list(blocks(result.out)[0]) == ["uuid", "power-state"]
    none = xe(capsys, *pool.argv, "vm-list", "name-label=nothing-by-this-name")
    assert none.code == 0
    assert none.out == ""


def test_vm_list_params_all_resolves_references(
    capsys: pytest.CaptureFixture[str], pool: Pool
) -> None:
    result = xe(capsys, *pool.argv, "vm-list", "name-label=vm1", "params=all")
    assert result.code == 0, result.err
    [record] = blocks(result.out)
    hosts = blocks(xe(capsys, *pool.argv, "host-list").out)
    assert record["resident-on"] == hosts[0]["uuid"]  # a reference shown as a uuid
    assert record["is-control-domain"] == "false"
    assert record["memory-actual"].isdigit()  # read from the VM's VM_metrics
    assert re.fullmatch(r"\d{8}T\d\d:\d\d:\d\dZ?", record["start-time"])
    halted = blocks(xe(capsys, *pool.argv, "vm-list", "name-label=vm2", "params=resident-on").out)
    assert halted == [{"resident-on": "<not in database>"}]


def test_minimal_is_comma_separated_uuids(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    result = xe(capsys, *pool.argv, "vm-list", "is-control-domain=false", "--minimal")
    assert result.code == 0, result.err
    assert sorted(result.out.rstrip("\n").split(",")) == sorted(
        pool.uuid(n) for n in ("vm1", "vm2", "vm3")
    )
    names = xe(
        capsys, *pool.argv, "vm-list", "power-state=paused", "params=name-label", "--minimal"
    )
    assert names.out == "vm3\n"
    empty = xe(capsys, *pool.argv, "vm-list", "name-label=none", "--minimal")
    assert empty.out == "\n"


def test_minimal_escapes_commas(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    xapi_pool.server.pool.add_vm("a,b\\c")
    result = xe(
        capsys,
        *xapi_pool.argv,
        "vm-list",
        "params=name-label",
        "--minimal",
        "power-state=halted",
        "name-label=a,b\\c",
    )
    assert result.out == "a\\,b\\\\c\n"


def test_json_output(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    result = xe(
        capsys,
        *pool.argv,
        "--json",
        "vm-list",
        "name-label=vm1",
        "params=uuid,power-state,allowed-operations,other-config",
    )
    assert result.code == 0, result.err
    [vm] = json.loads(result.out)
    assert vm["uuid"] == pool.uuid("vm1")
    assert vm["power-state"] == "running"
    assert isinstance(vm["allowed-operations"], list)  # a set stays a list
    assert isinstance(vm["other-config"], dict)  # a map stays an object


def test_host_and_task_lists(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    hosts = xe(capsys, *pool.argv, "host-list")
    assert hosts.code == 0, hosts.err
    [host] = blocks(hosts.out)
    assert list(host) == ["uuid", "name-label", "name-description"]
    assert host["name-label"] == "host0"
    tasks = xe(capsys, *pool.argv, "task-list")
    assert tasks.code == 0, tasks.err
    assert tasks.out == ""


def test_map_and_set_filters(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    pool = xapi_pool.server.pool
    ref = pool.vm("vm2")
    pool.get("VM", ref)["other_config"] = {"role": "db"}
    pool.get("VM", ref)["tags"] = ["blue", "green"]
    argv = xapi_pool.argv
    by_key = xe(capsys, *argv, "vm-list", "other-config:role=db", "--minimal")
    assert by_key.out == f"{xapi_pool.uuid('vm2')}\n"
    old_form = xe(capsys, *argv, "vm-list", "other-config-role=db", "--minimal")
    assert old_form.out == by_key.out
    by_tag = xe(capsys, *argv, "vm-list", "tags:contains=green", "--minimal")
    assert by_tag.out == by_key.out
    shown = blocks(xe(capsys, *argv, "vm-list", "name-label=vm2", "params=tags,other-config").out)
    assert shown == [{"other-config": "role: db", "tags": "blue, green"}]


def test_templates_are_not_vms(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    pool = xapi_pool.server.pool
    pool.get("VM", pool.vm("vm2"))["is_a_template"] = True
    result = xe(capsys, *xapi_pool.argv, "vm-list", "params=name-label", "--minimal")
    assert "vm2" not in result.out.split(",")


# --------------------------------------------------------------------------- power verbs


def test_power_cycle(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    uuid = pool.uuid("vm1")
    steps = [
        ("vm-suspend", "Suspended"),
        ("vm-resume", "Running"),
        ("vm-reboot", "Running"),
        ("vm-shutdown", "Halted"),
        ("vm-start", "Running"),
    ]
    for verb, state in steps:
        result = xe(capsys, *pool.argv, verb, f"uuid={uuid}")
        assert result.code == 0, (verb, result)
        assert (result.out, result.err) == ("", "")  # off a terminal: no spinner
        assert pool.state("vm1") == state, verb
    forced = xe(capsys, *pool.argv, "vm-shutdown", "vm=vm1", "--force")
    assert forced.code == 0, forced.err
    assert pool.state("vm1") == "Halted"


def test_power_verb_error_is_a_fault(capsys: pytest.CaptureFixture[str], pool: Pool) -> None:
    uuid = pool.uuid("vm1")
    result = xe(capsys, *pool.argv, "vm-start", f"uuid={uuid}")
    # The VM is named by its uuid, as xe names it, not by its reference.
    one_line_error(result, cli.EXIT_FAULT, f"VM.start: VM_BAD_POWER_STATE (vm={uuid}, ")
    assert "OpaqueRef" not in result.err
    as_json = xe(capsys, *pool.argv, "--json", "vm-start", "vm=vm1")
    assert as_json.code == cli.EXIT_FAULT
    report = json.loads(as_json.err)
    assert report["code"] == cli.EXIT_FAULT
    assert report["error"][0] == "VM_BAD_POWER_STATE"


def test_selection(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    argv = xapi_pool.argv
    missing = xe(capsys, *argv, "vm-shutdown")
    one_line_error(missing, cli.EXIT_USAGE, "required parameter not found: uuid")
    nothing = xe(capsys, *argv, "vm-shutdown", "uuid=00000000-0000-0000-0000-000000000000")
    one_line_error(nothing, cli.EXIT_NO_DOMAIN, "No matching VMs found")
    xapi_pool.server.pool.add_vm("web", "Running")
    several = xe(capsys, *argv, "vm-suspend", "power-state=running")
    one_line_error(several, cli.EXIT_USAGE, "--multiple")
    assert xapi_pool.state("vm1") == "Running"
    # The control domain (running too) is never chosen by a suspend: two VMs, not three.
    both = xe(capsys, *argv, "--json", "vm-suspend", "power-state=running", "--multiple")
    assert both.code == 0, both.err
    assert sorted(json.loads(both.out)) == sorted([xapi_pool.uuid("vm1"), xapi_pool.uuid("web")])
    assert xapi_pool.state("web") == "Suspended"


def test_multiple_reports_each_failure(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    # vm2 is halted, vm3 paused: a clean shutdown fails on both, the run says so for each.
    result = xe(capsys, *xapi_pool.argv, "vm-shutdown", "power-state:contains=x", "--multiple")
    assert result.code == cli.EXIT_USAGE  # power-state is no set
    result = xe(capsys, *xapi_pool.argv, "vm-shutdown", "is-control-domain=false", "--multiple")
    assert result.code == cli.EXIT_FAULT
    failed = [line for line in result.err.splitlines() if line.startswith("operation failed on")]
    assert len(failed) == 2
    assert xapi_pool.state("vm1") == "Halted"


def test_spinner_only_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, xapi_pool: Pool
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = cli.main(["xe", *xapi_pool.argv, "vm-shutdown", "vm=vm1"])
    assert code == 0
    assert "vm-shutdown vm1: done in" in terminal.getvalue()


# --------------------------------------------------------------------------- bad input


def test_bad_parameters(capsys: pytest.CaptureFixture[str], xapi_pool: Pool) -> None:
    argv = xapi_pool.argv
    one_line_error(xe(capsys, *argv, "vm-list", "colour=red"), 2, "Unknown field 'colour'")
    one_line_error(xe(capsys, *argv, "vm-list", "params=uuid,colour"), 2, "'colour'")
    one_line_error(xe(capsys, *argv, "vm-lisst"), 2, "unknown command 'vm-lisst'")
    one_line_error(xe(capsys, *argv, "vm-list", "uuid"), 2, "expected key=value")
    one_line_error(xe(capsys, *argv, "vm-list", "uuid=a", "uuid=b"), 2, "given twice")
    one_line_error(xe(capsys, *argv, "vm-start", "vm=vm2", "paused=maybe"), 2, "true or false")
    one_line_error(xe(capsys, *argv, "host-list", "--protocol", "soap"), 2, "--protocol")
    one_line_error(xe(capsys, *argv), 2, "a command is needed")
    one_line_error(xe(capsys, *argv, "uuid=x"), 2, "command name is missing")
    assert xapi_pool.state("vm2") == "Halted"  # nothing was sent by the bad vm-start


def test_password_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0") as server:
        missing = xe(
            capsys, "--url", server.url, "--password-file", str(tmp_path / "no"), "vm-list"
        )
        one_line_error(missing, cli.EXIT_USAGE, "cannot read password file", "No such file")
        wrong = tmp_path / "wrong"
        wrong.write_text("not-the-password\n")
        denied = xe(capsys, "--url", server.url, "--password-file", str(wrong), "vm-list")
        one_line_error(denied, cli.EXIT_FAULT, "SESSION_AUTHENTICATION_FAILED")
        assert "not-the-password" not in denied.err
        two_lines = tmp_path / "pwf"
        two_lines.write_text("reader\nreader\n")  # xe's -pwf: user, then password
        ok = xe(capsys, "--url", server.url, "--password-file", str(two_lines), "host-list")
        assert ok.code == 0, ok.err


def test_read_password_file(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_bytes(b"secret\r\n")
    assert read_password_file(str(path)) == (None, "secret")
    path.write_text("")
    with pytest.raises(cli.UsageError, match="empty"):
        read_password_file(str(path))
    path.write_text("a\nb\nc\n")
    with pytest.raises(cli.UsageError, match="two lines"):
        read_password_file(str(path))
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(cli.UsageError, match="UTF-8"):
        read_password_file(str(path))


def test_connection_failure_is_a_transport_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    result = xe(capsys, "--url", f"httpu://{tmp_path}/none.sock", "vm-list")
    one_line_error(result, cli.EXIT_TRANSPORT)
    as_json = xe(capsys, "--url", f"httpu://{tmp_path}/none.sock", "--json", "vm-list")
    assert json.loads(as_json.err)["code"] == cli.EXIT_TRANSPORT


def test_parse_argv() -> None:
    inv = parse_argv(["--json", "vm-list", "params=a=b", "--minimal", "--url=http://h/"])
    assert inv.verb == "vm-list"
    assert inv.params == {"params": "a=b", "minimal": "true"}
    assert inv.options.json
    assert inv.options.url == "http://h/"


def test_verbose_logs_calls_never_the_password(
    capsys: pytest.CaptureFixture[str], xapi_pool: Pool
) -> None:
    from aioxend._log import configure_logging

    try:
        result = xe(capsys, "-vv", *xapi_pool.argv, "host-list", "--minimal")
    finally:
        configure_logging("off")
    assert result.code == 0
    assert "session.login_with_password" in result.err
    assert "host.get_all_records" in result.err
    assert "xenroot" not in result.err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    result = xe(capsys, "--help")
    assert result.code == 0
    assert "vm-list" in result.out
    assert "exit status:" in result.out


def test_help_for_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    result = xe(capsys, "help", "vm-start")
    assert result.code == 0, result.err
    # cli_frontend.ml rio_help: xe's own record for a command, in xe's layout.
    assert result.out.splitlines()[:4] == [
        "command name            : vm-start",
        "        reqd params     : ",
        "        optional params : on, paused, <vm fields: vm-list params=all>",
        "        description     : Start the selected VM(s).",
    ]
    one_line_error(xe(capsys, "help", "vm-frobnicate"), 2, "unknown command 'vm-frobnicate'")
    assert xe(capsys, "vm-start", "--help").out == result.out


def test_entry_point_with_options_before_xe(tmp_path: Path, password_file: Path) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0") as server:
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "aioxend",
                "--url",
                server.url,
                "xe",
                "host-list",
                "--password-file",
                str(password_file),
                "--minimal",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert shown.returncode == 0, shown.stderr
    assert re.fullmatch(r"[0-9a-f-]{36}\n", shown.stdout)


def test_start_on_a_host(capsys: pytest.CaptureFixture[str], password_file: Path) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", hosts=2) as server:
        argv = ("--url", server.url, "--password-file", str(password_file))
        hosts = {h["name-label"]: h["uuid"] for h in blocks(xe(capsys, *argv, "host-list").out)}
        assert set(hosts) == {"host0", "host1"}
        started = xe(capsys, *argv, "vm-start", "vm=vm2", "on=host1")
        assert started.code == 0, started.err
        shown = xe(capsys, *argv, "vm-list", "name-label=vm2", "params=resident-on", "--minimal")
        assert shown.out == f"{hosts['host1']}\n"
        nowhere = xe(capsys, *argv, "vm-resume", "vm=vm1", "on=host9")
        one_line_error(nowhere, cli.EXIT_NO_DOMAIN, "on=host9")


# --------------------------------------------------------------------------- tasks


def test_power_verb_waits_on_its_task(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, password_file: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with XenAPIServer.in_thread(tcp="127.0.0.1:0", task_duration=1.5) as server:
        argv = ("--url", server.url, "--password-file", str(password_file))
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        box: list[int] = []
        worker = threading.Thread(
            target=lambda: box.append(cli.main(["xe", *argv, "vm-shutdown", "vm=vm1"]))
        )
        worker.start()
        seen: list[dict[str, str]] = []
        for _ in range(50):  # the task, pending, in task-list while the verb waits on it
            time.sleep(0.05)
            seen = blocks(xe(capsys, *argv, "task-list", "status=pending").out)
            if seen:
                break
        worker.join(timeout=20)
        assert box == [0]
        assert [t["name-label"] for t in seen] == ["Async.VM.clean_shutdown"]
        assert xe(capsys, *argv, "task-list").out == ""  # destroyed once awaited
        assert "%" in terminal.getvalue()  # the spinner shows the task's progress
        assert "vm-shutdown vm1: done in" in terminal.getvalue()


def test_interrupt_cancels_the_task(password_file: Path) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", task_duration=30.0) as server:
        pool = server.pool
        watched = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aioxend",
                "xe",
                "--url",
                server.url,
                "--password-file",
                str(password_file),
                "vm-shutdown",
                "vm=vm1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(600):  # the child's start and login, on a loaded machine too
            if pool.table("task"):
                break
            time.sleep(0.05)
        assert pool.table("task"), "the task never started"
        watched.send_signal(signal.SIGINT)
        _, err = watched.communicate(timeout=30)
        assert watched.returncode == cli.EXIT_INTERRUPTED, err
        assert err.strip() == "aioxend: interrupted"
        assert pool.table("task") == {}  # cancelled, then destroyed
        assert str(pool.get("VM", pool.vm("vm1"))["power_state"]) == "Running"
