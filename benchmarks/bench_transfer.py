"""Transfer throughput and memory: ``aioxend.xenapi`` import/export against ``curl``.

The Xen-API emulator runs in a child process (``--serve``), so this process holds the
client alone. Figures, each measured in the same run:

1. throughput over loopback, ``GET /export_raw_vdi`` of a VDI of ``--size`` bytes (the
   emulator sends zeros it does not store) into a sink that only counts (curl's
   ``-o /dev/null``) and into a file (curl's ``-o`` file beside it, on ``/dev/shm`` where
   there is one), and ``PUT /import_raw_vdi`` of a file of that size into a VDI:
   ``xapi.export_raw_vdi`` /
   ``xapi.import_raw_vdi`` (task made, probe, transfer, task awaited and destroyed)
   against ``curl`` on the same endpoint with the same session (its own ``time_total``,
   so its process start is not counted). After a warm-up of each, ``--runs`` pairs: in
   each pair both tools run back to back (the order swapped from pair to pair), so both
   see the same machine state, and the pair gives one ratio. Reported: each tool's
   median rate, the median of the pairs' ratios with their min and max, and the load
   average before and after (the machine may be shared; a ratio is what to compare).
   The download is also measured over TLS (a second emulator with a ``trustme``
   certificate, curl given its CA), as a real xapi serves it on port 443.
2. this process's resident memory (``/proc/self/statm``, sampled from the progress
   callback) before and at its peak during a download of ``--big`` bytes and an upload
   of ``--big-upload`` bytes (a generated XVA from an async iterator, stored by the
   emulator in its temporary folder, on ``/dev/shm`` where there is one).

Run: ``python benchmarks/bench_transfer.py`` (``--quick``: 64 MiB and 1 GiB). curl is
skipped, with a note, when it is not installed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from _harness import Table, machine_description, now_utc, write_markdown
from canned_server import ServerProcess

from aioxend import xenapi
from aioxend.xenapi import SRRef, VDIRef

MIB = 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def serve(limit: int, tls: str | None = None) -> None:
    """The emulator, in this (child) process, until SIGTERM; it keeps uploads in RAM
    (``/dev/shm``) where it can, so the disk's pace does not drown the client's. With
    ``tls`` (a folder holding ``cert.pem`` and ``key.pem``) it speaks HTTPS."""
    from aioxend.emulator.xenapi import XenAPIServer

    if os.path.isdir("/dev/shm"):
        tempfile.tempdir = "/dev/shm"

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        cert, key = (f"{tls}/cert.pem", f"{tls}/key.pem") if tls else (None, None)
        async with XenAPIServer(
            tcp="127.0.0.1:0", transfer_limit=limit, tls_cert=cert, tls_key=key
        ) as server:
            print(server.url, flush=True)
            await stop.wait()

    asyncio.run(run())


class Counter:
    """An async writer that keeps nothing but the count, and samples memory."""

    def __init__(self) -> None:
        self.size = 0

    async def write(self, data: bytes) -> None:
        self.size += len(data)


class Peak:
    """The highest RSS seen by progress callbacks (sampled at most every 20 ms)."""

    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._next = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.perf_counter()
        if now >= self._next:
            self._next = now + 0.02
            self.peak = max(self.peak, rss())


def curl_seconds(args: Sequence[str], out: str = "/dev/null") -> float | None:
    """curl's own ``time_total`` for one transfer into ``out``, or None without curl."""
    curl = shutil.which("curl")
    if curl is None:
        return None
    done = subprocess.run(
        [curl, "-s", "-f", "-o", out, "-w", "%{time_total}", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


async def pairs(
    ours: Callable[[], Awaitable[float]], theirs: Callable[[], float | None], count: int
) -> list[tuple[float, float | None]]:
    """``count`` pairs of (our seconds, curl's), each pair run back to back and the order
    swapped from one pair to the next, so both tools see the same machine state."""
    taken: list[tuple[float, float | None]] = []
    for index in range(count):
        if index % 2:
            other = theirs()
            mine = await ours()
        else:
            mine = await ours()
            other = theirs()
        taken.append((mine, other))
    return taken


def make_ca(folder: Path) -> ssl.SSLContext | None:
    """A CA (``ca.pem``) and a certificate for 127.0.0.1 (``cert.pem``, ``key.pem``) in
    ``folder``; the client's context trusting it. None without trustme."""
    try:
        import trustme
    except ImportError:
        return None
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def throughput(
    url: str,
    size: int,
    runs: int,
    folder: Path,
    table: Table,
    context: ssl.SSLContext | None = None,
) -> None:
    """The rows of the throughput table; over TLS (``context``) only the download."""
    tls = context is not None
    async with xenapi.connect(
        url, username="root", password="xenroot", ssl_context=context
    ) as xapi:
        [sr] = await xapi.SR.get_all()
        record = {"name_label": "bench", "SR": sr, "virtual_size": size, "type": "user"}
        empty = await xapi.VDI.create(record)  # never written: the emulator sends zeros
        target = await xapi.VDI.create(record)
        image = folder / "image.raw"
        with image.open("wb") as f:
            f.truncate(size)  # a sparse file: reads cost no disk
        session = str(xapi.session_id)
        base = url.rstrip("/")
        get = f"{base}/export_raw_vdi?session_id={session}&vdi={empty}&format=raw"
        put = f"{base}/import_raw_vdi?session_id={session}&vdi={target}&format=raw"
        mine_file, their_file = str(folder / "aioxend.raw"), str(folder / "curl.raw")
        rows: list[tuple[str, Callable[[], Awaitable[float]], Callable[[], float | None]]] = [
            ("GET /export_raw_vdi", lambda: ours_get(xapi, empty), lambda: curl_seconds([get])),
        ]
        if tls:
            trust = ["--cacert", str(folder / "ca.pem"), get]
            rows = [("GET /export_raw_vdi over TLS", rows[0][1], lambda: curl_seconds(trust))]
        else:
            rows += [
                (
                    "GET /export_raw_vdi to a file",
                    lambda: ours_get(xapi, empty, mine_file),
                    lambda: curl_seconds([get], their_file),
                ),
                (
                    "PUT /import_raw_vdi",
                    lambda: ours_put(xapi, target, image),
                    lambda: curl_seconds(["-T", str(image), put]),
                ),
            ]
        mb = size / 1e6
        for name, ours, theirs in rows:
            await ours()  # a warm-up of each side first (the server's first pages, caches)
            theirs()
            before = os.getloadavg()[0]
            taken = await pairs(ours, theirs, runs)
            load = f"{before:.1f} / {os.getloadavg()[0]:.1f}"
            mine = statistics.median([mb / m for m, _ in taken])
            if any(t is None for _, t in taken):
                table.add(name, size // MIB, mine, "-", "-", "-", "-", load)
                continue
            rate = statistics.median([mb / t for _, t in taken if t is not None])
            ratios = [t / m for m, t in taken if t is not None]
            middle = statistics.median(ratios)
            table.add(name, size // MIB, mine, rate, middle, min(ratios), max(ratios), load)
        if shutil.which("curl") is None and not tls:
            table.note("curl is not installed: its column is empty (apt-get install curl)")


async def ours_get(xapi: xenapi.XenAPIClient, vdi: VDIRef, path: str | None = None) -> float:
    start = time.perf_counter()
    await xapi.export_raw_vdi(vdi, Counter() if path is None else path)
    return time.perf_counter() - start


async def ours_put(xapi: xenapi.XenAPIClient, vdi: VDIRef, image: Path) -> float:
    start = time.perf_counter()
    await xapi.import_raw_vdi(image, vdi)
    return time.perf_counter() - start


async def memory(url: str, big: int, big_upload: int, table: Table) -> None:
    from aioxend.emulator.xenapi._xva import generated_xva

    async with xenapi.connect(url, username="root", password="xenroot") as xapi:
        [sr] = await xapi.SR.get_all()
        record = {"name_label": "big", "SR": SRRef(sr), "virtual_size": big, "type": "user"}
        vdi = await xapi.VDI.create(record)
        peak = Peak()
        start = time.perf_counter()
        sink = Counter()
        await xapi.export_raw_vdi(vdi, sink, progress=peak)
        wall = time.perf_counter() - start
        assert sink.size == big
        table.add(
            "GET /export_raw_vdi",
            big // MIB,
            peak.base / MIB,
            peak.peak / MIB,
            (peak.peak - peak.base) / MIB,
            big / 1e6 / wall,
        )
        length, pieces = generated_xva(big_upload, name="big")
        peak = Peak()
        start = time.perf_counter()
        [vm] = await xapi.import_vm(pieces, length=length, progress=peak)
        wall = time.perf_counter() - start
        table.add(
            "PUT /import (iterator)",
            length // MIB,
            peak.base / MIB,
            peak.peak / MIB,
            (peak.peak - peak.base) / MIB,
            length / 1e6 / wall,
        )
        await xapi.VM.destroy(vm)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=8 << 30, help=argparse.SUPPRESS)
    parser.add_argument("--tls", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="64 MiB, 5 pairs, 1 GiB big")
    parser.add_argument("--size", type=int, default=256 * MIB, help="bytes per throughput run")
    parser.add_argument("--runs", type=int, default=9, help="pairs of runs per transfer")
    parser.add_argument("--big", type=int, default=4 << 30, help="bytes of the big download")
    parser.add_argument("--big-upload", type=int, default=1 << 30, help="bytes of the big upload")
    parser.add_argument("--markdown", help="write the tables to this file")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.limit, args.tls)
        return 0
    if args.quick:
        args.size, args.runs, args.big, args.big_upload = 64 * MIB, 5, 1 << 30, 256 * MIB
    print(f"# bench_transfer, {now_utc()}\n{machine_description()}", flush=True)
    speed = Table(
        f"Throughput over loopback, {args.runs} pairs of runs (aioxend, curl) taken in turns",
        [
            "transfer",
            "MiB",
            "aioxend MB/s (median)",
            "curl MB/s (median)",
            "aioxend / curl (median of pairs)",
            "min",
            "max",
            "load 1 min (before / after)",
        ],
    )
    rss_table = Table(
        "Client RSS during a large transfer",
        ["transfer", "MiB", "RSS before MiB", "RSS peak MiB", "growth MiB", "MB/s"],
    )
    argv_server = [sys.executable, __file__, "--serve", "--limit", str(args.big_upload + (1 << 30))]
    scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None  # as the emulator's store
    with ServerProcess(argv_server, 1) as server, tempfile.TemporaryDirectory(dir=scratch) as tmp:
        speed.header()
        asyncio.run(throughput(server.urls[0], args.size, args.runs, Path(tmp), speed))
        context = make_ca(Path(tmp))
        if context is None:
            speed.note("trustme is not installed: no row over TLS (pip install trustme)")
        else:
            with ServerProcess([*argv_server, "--tls", tmp], 1) as tls:
                run = throughput(tls.urls[0], args.size, args.runs, Path(tmp), speed, context)
                asyncio.run(run)
        rss_table.header()
        asyncio.run(memory(server.urls[0], args.big, args.big_upload, rss_table))
    write_markdown(
        args.markdown, [speed, rss_table], f"# bench_transfer\n\n{machine_description()}\n\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
