"""``Emulator(xenapi_tcp=..., xenapi_unix=...)`` and the emulator's ``--xenapi-*`` flags."""

from __future__ import annotations

import signal
import xmlrpc.client
from pathlib import Path

import pytest

from aioxend.emulator import Emulator, main
from tests.emulator.test_emulator_cli import _running
from tests.emulator.xenapi.conftest import failure, login, proxy, sdk


def test_emulator_serves_xenapi_beside_xend(sock_dir: str) -> None:
    path = f"{sock_dir}/xen-api.sock"
    with Emulator.in_thread(
        domains=2, xmlrpc_tcp="127.0.0.1:0", xenapi_tcp="127.0.0.1:0", xenapi_unix=path
    ) as emu:
        assert emu.xenapi is not None
        assert emu.xenapi_url is not None
        assert emu.xenapi_url.startswith("http://127.0.0.1:")
        assert f"httpu://{path}" in emu.urls
        assert emu.xenapi_url in emu.urls
        assert emu.xenapi.faults is emu.faults  # one set of fault rules for every listener
        x = login(f"httpu://{path}").xenapi
        names = {r["name_label"] for r in x.VM.get_all_records().values()}
        assert {"vm1", "vm2"} <= names
        assert "vm3" not in names
        assert proxy(emu.urls[0]).xend.domains(0) == ["Domain-0", "vm1", "vm2"]


def test_emulator_xend_dialect() -> None:
    with Emulator.in_thread(xenapi_tcp="127.0.0.1:0", xenapi_dialect="xend") as emu:
        assert emu.urls == [emu.xenapi_url]  # only the listener asked for
        session = sdk(emu.urls[0])
        assert failure(session.xenapi.login_with_password, "root", "xenroot", "1.0", "x")[0] == (
            "MESSAGE_PARAMETER_COUNT_MISMATCH"
        )


def test_cli_flags(tmp_path: Path) -> None:
    path = tmp_path / "xapi.sock"
    flags = ("--xenapi-tcp", "127.0.0.1:0", "--xenapi-unix", str(path))
    errors = ("--xenapi-error", "VM_BAD_POWER_STATE,v,halted,running:VM.start@2")
    with _running(*flags, *errors, "--fault", "http500:VM.get_all") as (proc, urls):
        assert urls[0].startswith("http://127.0.0.1:")
        assert urls[1] == f"httpu://{path}"
        session = login(urls[0])
        with pytest.raises(xmlrpc.client.ProtocolError) as info:
            session.xenapi.VM.get_all()  # the --fault flag reaches the Xen-API listener
        assert info.value.errcode == 500
        assert session.xenapi.pool.get_all()
        [vm] = session.xenapi.VM.get_by_name_label("vm2")
        for _ in range(2):
            details = failure(session.xenapi.VM.start, vm, False, False)
            assert details == ["VM_BAD_POWER_STATE", "v", "halted", "running"]
        session.xenapi.VM.start(vm, False, False)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not path.exists()


def test_cli_refuses_bad_error_flags(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (
        ["--xenapi-error", "INTERNAL_ERROR"],  # no Xen-API listener
        ["--xenapi-tcp", "127.0.0.1:0", "--xenapi-error", "HANDLE_INVALID,VM"],
        ["--xenapi-tcp", "127.0.0.1:0", "--xenapi-error", "X@many"],
        ["--xenapi-tcp", "127.0.0.1:0", "--xenapi-error", ":VM.start"],
    ):
        with pytest.raises(SystemExit) as info:
            main(bad)
        assert info.value.code == 2
    assert "--xenapi-error" in capsys.readouterr().err


def test_cli_legend_names_the_dialect(tmp_path: Path) -> None:
    flags = ("--xenapi-tcp", "127.0.0.1:0", "--xenapi-unix", str(tmp_path / "x.sock"))
    with _running(*flags, "--xenapi-dialect", "xend") as (proc, urls):
        assert sdk(urls[0]).xenapi.login_with_password("root", "xenroot") is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        assert "xend's dialect" in proc.stderr.read()
