"""Every real xend S-expression of the corpus in ``corpus/``: parse, print back, type, and the same
record again through XML-RPC (``to_xmlrpc`` -> stdlib encoder -> our decoder)."""

from __future__ import annotations

import re
import uuid
import xmlrpc.client
from pathlib import Path
from typing import Any, cast

import pytest

import aioxend.xmlrpc
from aioxend.errors import ProtocolError
from aioxend.models import DomainInfo, DomainState, PowerState
from aioxend.sxp import (
    Expr,
    Parser,
    children,
    dumps,
    from_xmlrpc,
    loads,
    loads_all,
    py2_float_str,
    to_xmlrpc,
    value,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
"""The corpus kept beside this file (its README names the source and licence)."""


FILES = sorted(CORPUS.glob("*.sexpr"))
RECORDS = [p for p in FILES if p.name.startswith("sexpr2xml-")]
CONFIGS = [p for p in FILES if p.name.startswith("xml2sexpr-")]


def read(path: Path) -> tuple[str, bool]:
    """The file's text and whether it is balanced (libvirt kept four unbalanced files)."""
    text = path.read_text(encoding="utf-8")
    return text, text.count("(") == text.count(")")


def parse(path: Path) -> Expr:
    text, balanced = read(path)
    return loads(text, strict=balanced)


def test_the_corpus_is_present() -> None:
    assert len(RECORDS) >= 30
    assert len(CONFIGS) >= 30
    assert CORPUS.is_dir()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_parses_strictly_exactly_when_balanced(path: Path) -> None:
    text, balanced = read(path)
    if balanced:
        values = loads_all(text)
    else:
        with pytest.raises(ProtocolError):
            loads_all(text)
        values = loads_all(text, strict=False)
    assert len(values) == 1
    expr = values[0]
    assert isinstance(expr, list)
    assert expr[0] == ("domain" if path.name.startswith("sexpr2xml-") else "vm")
    # The same through the incremental parser, whole, by the byte, and in odd chunks.
    for step in (len(text), 1, 97):
        parser = Parser(strict=balanced)
        parser.BATCH = 64
        data = text.encode()
        got: list[Expr] = []
        for start in range(0, len(data), step):
            got += parser.feed(data[start : start + step])
        assert got + parser.close() == values


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_round_trips_through_the_printer(path: Path) -> None:
    expr = parse(path)
    assert loads(dumps(expr)) == expr
    assert loads(dumps(expr, pretty=True)) == expr


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_every_record_types(path: Path) -> None:
    text, _ = read(path)
    expr = parse(path)
    info = DomainInfo.from_sxp(expr)
    assert info.name == value(expr, "domain/name")
    assert info.memory == int(value(expr, "domain/memory") or 0)
    assert info.vcpus == int(value(expr, "domain/vcpus") or 0)
    assert info.uuid == uuid.UUID(value(expr, "domain/uuid") or "")
    assert (
        len(info.devices) == len(children(expr, "device")) == len(re.findall(r"\(device\s", text))
    )
    assert info.image in ("linux", "hvm")
    assert info.sxp is expr


def by_name(name: str) -> DomainInfo:
    return DomainInfo.from_sxp(parse(CORPUS / f"sexpr2xml-{name}.sexpr"))


def test_record_pv_by_hand() -> None:
    info = by_name("pv")
    assert info.name == "pvtest"
    assert info.domid == 6
    assert info.uuid == uuid.UUID("596a5d21-71f4-8fb2-e068-e2386a5c413e")
    assert (info.memory, info.maxmem, info.vcpus) == (420, 420, 2)
    assert info.image == "linux"
    assert info.kernel == "/var/lib/xen/vmlinuz.2Dn2YT"
    assert info.ramdisk == "/var/lib/xen/initrd.img.0u-Vhq"
    assert info.args is not None
    assert info.args.startswith(" method=http://download.fedora")
    assert (info.on_poweroff, info.on_reboot, info.on_crash) == ("destroy",) * 3
    assert info.state == DomainState.NONE
    assert info.state_string == "------"
    assert info.power_state is None
    (disk,) = info.devices
    assert (disk.kind, disk.dev, disk.uname, disk.mode) == (
        "vbd",
        "xvda",
        "file:/root/some.img",
        "w",
    )


def test_record_fv_autoport_by_hand() -> None:
    info = by_name("fv-autoport")
    assert info.name == "domu-224"
    assert info.domid == 21
    assert info.image == "hvm"
    assert info.kernel == "/usr/lib/xen/boot/hvmloader"
    assert info.state == DomainState.RUNNING
    assert info.state_name == "running"
    assert info.power_state is PowerState.RUNNING
    assert info.cpu_time == pytest.approx(907.159661051)
    assert info.start_time == pytest.approx(1233108538.42)
    assert (info.cpu_weight, info.cpu_cap, info.online_vcpus) == (256, 0, 1)
    assert [d.kind for d in info.devices] == ["vif", "vbd", "vbd", "vkbd", "vfb", "console"]
    vif = info.devices[0]
    assert (vif.mac, vif.bridge, vif.script) == ("00:16:3e:1b:e8:18", "e1000g0", "vif-vnic")
    cdrom = info.devices[2]
    assert (cdrom.dev, cdrom.mode) == ("hdc:cdrom", "r")
    assert cdrom.get("bootable") == "0"
    assert info.devices[4].get("location") == "localhost:5925"


def test_record_curmem_by_hand() -> None:
    info = by_name("curmem")
    assert (info.name, info.domid, info.memory, info.maxmem) == ("rhel5", 5, 175, 385)
    assert info.state == DomainState.BLOCKED
    assert info.state_name == "blocked"
    assert info.cpu_weight == 1  # xend 3.0 wrote 1.0
    assert info.bootloader == "/usr/bin/pygrub"
    assert info.args == "ro root=/dev/VolGroup00/LogVol00 rhgb quiet"
    tap = info.devices[1]
    assert (tap.kind, tap.uname, tap.dev) == ("tap", "tap:aio:/xen/rhel5.img", "xvda:disk")


def test_record_net_bridged_and_qcow_by_hand() -> None:
    vif = by_name("net-bridged").devices[1]
    assert (vif.kind, vif.mac, vif.bridge, vif.script) == (
        "vif",
        "00:11:22:33:44:55",
        "xenbr2",
        "vif-bridge",
    )
    tap = by_name("disk-drv-blktap-qcow").devices[0]
    assert (tap.kind, tap.uname) == ("tap", "tap:qcow:/root/some.img")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_configs_type_as_well(path: Path) -> None:
    expr = parse(path)
    info = DomainInfo.from_sxp(expr)
    assert info.name == value(expr, "vm/name")
    assert info.domid is None
    assert len(info.devices) == len(children(expr, "device"))


# --- the same record over XML-RPC ---------------------------------------------------------

_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")


def as_xend_would_send(expr: Expr) -> object:
    """The record as xend's XML-RPC server holds it: canonical numbers as int/float."""
    if isinstance(expr, list):
        return [as_xend_would_send(item) for item in expr]
    if re.fullmatch(r"-?[0-9]+", expr) and str(int(expr)) == expr and abs(int(expr)) < 2**31:
        return int(expr)
    if _FLOAT.fullmatch(expr) and py2_float_str(float(expr)) == expr:
        return float(expr)
    return expr


def over_xmlrpc(payload: object) -> Expr:
    body = xmlrpc.client.dumps((cast(Any, payload),), methodresponse=True, allow_none=True)
    params, _ = aioxend.xmlrpc.loads(body.encode())
    return from_xmlrpc(params[0])


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_same_record_as_text_and_as_xmlrpc(path: Path) -> None:
    expr = parse(path)
    from_text = DomainInfo.from_sxp(expr)
    assert over_xmlrpc(to_xmlrpc(expr)) == expr
    typed = as_xend_would_send(expr)
    assert typed != expr  # (memory N) and friends went as XML-RPC ints
    assert over_xmlrpc(typed) == expr
    assert DomainInfo.from_sxp(over_xmlrpc(typed)) == from_text
