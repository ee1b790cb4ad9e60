"""``aioxend xe vm-export`` and ``vm-import`` against the emulator's ``GET /export`` and
``PUT /import``: the file, the output, the progress bar on a terminal only, bad input."""

from __future__ import annotations

import io
import json
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from aioxend import cli
from aioxend.emulator.xenapi import XenAPIServer


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(params=["jsonrpc", "xmlrpc"])
def argv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, ...]]:
    password = tmp_path / "pw"
    password.write_text("xenroot\n")
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=3) as server:
        yield ("--url", server.url, "--password-file", str(password), "--protocol", request.param)


def xe(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = cli.main(["xe", *argv])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def names(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> list[str]:
    shown = xe(capsys, *argv, "vm-list", "is-control-domain=false", "params=name-label", "--json")
    return sorted(vm["name-label"] for vm in json.loads(shown.out))


def test_export_then_import(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], tmp_path: Path
) -> None:
    xva = tmp_path / "vm2.xva"
    exported = xe(capsys, *argv, "vm-export", "vm=vm2", f"filename={xva}")
    assert (exported.code, exported.out, exported.err) == (0, "Export succeeded\n", "")
    assert xva.stat().st_size > 0
    assert stat.S_IMODE(xva.stat().st_mode) == 0o600  # as xe's HttpGet creates it
    imported = xe(capsys, *argv, "vm-import", f"filename={xva}")
    assert imported.code == 0, imported.err
    [uuid] = imported.out.strip().split(",")
    assert names(capsys, argv) == ["vm1", "vm2", "vm2", "vm3"]
    shown = xe(capsys, *argv, "vm-list", f"uuid={uuid}", "params=name-label,power-state")
    assert "vm2" in shown.out
    assert "halted" in shown.out


def test_json_output(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], tmp_path: Path
) -> None:
    xva = tmp_path / "vm1.xva"
    exported = xe(capsys, *argv, "--json", "vm-export", "vm=vm1", f"filename={xva}")
    report = json.loads(exported.out)
    assert report["filename"] == str(xva)
    assert report["bytes"] == xva.stat().st_size
    imported = xe(capsys, *argv, "--json", "vm-import", f"filename={xva}")
    assert len(json.loads(imported.out)) == 1


def test_preserve_keeps_the_uuid(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], tmp_path: Path
) -> None:
    xva = tmp_path / "vm1.xva"
    assert xe(capsys, *argv, "vm-export", "vm=vm1", f"filename={xva}").code == 0
    uuid = xe(capsys, *argv, "vm-list", "name-label=vm1", "--minimal").out.strip()
    # vm1 runs, so restoring over it is refused, then skipped with --force.
    refused = xe(capsys, *argv, "vm-import", f"filename={xva}", "preserve=true")
    assert refused.code == cli.EXIT_FAULT
    assert "VM_BAD_POWER_STATE" in refused.err
    assert xe(capsys, *argv, "vm-shutdown", "vm=vm1").code == 0
    restored = xe(capsys, *argv, "vm-import", f"filename={xva}", "preserve=true")
    assert restored.out == f"{uuid}\n"


def test_progress_bar_on_a_terminal_only(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    tmp_path: Path,
) -> None:
    xva = tmp_path / "vm3.xva"
    quiet = xe(capsys, *argv, "vm-export", "vm=vm3", f"filename={xva}")
    assert quiet.err == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(["xe", *argv, "vm-import", f"filename={xva}"]) == 0
    size = xva.stat().st_size
    shown = terminal.getvalue()
    assert f"/ {size / 1024:.1f} KiB" in shown  # bytes of the total, then the rate and ETA
    assert "ETA" in shown
    assert "/s" in shown
    assert shown.endswith("\n")
    # An export does not know its size: the bytes and the rate, then the summary.
    assert cli.main(["xe", *argv, "vm-export", "vm=vm1", f"filename={tmp_path}/vm1.xva"]) == 0
    assert "\r\x1b[KExport " in terminal.getvalue().split("ETA")[-1]


def test_bad_files(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], tmp_path: Path
) -> None:
    there = tmp_path / "there.xva"
    there.write_bytes(b"keep me")
    exists = xe(capsys, *argv, "vm-export", "vm=vm1", f"filename={there}")
    assert exists.code == cli.EXIT_USAGE
    assert "exists already" in exists.err
    assert there.read_bytes() == b"keep me"
    nowhere = xe(capsys, *argv, "vm-export", "vm=vm1", f"filename={tmp_path}/no/dir.xva")
    assert nowhere.code == cli.EXIT_USAGE
    assert "no directory" in nowhere.err
    missing = xe(capsys, *argv, "vm-import", f"filename={tmp_path}/none.xva")
    assert missing.code == cli.EXIT_USAGE
    assert "cannot read" in missing.err
    no_name = xe(capsys, *argv, "vm-import")
    assert no_name.code == cli.EXIT_USAGE
    assert "required parameter not found: filename" in no_name.err
    garbage = xe(capsys, *argv, "vm-import", f"filename={there}")
    assert garbage.code == cli.EXIT_FAULT
    assert garbage.err.startswith("aioxend: error: ")
    assert "IMPORT_ERROR" in garbage.err
    several = xe(
        capsys,
        *argv,
        "vm-export",
        "is-control-domain=false",
        "--multiple",
        f"filename={tmp_path}/x.xva",
    )
    assert several.code == cli.EXIT_USAGE
    assert "one VM at a time" in several.err
    assert not (tmp_path / "x.xva").exists()
    bad_compress = xe(
        capsys, *argv, "vm-export", "vm=vm1", "compress=lz4", f"filename={tmp_path}/y.xva"
    )
    assert bad_compress.code == cli.EXIT_USAGE
    assert "compress" in bad_compress.err
    assert not (tmp_path / "y.xva").exists()


def test_failed_export_leaves_no_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("xenroot\n")
    with XenAPIServer.in_thread(tcp="127.0.0.1:0") as server:
        argv = ("--url", server.url, "--password-file", str(password))
        server.fail_next(1, "INTERNAL_ERROR", "boom", method="task.create")
        xva = tmp_path / "vm1.xva"
        failed = xe(capsys, *argv, "vm-export", "vm=vm1", f"filename={xva}")
        assert failed.code == cli.EXIT_FAULT
        assert "INTERNAL_ERROR" in failed.err
        assert not xva.exists()
        bad_sr = xe(capsys, *argv, "vm-import", f"filename={password}", "sr-uuid=nope")
        assert bad_sr.code == cli.EXIT_FAULT
        assert "UUID_INVALID" in bad_sr.err
