"""The command line against a live emulator: outputs, exit codes, one-line errors.

``aioxend.cli.main`` runs its own event loop, so the emulator runs on a loop in a
background thread and the tests call ``main([...])`` synchronously, capturing stdout and
stderr. A few tests run ``python -m aioxend`` as a subprocess to check the real entry
point. Servers bind only UNIX sockets in private temporary directories.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend import cli
from aioxend.emulator import Emulator, Host


@dataclass(frozen=True)
class Endpoint:
    """An emulator serving XML-RPC and SXP on UNIX sockets, from a background thread."""

    xmlrpc_url: str
    sxp_url: str
    tmp: Path


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short temporary directory: UNIX socket paths must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="axcli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def emu(short_tmp: Path) -> Iterator[Endpoint]:
    """An emulator on its own event loop in a thread, for one test."""
    xmlrpc, legacy = short_tmp / "x.sock", short_tmp / "s.sock"
    with Emulator.in_thread(domains=3, seed=7, xmlrpc_unix=str(xmlrpc), sxp_unix=str(legacy)) as e:
        assert e.xmlrpc_url is not None
        assert e.sxp_url is not None
        yield Endpoint(e.xmlrpc_url, e.sxp_url, short_tmp)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_one_line_error(result: Run, code: int, *needles: str) -> None:
    assert result.code == code, result
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("aioxend: error: ")
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0]


def guests(capsys: pytest.CaptureFixture[str], url: str) -> list[dict[str, Any]]:
    result = run(capsys, "--url", url, "--json", "list")
    assert result.code == 0, result.err
    doms: list[dict[str, Any]] = json.loads(result.out)
    return [d for d in doms if d["domid"] not in (None, 0)]


# --------------------------------------------------------------------------- list/info/show


def test_list_prints_xm_table(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    result = run(capsys, "--url", emu.xmlrpc_url, "list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    # xm's "%-40s %5s %5s %5s %10s %9s" header, to the column.
    assert lines[0] == "Name" + " " * 37 + "   ID   Mem VCPUs      State   Time(s)"
    row = re.compile(r"^(.{40}) ([ \d]{5}) ([ \d]{5}) ([ \d]{5}) ( {4}[-rbpscd]{6}) +\d+\.\d$")
    rows = [row.match(line) for line in lines[1:]]
    assert all(rows), lines
    names = [m.group(1).rstrip() for m in rows if m]
    assert names[0] == "Domain-0"
    assert len(names) == 4
    by_json = {d["name"] for d in guests(capsys, emu.xmlrpc_url)}
    assert by_json == set(names[1:])


def test_list_domains_example_prints_the_cli_table(
    capsys: pytest.CaptureFixture[str], emu: Endpoint
) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "list_domains.py"
    shown = subprocess.run(
        [sys.executable, str(example), emu.xmlrpc_url], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    listed = run(capsys, "--url", emu.xmlrpc_url, "list")
    # the same layout, row for row; only the CPU time, still running, may have moved on
    table = shown.stdout.splitlines()[1:]
    expected = listed.out.splitlines()
    assert table[0] == expected[0]
    assert [line[:-9] for line in table[1:]] == [line[:-9] for line in expected[1:]]


def test_list_options(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    long = run(capsys, "list", "--url", emu.xmlrpc_url, "--long", "Domain-0")
    assert long.code == 0, long.err
    assert long.out.startswith("(domain")
    assert "(name Domain-0)" in long.out
    paused = run(capsys, "--url", emu.xmlrpc_url, "list", "--state", "paused")
    assert paused.code == 0, paused.err
    assert paused.out.splitlines()[1:] == []


def _xm_info(show_numa: int) -> str:
    """What xm_info printed for the emulator's host: info[1:], "%-23s:" % key, value."""
    info = Host(domains=3, seed=7).node_info(show_numa)
    return "".join(f"{key:<23}: {value}\n" for key, value in info[1:])


@pytest.mark.parametrize("which", ["xmlrpc", "sxp"])
def test_info_is_xm_info_line_for_line(
    capsys: pytest.CaptureFixture[str], emu: Endpoint, which: str
) -> None:
    url = emu.xmlrpc_url if which == "xmlrpc" else emu.sxp_url
    plain = run(capsys, "--url", url, "info")
    assert plain.code == 0, plain.err
    assert plain.out == _xm_info(0)
    assert "system" not in plain.out
    assert "cpu_topology" not in plain.out
    numa = run(capsys, "--url", url, "info", "-n")
    assert numa.code == 0, numa.err
    assert numa.out == _xm_info(1)
    assert "cpu_topology           : \ncpu:    core    socket     node\n" in numa.out
    assert run(capsys, "--url", url, "info", "--numa").out == numa.out
    as_json = json.loads(run(capsys, "--url", url, "--json", "info").out)
    assert list(as_json)[1:] == [line[:23].rstrip() for line in plain.out.splitlines()]


def test_info_asks_node_info_as_xm_does(capsys: pytest.CaptureFixture[str]) -> None:
    # xm_info calls xend.node.info(0), or xend.node.info(1) under -n: ints, not booleans
    answer = xmlrpc.client.dumps(([["system", "Linux"], ["host", "h"]],), methodresponse=True)
    bodies: list[bytes] = []

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        assert run(capsys, "--url", url, "--protocol", "xmlrpc", "info").out == f"{'host':<23}: h\n"
        assert run(capsys, "--url", url, "--protocol", "xmlrpc", "info", "-n").code == 0
    finally:
        server.shutdown()
        server.server_close()
    params = [xmlrpc.client.loads(body)[0] for body in bodies]
    assert params == [(0,), (1,)]
    assert all(b"<boolean>" not in body for body in bodies)


def test_show_pretty_sxp_and_json(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    pretty = run(capsys, "--url", emu.xmlrpc_url, "show", name)
    assert pretty.code == 0, pretty.err
    assert pretty.out.startswith("(domain")
    assert f"(name {name})" in pretty.out
    assert "(device" in pretty.out
    as_json = json.loads(run(capsys, "--url", emu.xmlrpc_url, "show", "--json", name).out)
    assert as_json["name"] == name
    assert as_json["sxp"][0] == "domain"


# --------------------------------------------------------------------------- lifecycle


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_pause_unpause(capsys: pytest.CaptureFixture[str], emu: Endpoint, protocol: str) -> None:
    url = emu.xmlrpc_url if protocol == "xmlrpc" else emu.sxp_url
    name = guests(capsys, url)[0]["name"]
    opts = ["--url", url, "--protocol", protocol]
    assert run(capsys, *opts, "pause", name) == Run(0, "", "")
    state = {d["name"]: d["state_string"] for d in guests(capsys, url)}[name]
    assert state[2] == "p"
    assert run(capsys, *opts, "unpause", name).code == 0
    state = {d["name"]: d["state_string"] for d in guests(capsys, url)}[name]
    assert state[2] == "-"


def test_auto_fallback(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    for url in (emu.xmlrpc_url, emu.sxp_url):
        result = run(capsys, "--url", url, "list")
        assert result.code == 0, result.err
        assert result.out.splitlines()[1].startswith("Domain-0 ")
    missing = run(capsys, "--url", emu.sxp_url, "show", "nobody")
    assert_one_line_error(missing, cli.EXIT_NO_DOMAIN, "nobody")


@pytest.mark.parametrize("which", ["xmlrpc", "sxp"])
def test_json_list_has_the_devices_show_has(
    capsys: pytest.CaptureFixture[str], emu: Endpoint, which: str
) -> None:
    url = emu.xmlrpc_url if which == "xmlrpc" else emu.sxp_url
    listed = json.loads(run(capsys, "--url", url, "--json", "list", "vm2").out)
    shown = json.loads(run(capsys, "--url", url, "--json", "show", "vm2").out)
    classes = {d["kind"] for d in listed[0]["devices"]}
    assert {"vbd", "vif"} <= classes
    assert listed[0]["devices"] == shown["devices"]
    assert "sxp" not in listed[0]


def test_json_errors_are_json_objects(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    missing = run(capsys, "--url", emu.xmlrpc_url, "--json", "pause", "vm9")
    assert missing.code == cli.EXIT_NO_DOMAIN
    assert missing.out == ""
    report = json.loads(missing.err)
    assert report["code"] == cli.EXIT_NO_DOMAIN
    assert report["class"] == "InvalidDomain"
    assert report["fault"] == 3
    assert "vm9" in report["message"]
    gone = run(capsys, "--url", f"httpu://{emu.tmp}/none.sock", "list", "--json")
    assert gone.code == cli.EXIT_TRANSPORT
    assert json.loads(gone.err)["code"] == cli.EXIT_TRANSPORT
    usage = run(capsys, "--json", "vcpu-pin", "vm1")  # argparse: arguments missing
    assert usage.code == cli.EXIT_USAGE
    assert json.loads(usage.err) == {
        "code": cli.EXIT_USAGE,
        "class": "UsageError",
        "message": "the following arguments are required: VCPU, CPUS",
    }
    plain = run(capsys, "--url", emu.xmlrpc_url, "pause", "vm9")
    assert_one_line_error(plain, cli.EXIT_NO_DOMAIN, "vm9")


def test_create_from_file(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    config = emu.tmp / "guest.sxp"
    config.write_text("(vm (name cli-guest) (memory 128) (vcpus 1) (image (linux (kernel /k))))")
    result = run(capsys, "--url", emu.xmlrpc_url, "create", str(config))
    assert result.code == 0, result.err
    assert re.fullmatch(r"Started domain cli-guest \(id=\d+\)\n", result.out)
    assert "cli-guest" in {d["name"] for d in guests(capsys, emu.xmlrpc_url)}
    assert run(capsys, "--url", emu.xmlrpc_url, "destroy", "cli-guest").code == 0
    missing = run(capsys, "--url", emu.xmlrpc_url, "create", str(emu.tmp / "nope.sxp"))
    assert_one_line_error(missing, cli.EXIT_USAGE, "nope.sxp")


@pytest.mark.parametrize("command", ["create", "new"])
def test_bad_config_file_is_a_usage_error_naming_it(
    capsys: pytest.CaptureFixture[str], short_tmp: Path, command: str
) -> None:
    # checked before connecting: no server at the URL, still exit 2 and the file's name
    url = f"httpu://{short_tmp}/no-xend.sock"
    unbalanced = short_tmp / "bad.sxp"
    unbalanced.write_text("(vm (name x) (memory 64)")
    result = run(capsys, "--url", url, command, str(unbalanced))
    assert_one_line_error(result, cli.EXIT_USAGE, str(unbalanced), "not closed", "at byte 24")
    atom = short_tmp / "atom.sxp"
    atom.write_text("vm")
    result = run(capsys, "--url", url, command, str(atom))
    assert_one_line_error(result, cli.EXIT_USAGE, str(atom), "(vm ...)")


def test_managed_domain_lifecycle(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    config = emu.tmp / "managed.sxp"
    config.write_text("(vm (name managed) (memory 64) (vcpus 1) (image (linux (kernel /k))))")
    url = ["--url", emu.xmlrpc_url]
    assert run(capsys, *url, "new", str(config)).code == 0
    assert run(capsys, *url, "start", "managed").code == 0
    assert run(capsys, *url, "rename", "managed", "renamed").code == 0
    assert run(capsys, *url, "shutdown", "renamed").code == 0
    assert run(capsys, *url, "destroy", "renamed").code == 0
    assert run(capsys, *url, "delete", "renamed").code == 0
    gone = run(capsys, *url, "show", "renamed")
    assert_one_line_error(gone, cli.EXIT_NO_DOMAIN, "renamed")


def test_remaining_lifecycle_verbs(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    url = ["--url", emu.xmlrpc_url]

    def state(dom: str) -> str:
        shown = run(capsys, *url, "--json", "show", dom)
        assert shown.code == 0, shown.err
        text: str = json.loads(shown.out)["state_string"]
        return text

    config = emu.tmp / "paused.sxp"
    config.write_text("(vm (name born-paused) (memory 64) (on_reboot restart))")
    created = run(capsys, *url, "--json", "create", "--paused", str(config))
    assert created.code == 0, created.err
    assert json.loads(created.out)["name"] == "born-paused"
    assert state("born-paused")[2] == "p"
    for verb in ("unpause", "reboot", "reset"):
        assert run(capsys, *url, verb, "born-paused") == Run(0, "", ""), verb
    assert run(capsys, *url, "sysrq", "born-paused", "s") == Run(0, "", "")
    assert run(capsys, *url, "migrate", "--live", "born-paused", "otherhost") == Run(0, "", "")
    assert_one_line_error(run(capsys, *url, "show", "born-paused"), cli.EXIT_NO_DOMAIN)

    config.write_text("(vm (name managed-two) (memory 64))")
    assert run(capsys, *url, "new", str(config)).code == 0
    assert run(capsys, *url, "start", "--paused", "managed-two").code == 0
    assert run(capsys, *url, "unpause", "managed-two").code == 0
    assert run(capsys, *url, "suspend", "managed-two") == Run(0, "", "")
    assert run(capsys, *url, "resume", "--paused", "managed-two") == Run(0, "", "")
    assert state("managed-two")[2] == "p"
    assert run(capsys, *url, "dmesg", "--clear").code == 0


def test_save_restore_show_progress_on_a_terminal(
    capsys: pytest.CaptureFixture[str], emu: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    state_file = str(emu.tmp / "guest.save")
    tty = Terminal()
    monkeypatch.setattr(sys, "stderr", tty)
    saved = cli.main(["--url", emu.xmlrpc_url, "save", name, state_file])
    assert saved == 0, tty.getvalue()
    assert re.search(rf"\r\| save {name} \.\.\. 0\.0s\r", tty.getvalue())
    assert re.search(rf"\x1b\[Ksave {name}: done in \d+\.\ds\n$", tty.getvalue())
    assert name not in {d["name"] for d in guests(capsys, emu.xmlrpc_url)}
    restored = cli.main(["--url", emu.xmlrpc_url, "restore", state_file])
    assert restored == 0, tty.getvalue()
    assert re.search(r"restore .*guest\.save: done in \d+\.\ds\n$", tty.getvalue())
    assert f"Restored domain {name}" in capsys.readouterr().out


def test_shutdown_wait(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    config = emu.tmp / "short-lived.sxp"
    config.write_text("(vm (name short-lived) (memory 64) (on_poweroff destroy))")
    url = ["--url", emu.xmlrpc_url]
    assert run(capsys, *url, "create", str(config)).code == 0
    assert run(capsys, *url, "shutdown", "--wait", "short-lived") == Run(0, "", "")
    assert_one_line_error(run(capsys, *url, "show", "short-lived"), cli.EXIT_NO_DOMAIN)


def test_closed_stdout_exits_quietly(
    capsys: pytest.CaptureFixture[str], emu: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["--url", emu.xmlrpc_url, "list"]) == cli.EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_long_operations_are_quiet_off_a_terminal(
    capsys: pytest.CaptureFixture[str], emu: Endpoint
) -> None:
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    result = run(capsys, "--url", emu.xmlrpc_url, "dump", name, str(emu.tmp / "core"))
    assert result == Run(0, "", "")


# --------------------------------------------------------------------------- resources


def test_memory_and_vcpus(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    url = ["--url", emu.xmlrpc_url]
    assert run(capsys, *url, "mem-max", name, "1024").code == 0
    assert run(capsys, *url, "mem-set", name, "300").code == 0
    assert run(capsys, *url, "vcpu-set", name, "1").code == 0
    dom = json.loads(run(capsys, *url, "--json", "show", name).out)
    assert (dom["memory"], dom["maxmem"]) == (300, 1024)
    assert (dom["online_vcpus"] or dom["vcpus"]) == 1


def test_vcpu_list_and_pin(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    url = ["--url", emu.xmlrpc_url]
    assert run(capsys, *url, "vcpu-pin", name, "0", "0").code == 0
    result = run(capsys, *url, "vcpu-list", name)
    assert result.code == 0, result.err
    header, *rows = result.out.splitlines()
    assert header.split() == ["Name", "ID", "VCPU", "CPU", "State", "Time(s)", "CPU", "Affinity"]
    assert rows
    assert rows[0].startswith(name)
    assert rows[0].split()[2] == "0"
    assert rows[0].endswith(" 0")
    as_json = json.loads(run(capsys, *url, "--json", "vcpu-list", name).out)
    assert as_json[0]["name"] == name
    assert as_json[0]["cpumap"] == [0]
    assert run(capsys, *url, "vcpu-pin", name, "all", "all").code == 0
    assert run(capsys, *url, "vcpu-list", name).out.splitlines()[1].endswith("any cpu")
    bad = run(capsys, *url, "vcpu-pin", name, "first", "0")
    assert_one_line_error(bad, cli.EXIT_USAGE, "'first'")
    negative = run(capsys, *url, "mem-set", name, "-5")
    assert_one_line_error(negative, cli.EXIT_USAGE, "-5")
    assert not negative.err.startswith("aioxend: error: ValueError")


def test_sched_credit(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    url = ["--url", emu.xmlrpc_url]
    assert run(capsys, *url, "sched-credit", name, "-w", "512", "-c", "50").code == 0
    result = run(capsys, *url, "sched-credit", name)
    header, row = result.out.splitlines()
    assert header.split() == ["Name", "ID", "Weight", "Cap"]
    assert row.split()[0] == name
    assert row.split()[2:] == ["512", "50"]


@pytest.mark.parametrize("protocol", ["xmlrpc", "sxp"])
def test_block_and_network_devices(
    capsys: pytest.CaptureFixture[str], emu: Endpoint, protocol: str
) -> None:
    where = emu.xmlrpc_url if protocol == "xmlrpc" else emu.sxp_url
    name = guests(capsys, where)[0]["name"]
    url = ["--url", where, "--protocol", protocol]
    attach = run(capsys, *url, "block-attach", name, "file:/tmp/extra.img", "xvdc", "w")
    assert attach.code == 0, attach.err
    assert "file:/tmp/extra.img" in run(capsys, *url, "show", name).out
    assert run(capsys, *url, "block-detach", name, "xvdc").code == 0
    assert "file:/tmp/extra.img" not in run(capsys, *url, "show", name).out
    net = run(capsys, *url, "--json", "network-attach", name, "mac=00:16:3e:01:02:03")
    assert net.code == 0, net.err
    devid = json.loads(net.out)["devid"]
    assert "00:16:3e:01:02:03" in run(capsys, *url, "show", name).out
    assert run(capsys, *url, "network-detach", name, str(devid)).code == 0
    assert "00:16:3e:01:02:03" not in run(capsys, *url, "show", name).out
    bad = run(capsys, *url, "network-attach", name, "bridge")
    assert_one_line_error(bad, cli.EXIT_USAGE, "KEY=VALUE")


def test_dmesg_and_log(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    for command in ("dmesg", "log"):
        result = run(capsys, "--url", emu.xmlrpc_url, command)
        assert result.code == 0, result.err
        assert result.out.strip()
        as_json = run(capsys, "--url", emu.xmlrpc_url, "--json", command)
        assert json.loads(as_json.out).strip() == result.out.strip()


# --------------------------------------------------------------------------- errors


def test_unknown_domain_exit_3(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    for url in (emu.xmlrpc_url, emu.sxp_url):
        result = run(capsys, "--url", url, "pause", "no-such-dom")
        assert_one_line_error(result, cli.EXIT_NO_DOMAIN, "no-such-dom")
        assert result.out == ""


def test_xend_fault_exit_1(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    result = run(capsys, "--url", emu.xmlrpc_url, "pause", "Domain-0")
    assert_one_line_error(result, cli.EXIT_FAULT, "Domain-0")
    name = guests(capsys, emu.xmlrpc_url)[0]["name"]
    bad_reason = run(capsys, "--url", emu.xmlrpc_url, "shutdown", name, "--reason", "nap")
    assert_one_line_error(bad_reason, cli.EXIT_FAULT, "reason")


def test_connection_failure_exit_4(capsys: pytest.CaptureFixture[str], short_tmp: Path) -> None:
    result = run(capsys, "--url", f"httpu://{short_tmp}/absent.sock", "list")
    assert_one_line_error(result, cli.EXIT_TRANSPORT, "absent.sock")


def _serve_once(path: Path, answer: bytes | None) -> threading.Thread:
    """A UNIX socket that answers one request with ``answer`` bytes, or never answers."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(10)

    def serve() -> None:
        with server:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if answer is None:
                    conn.recv(65536)  # hold the connection open until the client leaves
                else:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_timeout_exit_5(capsys: pytest.CaptureFixture[str], short_tmp: Path) -> None:
    path = short_tmp / "stall.sock"
    thread = _serve_once(path, None)
    url = f"httpu://{path}"
    result = run(capsys, "--url", url, "--protocol", "xmlrpc", "--timeout", "0.3", "list")
    assert_one_line_error(result, cli.EXIT_TIMEOUT)
    thread.join(timeout=10)


def test_protocol_error_exit_6(capsys: pytest.CaptureFixture[str], short_tmp: Path) -> None:
    path = short_tmp / "garbage.sock"
    body = b"<methodResponse><params><param><value><int>oops"
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body)
    thread = _serve_once(path, answer + body)
    result = run(capsys, "--url", f"httpu://{path}", "--protocol", "xmlrpc", "info")
    assert_one_line_error(result, cli.EXIT_PROTOCOL)
    thread.join(timeout=10)


def test_unsupported_over_sxp_exit_7(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    name = guests(capsys, emu.sxp_url)[0]["name"]
    result = run(capsys, "--url", emu.sxp_url, "--protocol", "sxp", "resume", name)
    assert_one_line_error(result, cli.EXIT_UNSUPPORTED, "sxp")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["pause"],
        ["mem-set", "vm", "lots"],
        ["--protocol", "soap", "list"],
        ["list", "--timeout", "soon"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    result = run(capsys, *argv)
    assert result.code == cli.EXIT_USAGE
    assert result.out == ""
    # argparse's usage summary, then its one error line (prog is "aioxend [COMMAND]").
    assert re.fullmatch(r"aioxend( [a-z-]+)?: error: .+", result.err.splitlines()[-1])
    assert "Traceback" not in result.err


def test_readme_documents_the_same_exit_codes() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", readme, re.MULTILINE))
    assert table == {str(code): meaning for code, meaning in cli.EXIT_CODES.items()}


def test_help_documents_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "--help")
    assert result.code == 0
    for code, meaning in cli.EXIT_CODES.items():
        assert f"{code:<3}  {meaning}" in result.out
    for command in ("list", "info", "show", "save", "migrate", "vcpu-pin", "emulator", "demo"):
        assert command in result.out
    assert run(capsys, "pause", "--help").code == 0


# --------------------------------------------------------------------------- demo, entry points


def test_demo_runs_against_its_own_emulator(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "demo")
    assert result.code == 0, result.err
    out = result.out
    for heading in ("=== 1. XML-RPC", "=== 2. The legacy S-expression", "=== done ==="):
        assert heading in out
    tables = [line for line in out.splitlines() if line.startswith("Name ") and "VCPUs" in line]
    assert len(tables) >= 6
    assert out.count("InvalidDomain") == 2
    assert "protocol 'sxp'" in out
    assert re.search(r"^\S+ +\d+ +\d+ +\d+ +[-rb]{2}p[-scd]{3} ", out, re.MULTILINE)


def test_demo_against_a_url(capsys: pytest.CaptureFixture[str], emu: Endpoint) -> None:
    result = run(capsys, "demo", "--url", emu.sxp_url)
    assert result.code == 0, result.err
    assert "protocol: sxp" in result.out
    assert "InvalidDomain" in result.out


def _python_m(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aioxend", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_python_m_aioxend_list(emu: Endpoint) -> None:
    proc = _python_m("--url", emu.xmlrpc_url, "list")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("Name ")
    proc = _python_m("--url", emu.xmlrpc_url, "show", "no-such-dom")
    assert proc.returncode == cli.EXIT_NO_DOMAIN
    assert proc.stderr.startswith("aioxend: error: ")
    assert len(proc.stderr.splitlines()) == 1


def test_emulator_subcommand_serves_until_sigint(short_tmp: Path) -> None:
    path = short_tmp / "served.sock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aioxend", "emulator", "--xmlrpc-unix", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.endswith(str(path))
        listed = _python_m("--url", url, "list")
        assert listed.returncode == 0, listed.stderr
        assert "Domain-0" in listed.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert not os.path.exists(path)


# --------------------------------------------------------------------------- pure helpers


@given(st.sets(st.integers(min_value=0, max_value=130), min_size=1))
def test_cpumap_round_trips_through_parse_cpus(cpus: set[int]) -> None:
    text = cli.format_cpumap(sorted(cpus), None)
    assert cli.parse_cpus(text) == sorted(cpus)


def test_parse_cpus_syntax() -> None:
    assert cli.parse_cpus("0-7,^2,^5-6") == [0, 1, 3, 4, 7]
    assert cli.parse_cpus("all", 4) == [0, 1, 2, 3]
    assert cli.format_cpumap([0, 1, 2, 3], 4) == "any cpu"
    for bad in ("", "x", "3-1", "^1", "1-", "-1", "all"):
        with pytest.raises(ValueError, match="CPU"):
            cli.parse_cpus(bad)


@given(st.text(max_size=30))
def test_parse_cpus_accepts_or_raises_value_error(spec: str) -> None:
    try:
        cpus = cli.parse_cpus(spec, 8)
    except ValueError:
        return
    assert cpus == sorted(set(cpus))
    assert all(c >= 0 for c in cpus)


def test_exit_code_mapping() -> None:
    from aioxend import errors

    assert cli.exit_code_for(errors.InvalidDomain(3, "vm")) == cli.EXIT_NO_DOMAIN
    assert cli.exit_code_for(errors.OperationFailed(2, "no")) == cli.EXIT_FAULT
    assert cli.exit_code_for(errors.MethodNotSupported(-1, "x")) == cli.EXIT_FAULT
    assert cli.exit_code_for(errors.ReadTimeout("slow")) == cli.EXIT_TIMEOUT
    assert cli.exit_code_for(errors.ConnectError("gone")) == cli.EXIT_TRANSPORT
    assert cli.exit_code_for(errors.RemoteProtocolError("junk")) == cli.EXIT_PROTOCOL
    assert cli.exit_code_for(errors.HTTPStatusError(418)) == cli.EXIT_PROTOCOL
    assert cli.exit_code_for(errors.UnsupportedOperation("resume", "sxp")) == 7
    assert cli.exit_code_for(errors.LocalProtocolError("bad name")) == cli.EXIT_USAGE
    assert cli.exit_code_for(ValueError("mib must be at least 0")) == cli.EXIT_USAGE


def test_demo_without_aiohttp_names_the_extra() -> None:
    # aiohttp is the emulator's only (an optional extra); a client-only install that asks for
    # the demo is told what to install, not shown a bare "No module named 'aiohttp'".
    script = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from aioxend.cli import main\n"
        "raise SystemExit(main(['demo']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode != 0
    assert "pip install 'aioxend[emulator]'" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
