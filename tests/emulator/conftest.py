"""Fixtures: an emulator on a background thread with all four listeners."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aioxend.emulator import Emulator
from tests.emulator.emulator_support import SxpClient, port_of, tcp_proxy, unix_proxy


@dataclass
class Served:
    """A running emulator and the clients pointed at it."""

    emu: Emulator
    xmlrpc_path: str
    sxp_path: str
    unix: Any  # xmlrpc.client.ServerProxy: results are whatever was marshalled
    tcp: Any
    sxp: SxpClient
    sxp_tcp: SxpClient


@pytest.fixture
def served() -> Iterator[Served]:
    with tempfile.TemporaryDirectory(prefix="aioxend-emu-") as tmp:
        xpath, spath = f"{tmp}/xmlrpc.sock", f"{tmp}/xend-socket"
        with Emulator.in_thread(
            domains=3,
            seed=7,
            xmlrpc_unix=xpath,
            xmlrpc_tcp="127.0.0.1:0",
            sxp_unix=spath,
            sxp_tcp="127.0.0.1:0",
        ) as emu:
            assert emu.urls[1].startswith("http://127.0.0.1:")
            yield Served(
                emu,
                xpath,
                spath,
                unix_proxy(xpath),
                tcp_proxy(emu.urls[1]),
                SxpClient(path=spath),
                SxpClient(port=port_of(emu.urls[3])),
            )
