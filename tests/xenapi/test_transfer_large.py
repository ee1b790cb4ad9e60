"""A large generated XVA imported from an async iterator and exported back, with memory
watched: the bytes match, and neither Python's allocations (tracemalloc, which also
counts the emulator running in a thread of this process) nor the resident set grow with
the size. The 1 GiB run is marked slow; 64 MiB runs by default."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator

import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.emulator.xenapi._xva import generated_xva
from aioxend.xenapi import connect

MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Digest:
    """An async writer keeping a hash and a count, and the highest RSS it saw."""

    def __init__(self) -> None:
        self.hash = hashlib.sha256()
        self.size = 0
        self.peak_rss = 0

    async def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.size += len(data)
        if self.size % (16 * MIB) < len(data):
            self.peak_rss = max(self.peak_rss, rss())


@pytest.fixture
def server() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", transfer_limit=1200 * MIB) as srv:
        yield srv


@pytest.mark.parametrize("disk", [pytest.param(1024 * MIB, marks=pytest.mark.slow), 64 * MIB])
async def test_a_large_import_and_export_keep_memory_flat(server: XenAPIServer, disk: int) -> None:
    length, pieces = generated_xva(disk, name="large")
    expected = hashlib.sha256()
    async for piece in generated_xva(disk, name="large")[1]:
        expected.update(piece)
    async with connect(server.url, username="root", password="xenroot") as xapi:
        base = rss()
        peak = [base]

        def sample(done: int, total: int | None) -> None:
            if done % (16 * MIB) < MIB:
                peak[0] = max(peak[0], rss())

        tracemalloc.start()
        try:
            [vm] = await xapi.import_vm(pieces, length=length, progress=sample)
            out = Digest()
            assert await xapi.export_vm(vm, out) == length
            _, traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert out.size == length
        assert out.hash.hexdigest() == expected.hexdigest()
        # One MiB pieces on each side, the transport's buffers, the server's read buffer.
        assert traced_peak < 24 * MIB, traced_peak / MIB
        growth = max(peak[0], out.peak_rss) - base
        assert growth < 64 * MIB, growth / MIB
        await xapi.VM.destroy(vm)
