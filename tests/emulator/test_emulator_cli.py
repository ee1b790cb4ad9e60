"""``python -m aioxend.emulator``: URLs printed, served until SIGTERM, sockets removed."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aioxend.emulator import Emulator, main
from tests.emulator.emulator_support import SxpClient, port_of, unix_proxy


@contextmanager
def _running(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aioxend.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        urls = []
        expected = max(2, sum(a.startswith("--") and a.endswith(("unix", "tcp")) for a in args))
        for _ in range(expected):
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            urls.append(line.strip())
        yield proc, urls
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_serves_until_sigterm_and_removes_sockets(tmp_path: Path) -> None:
    xpath, spath = tmp_path / "run" / "xmlrpc.sock", tmp_path / "xend-socket"
    with _running(
        "--xmlrpc-unix", str(xpath), "--sxp-unix", str(spath), "--domains", "2", "--seed", "4"
    ) as (proc, urls):
        assert urls == [f"httpu://{xpath}", f"unix://{spath}"]
        assert xpath.is_socket()
        assert unix_proxy(str(xpath)).xend.domains(0) == ["Domain-0", "vm1", "vm2"]
        assert SxpClient(path=str(spath)).get("/xend/domain").text == "(Domain-0 vm1 vm2)"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not xpath.exists()
    assert not spath.exists()


def test_defaults_to_tcp_and_fault_flags() -> None:
    with _running("--fault", "http500:xend.domains", "--latency", "0.01") as (proc, urls):
        assert all(u.startswith("http://127.0.0.1:") for u in urls)
        proxy: Any = xmlrpc.client.ServerProxy(urls[0], allow_none=True)
        with pytest.raises(xmlrpc.client.ProtocolError):
            proxy.xend.domains(0)
        assert proxy.xend.node.info()[0] == ["system", "Linux"]
        assert SxpClient(port=port_of(urls[1])).get("/xend/").status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read().splitlines() == [
            f"{urls[0]} serves XML-RPC (xend.* methods, what xm speaks)",
            f"{urls[1]} serves the legacy SXP/HTTP protocol (/xend/...)",
        ]


def test_main_help_and_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--xmlrpc-unix" in text
    assert "TCP 127.0.0.1" in text
    for bad in (
        ["--xmlrpc-tcp", "nowhere"],
        ["--fault", "boom"],
        ["--tls-cert", "x"],
        ["--max-connections", "0"],
        ["--idle-timeout", "-1"],
    ):
        with pytest.raises(SystemExit) as info:
            main(bad)
        assert info.value.code == 2


def test_main_reports_a_bind_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a socket")
    assert main(["--xmlrpc-unix", str(blocker)]) == 1
    assert "not a socket" in capsys.readouterr().err
    assert blocker.read_text() == "not a socket"
    assert os.path.exists(blocker)


def test_socket_files_are_owner_only_unless_widened(tmp_path: Path) -> None:
    old = os.umask(0o002)  # the umask of the report: srwxrwxr-x before
    try:
        xpath, spath = tmp_path / "x.sock", tmp_path / "s.sock"
        with _running("--xmlrpc-unix", str(xpath), "--sxp-unix", str(spath)) as (proc, _):
            assert stat.S_IMODE(xpath.stat().st_mode) == 0o600
            assert stat.S_IMODE(spath.stat().st_mode) == 0o600
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        wide = ("--xmlrpc-unix", str(xpath), "--sxp-unix", str(spath), "--socket-mode", "660")
        with _running(*wide) as (proc, _):
            assert stat.S_IMODE(xpath.stat().st_mode) == 0o660
            assert stat.S_IMODE(spath.stat().st_mode) == 0o660
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
    finally:
        os.umask(old)
    for bad in ("999", "rw", "1777"):
        with pytest.raises(SystemExit):
            main(["--socket-mode", bad])
    with pytest.raises(ValueError, match="socket_mode"):
        Emulator(socket_mode=0o1777)
