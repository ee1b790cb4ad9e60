"""The object cache: CPU per event and memory, 10,000 VMs at 1,000 events/s.

A canned Xen-API server (``--serve N``, its own process, so the client process's CPU time
is the client's alone) holds ``N`` VMs with every field of the datamodel (the records of
``bench_xenapi.py``) and answers ``event.from`` with batches of ``BATCH`` ``mod`` events
paced at ``RATE`` events/s, each snapshot a full VM record whose ``name_description``
changed, with ``valid_ref_counts``; ``VM.get_all_records`` and ``VM.get_record`` answer
as xapi would. Figures, all measured in the same run:

1. client CPU per event while ``xapi.cache(["VM"])`` follows the stream (JSON-RPC and
   XML-RPC), against what staying as current costs without it: the official ``XenAPI``
   SDK fetching the changed record per event (``VM.get_record``, as a client of
   ``event.next``, which has no snapshots, must), and the SDK polling
   ``VM.get_all_records`` once a second (its CPU per second divided by the events that
   second brings);
2. memory: bytes the cache's records hold (``tracemalloc``, after a collection) against
   the SDK's ``get_all_records`` dict of the same VMs, and the process's RSS growth
   while the cache follows the stream.

Run: ``python benchmarks/bench_cache.py`` (``--quick`` for a short pass).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import XenAPI  # type: ignore[import-untyped]
from _harness import Table, machine_description, now_utc, write_markdown
from bench_xenapi import _xapi_xml, _xml_answer, vm_record
from canned_server import ServerProcess, http_response

from aioxend import XendError, xenapi

VMS = 10_000
RATE = 1_000
BATCH = 50
EVENT_VMS = 2_000  # the VMs the events change (their records are prepared at start)
SESSION = "OpaqueRef:5d1c5a1e-0000-4000-8000-000000000001"
HOST = "OpaqueRef:5d1c5a1e-0000-4000-8000-0000000000aa"
POOL = "OpaqueRef:5d1c5a1e-0000-4000-8000-0000000000bb"
MARK = "\x00"  # where an event's changing field goes in a prepared record


def vm_ref(n: int) -> str:
    return f"OpaqueRef:00000000-0000-0000-0000-{n:012d}"


# --- the canned server --------------------------------------------------------------------
def _json_body(value: object, ident: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "result": value, "id": ident}).encode()


class _Answers:
    """Precomputed answers, and the event batches made on demand from prepared records."""

    def __init__(self, count: int) -> None:
        records = {vm_ref(n): vm_record(n, True) for n in range(count)}
        numbers = {vm_ref(n): vm_record(n, False) for n in range(count)}
        static: dict[str, tuple[object, object]] = {
            "session.login_with_password": (SESSION, SESSION),
            "session.logout": ("", ""),
            "session.get_this_host": (HOST, HOST),
            "host.get_API_version_major": ("2", 2),
            "host.get_API_version_minor": ("21", 21),
            "pool.get_all": ([POOL], [POOL]),
            "event.inject": (self.token(0), self.token(0)),
            "VM.get_record": (records[vm_ref(1)], numbers[vm_ref(1)]),
            "VM.get_all_records": (records, numbers),
        }
        self.xml = {k: http_response(_xml_answer(v[0])) for k, v in static.items()}
        self.json = {k: v[1] for k, v in static.items()}
        self.count = count
        self.generation = 0
        self.due = 0.0
        # each event's text split around its snapshot's name_description
        self.xml_events = [self._event_xml(n, records) for n in range(min(count, EVENT_VMS))]
        self.json_events = [self._event_json(n, numbers) for n in range(min(count, EVENT_VMS))]

    @staticmethod
    def token(generation: int) -> str:
        return f"{generation:020d},{0:020d}"

    def _event(self, n: int, record: dict[str, object]) -> dict[str, object]:
        snapshot = {**record, "name_description": MARK}
        event = {"id": "0", "timestamp": "0.0", "class": "vm", "operation": "mod"}
        return {**event, "ref": vm_ref(n), "snapshot": snapshot}

    def _event_xml(self, n: int, records: dict[str, dict[str, object]]) -> tuple[str, str]:
        before, after = _xapi_xml(self._event(n, records[vm_ref(n)])).split(MARK)
        return before, after

    def _event_json(self, n: int, records: dict[str, dict[str, object]]) -> tuple[str, str]:
        before, after = json.dumps(self._event(n, records[vm_ref(n)])).split("\\u0000")
        return before, after

    def batch(self, xml: bool, ident: int) -> bytes:
        """The next batch of ``BATCH`` events, each a new ``name_description``."""
        self.generation += 1
        events = self.xml_events if xml else self.json_events
        first = self.generation * BATCH
        texts = []
        for i in range(first, first + BATCH):
            before, after = events[i % len(events)]
            texts.append(f"{before}change {i}{after}")
        token = self.token(self.generation)
        if xml:
            counts = f"<member><name>vm</name><value><int>{self.count}</int></value></member>"
            value = (
                f"<value><struct><member><name>token</name><value>{token}</value></member>"
                f"<member><name>valid_ref_counts</name><value><struct>{counts}</struct>"
                f"</value></member><member><name>events</name><value><array><data>"
                f"{''.join(texts)}</data></array></value></member></struct></value>"
            )
            body = (
                '<?xml version="1.0"?><methodResponse><params><param><value><struct>'
                "<member><name>Status</name><value>Success</value></member>"
                f"<member><name>Value</name>{value}</member></struct></value>"
                "</param></params></methodResponse>"
            )
            return http_response(body.encode())
        result = (
            f'{{"token": "{token}", "valid_ref_counts": {{"vm": {self.count}}}, '
            f'"events": [{", ".join(texts)}]}}'
        )
        return _json_http(f'{{"jsonrpc": "2.0", "result": {result}, "id": {ident}}}'.encode())


def _json_http(body: bytes) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


class _Server(asyncio.Protocol):
    """Answers each request; ``event.from`` once its batch is due (``RATE`` events/s)."""

    def __init__(self, answers: _Answers) -> None:
        self.answers = answers
        self.buffer = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self.answer(head.startswith(b"post /jsonrpc"), body)

    def answer(self, json_rpc: bool, body: bytes) -> None:
        if json_rpc:
            message = json.loads(body)
            method, ident = message["method"], message["id"]
        else:
            start = body.find(b"<methodName>") + 12
            method, ident = body[start : body.find(b"</methodName>")].decode(), 0
        if method != "event.from":
            if json_rpc:
                self.transport.write(_json_http(_json_body(self.answers.json[method], ident)))
            else:
                self.transport.write(self.answers.xml[method])
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        # one batch per BATCH / RATE seconds on a fixed schedule: a late client catches up
        due = self.answers.due = max(self.answers.due + BATCH / RATE, now - 2 * BATCH / RATE)
        loop.call_at(max(due, now), self.send_batch, not json_rpc, ident)

    def send_batch(self, xml: bool, ident: int) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.answers.batch(xml, ident))


async def _serve(count: int) -> None:
    answers = _Answers(count)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Server(answers), "127.0.0.1", 0)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/", flush=True)
    await stop.wait()


def canned(count: int) -> ServerProcess:
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(count)]
    return ServerProcess(argv, expect_urls=1, ready_timeout=300)


# --- the measurements ---------------------------------------------------------------------
def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cache_run(url: str, protocol: str, seconds: float, count: int) -> dict[str, float]:
    """Follow the stream for ``seconds``: CPU µs per event, events/s, RSS growth."""

    async def main() -> dict[str, float]:
        async with xenapi.connect(url, protocol=protocol, password="x") as xapi:  # type: ignore[arg-type]
            start = time.process_time()
            cache = await xapi.cache(["VM"])
            seed = time.process_time() - start
            async with cache:
                assert len(cache.VM) == count
                seen = 0
                async with asyncio.timeout(seconds * 3 + 30):
                    async for _ in cache.changes():  # warm-up: the first batch
                        break
                gc.collect()
                rss, cpu, wall = rss_bytes(), time.process_time(), time.perf_counter()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(seconds):
                        async for _ in cache.changes():
                            seen += 1
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                return {
                    "seed_s": seed,
                    "cpu_us": cpu / seen * 1e6,
                    "rate": seen / wall,
                    "rss_mb": (rss_bytes() - rss) / 2**20,
                    "resyncs": cache.resyncs,
                }

    return asyncio.run(main())


def sdk_refetch(url: str, calls: int) -> float:
    """CPU µs per ``VM.get_record`` of the official SDK (one fetch per event)."""
    session = XenAPI.Session(url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "bench")
    ref = vm_ref(1)
    session.xenapi.VM.get_record(ref)
    gc.collect()
    start = time.process_time()
    for _ in range(calls):
        session.xenapi.VM.get_record(ref)
    return (time.process_time() - start) / calls * 1e6


def sdk_poll(url: str, repeats: int, count: int) -> float:
    """CPU seconds per ``VM.get_all_records`` of all the VMs with the official SDK."""
    session = XenAPI.Session(url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "bench")
    gc.collect()
    start = time.process_time()
    for _ in range(repeats):
        records = session.xenapi.VM.get_all_records()
        assert len(records) == count
        del records
    return (time.process_time() - start) / repeats


def held_bytes_cache(url: str) -> float:
    """MB the cache's typed records hold (tracemalloc, after a collection)."""

    async def main() -> float:
        async with xenapi.connect(url, password="x") as xapi:
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            cache = await xapi.cache(["VM"])
            async with cache:
                gc.collect()
                held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            return held / 2**20

    return asyncio.run(main())


def held_bytes_sdk(url: str) -> float:
    """MB the SDK's ``get_all_records`` answer (a dict per VM) holds."""
    session = XenAPI.Session(url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "bench")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    records = session.xenapi.VM.get_all_records()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert records
    return held / 2**20


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short pass")
    parser.add_argument("--markdown", help="write the tables to this Markdown file")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--vms", type=int, default=VMS, help=f"VMs in the pool ({VMS:,})")
    args = parser.parse_args(argv)
    if args.serve is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args.serve))
        return 0
    seconds = 5.0 if args.quick else 20.0
    count = args.vms
    print(f"bench_cache on {machine_description()}, {now_utc()}")
    tables: list[Table] = []
    with canned(count) as server:
        url = server.urls[0]
        table = Table(
            f"bench_cache: client CPU per event, {count:,} VMs, {RATE:,} events/s "
            f"(batches of {BATCH}), TCP",
            ["client", "CPU µs/event", "events/s seen", "vs SDK get_record per event"],
        )
        table.header()
        tables.append(table)
        refetch = sdk_refetch(url, 100 if args.quick else 400)
        table.add("XenAPI SDK: VM.get_record per event (XML-RPC)", refetch, "-", "1.00x")
        poll = sdk_poll(url, 1 if args.quick else 2, count)
        table.add(
            "XenAPI SDK: VM.get_all_records once a second (XML-RPC)",
            poll / RATE * 1e6,
            "-",
            f"{refetch / (poll / RATE * 1e6):.2f}x",
        )
        runs: dict[str, dict[str, float]] = {}
        for protocol in ("jsonrpc", "xmlrpc"):
            try:
                runs[protocol] = cache_run(url, protocol, seconds, count)
            except XendError as exc:  # the seeding answer is past a limit of the client's
                table.note(f"aioxend cache ({protocol}): not measured: {exc}")
        for protocol, run in runs.items():
            table.add(
                f"aioxend cache ({protocol})",
                run["cpu_us"],
                run["rate"],
                f"{refetch / run['cpu_us']:.2f}x",
            )
        for protocol, run in runs.items():
            table.note(
                f"{protocol}: seeding (event.inject + typed get_all_records of {count:,}) "
                f"{run['seed_s']:.2f} s CPU; RSS grew {run['rss_mb']:.1f} MB while following "
                f"for {seconds:.0f} s; {run['resyncs']:.0f} resyncs"
            )
        table.note(
            f"SDK poll: {poll:.2f} s CPU per get_all_records of {count:,} VMs, so a 1 Hz "
            f"poll alone needs {poll:.2f} cores; the cache at {RATE:,} events/s needs "
            + ", ".join(f"{r['cpu_us'] * RATE / 1e6:.2f} ({p})" for p, r in runs.items())
        )

        table = Table(
            f"bench_cache: memory held by {count:,} VM records (tracemalloc)",
            ["holder", "MB", "vs SDK dicts"],
        )
        table.header()
        tables.append(table)
        sdk_mb = held_bytes_sdk(url)
        table.add("XenAPI SDK get_all_records (dicts of strings)", sdk_mb, "1.00x")
        ours_mb = held_bytes_cache(url)
        table.add(
            "aioxend cache (typed VMRecords + uuid index)", ours_mb, f"{sdk_mb / ours_mb:.2f}x"
        )
    write_markdown(args.markdown, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
