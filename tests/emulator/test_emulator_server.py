"""The Emulator object: URLs, lifecycle, TLS, threads, seeding."""

from __future__ import annotations

import ssl
import urllib.request
import xmlrpc.client
from pathlib import Path
from typing import Any

import pytest
import trustme

from aioxend.emulator import Emulator, Host
from aioxend.emulator._devices import blkdev_number
from aioxend.emulator._server import parse_hostport
from tests.emulator.emulator_support import unix_proxy


async def test_async_with_urls_and_cleanup(tmp_path: Path) -> None:
    xpath, spath = tmp_path / "x.sock", tmp_path / "s.sock"
    async with Emulator(
        domains=1,
        xmlrpc_unix=str(xpath),
        xmlrpc_tcp="127.0.0.1:0",
        sxp_unix=str(spath),
        sxp_tcp="127.0.0.1:0",
    ) as emu:
        assert emu.urls[0] == f"httpu://{xpath}"
        assert emu.urls[1].startswith("http://127.0.0.1:")
        assert emu.urls[1].endswith("/")
        assert emu.urls[2] == f"unix://{spath}"
        assert emu.xmlrpc_url == emu.urls[0]
        assert emu.sxp_url == emu.urls[2]
        assert xpath.is_socket()
        assert spath.is_socket()
        with pytest.raises(RuntimeError):
            await emu.start()
    assert not xpath.exists()
    assert not spath.exists()


async def test_defaults_and_validation(tmp_path: Path) -> None:
    async with Emulator(domains=0) as emu:
        assert len(emu.urls) == 2
        assert emu.xmlrpc_url is not None
        assert emu.sxp_url is not None
        assert [d.name for d in emu.host.domains()] == ["Domain-0"]
    with pytest.raises(ValueError, match="negative"):
        Emulator(domains=-1)
    with pytest.raises(ValueError, match="TLS"):
        Emulator(tls_cert="c.pem")
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_hostport("localhost")
    assert parse_hostport("[::1]:0") == ("::1", 0)
    stale = tmp_path / "stale.sock"
    async with Emulator(xmlrpc_unix=str(stale)):
        pass
    # a stale socket file left behind is replaced, as xend did
    import socket

    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(stale))
    leftover.close()
    async with Emulator(xmlrpc_unix=str(stale)) as emu:
        assert emu.urls == [f"httpu://{stale}"]


def test_tls(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with Emulator.in_thread(
        xmlrpc_tcp="127.0.0.1:0",
        sxp_tcp="127.0.0.1:0",
        tls_cert=str(cert_file),
        tls_key=str(key_file),
    ) as emu:
        assert all(u.startswith("https://127.0.0.1:") for u in emu.urls)
        context = ssl.create_default_context()
        ca.configure_trust(context)
        proxy: Any = xmlrpc.client.ServerProxy(emu.urls[0], context=context, allow_none=True)
        assert proxy.xend.domains(0)[0] == "Domain-0"
        with urllib.request.urlopen(emu.urls[1] + "xend/", context=context) as resp:
            assert resp.read() == b"(ls  node domain vnet)''"


def test_in_thread_host_access(tmp_path: Path) -> None:
    path = str(tmp_path / "x.sock")
    with Emulator.in_thread(domains=2, xmlrpc_unix=path) as emu:
        proxy = unix_proxy(path)
        proxy.xend.domain.pause("vm2")
        assert emu.host.domain("vm2").state_string == "--p---"
        assert emu.host.domain(2).name == "vm2"
        with pytest.raises(KeyError):
            emu.host.domain("vm9")
    with pytest.raises(OSError, match="/proc"), Emulator.in_thread(xmlrpc_unix="/proc/x/y.sock"):
        pass


def test_seeding_is_deterministic() -> None:
    def summary(seed: int) -> list[tuple[str, str, int, list[str]]]:
        host = Host(domains=4, seed=seed)
        return [
            (d.name, d.uuid, d.memory, [str(dev.get("mac")) for dev in d.devices])
            for d in host.domains()
        ]

    assert summary(1) == summary(1)
    assert summary(1) != summary(2)
    host = Host(domains=4, seed=1)
    assert [d.domid for d in host.domains()] == [0, 1, 2, 3, 4]
    for dom in host.domains():
        assert dom.state_string in ("r-----", "-b----")
        classes = {dev.cls for dev in dom.devices}
        assert dom.name == "Domain-0" or {"vbd", "vif", "console"} <= classes
    assert host.domain("vm3").is_hvm


def test_block_device_numbers() -> None:
    assert blkdev_number("xvda") == 51712
    assert blkdev_number("xvdb:disk") == 51728
    assert blkdev_number("hda") == 768
    assert blkdev_number("hdc:cdrom") == 5632
    assert blkdev_number("sdb") == 2064
    assert blkdev_number("51712") == 51712
    assert blkdev_number("floppy") is None


def test_stop_closes_open_connections(tmp_path: Path) -> None:
    import socket

    path = str(tmp_path / "s.sock")
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    with Emulator.in_thread(sxp_unix=path, domains=1):
        sock.connect(path)
        sock.sendall(b"GET /xend/ HTTP/1.1\r\nConnection: keep-alive\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 OK")
        assert b"Connection: keep-alive" in first
    try:
        assert sock.recv(65536) == b""
    finally:
        sock.close()
