"""Call rate, latency and client CPU per call: aioxend against the XML-RPC clients people use.

Operations: a ``pause``/``unpause`` pair (two small calls, counted as one pair),
``domain("vm1")`` (one record) and ``domains()`` returning 50 full domain records. Each
runs on a UNIX socket and on TCP, at concurrency 1, 16 and 128, for aioxend (its one
HTTP stack; typed methods, and ``call()`` doing what the competitors do), the
standard library's ``ServerProxy`` (a custom UNIX transport; one proxy per thread in a
thread pool for concurrency), aioxmlrpc (an injected ``httpx.AsyncClient`` for UNIX
sockets, with ``Content-Type: text/xml`` put back) and aiohttp-xmlrpc (an injected
``aiohttp.ClientSession``). Servers: the canned-answer server and the emulator, each in its
own process, so the client process's CPU time is the client's alone.

The figure the targets are set in is **calls per second of client CPU** (``1e6 / CPU µs
per call``); ratios are against ``ServerProxy`` in threads and against the best of the two
async libraries in the same scenario. Each run lasts a fixed wall time after a warm-up;
the "limit" column says whether the client or the server kept its core busy, or neither
(round-trip latency).

``--profile`` runs aioxend under cProfile on the canned server instead and prints where its
CPU time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import gc
import http.client
import io
import os
import pstats
import socket
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from _harness import Sample, Table, machine_description, now_utc, write_markdown
from canned_server import CannedServer, ServerProcess

DOMAINS = 50
OPS = ("pause_pair", "domain", "domains")
ASYNC_COMPETITORS = ("aioxmlrpc", "aiohttp-xmlrpc")

AsyncCall = Callable[[int], Awaitable[object]]

_failures: collections.Counter[str] = collections.Counter()
"""What the calls of the current run failed with, so a table can say, not just count."""


def _note_failure(exc: BaseException) -> None:
    _failures[f"{type(exc).__name__}: {exc}"[:160]] += 1


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens: ``kind`` is ``unix`` or ``tcp``."""

    kind: str
    url: str

    @property
    def path(self) -> str:
        """The UNIX socket path of an ``httpu://`` / ``unix://`` URL."""
        return self.url.split("://", 1)[1]

    @property
    def http_url(self) -> str:
        """An ``http://`` URL the competitors accept (host ignored on UNIX sockets)."""
        if self.kind == "unix":
            return "http://localhost/RPC2"
        return self.url.rstrip("/") + "/RPC2"


def _dom_for(worker: int) -> int:
    """The guest domain id a worker pauses: 1..49, never Domain-0."""
    return 1 + worker % (DOMAINS - 1)


# --- the standard library, in threads -------------------------------------------------------


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    """What a ServerProxy user writes to reach xend's UNIX socket (xm's own UnixTransport)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if self._connection and host == self._connection[0] and self._connection[1]:
            return self._connection[1]
        connection = _UnixHTTPConnection(self._path)
        self._connection = host, connection
        return connection


def _stdlib_proxy(endpoint: Endpoint) -> xmlrpc.client.ServerProxy:
    if endpoint.kind == "unix":
        return xmlrpc.client.ServerProxy(
            endpoint.http_url, transport=UnixTransport(endpoint.path), allow_none=True
        )
    return xmlrpc.client.ServerProxy(endpoint.http_url, allow_none=True)


def _stdlib_op(proxy: xmlrpc.client.ServerProxy, op: str, worker: int) -> object:
    if op == "pause_pair":
        dom = _dom_for(worker)
        proxy.xend.domain.pause(dom)
        return proxy.xend.domain.unpause(dom)
    if op == "domain":
        return proxy.xend.domain("vm1", True)
    return proxy.xend.domains_with_state(True, "all", False)


def run_stdlib(
    endpoint: Endpoint, op: str, concurrency: int, duration: float, server: ServerProcess
) -> Sample:
    """ServerProxy, one per thread, ``concurrency`` threads (the main thread alone for 1)."""
    proxies = [_stdlib_proxy(endpoint) for _ in range(concurrency)]
    for i, proxy in enumerate(proxies):  # warm-up: connect every proxy
        _stdlib_op(proxy, op, i)
    latencies: list[float] = []
    errors = [0]
    start = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def loop(i: int) -> None:
        proxy = proxies[i]
        if concurrency > 1:
            start.wait()
        while time.perf_counter() < deadline[0]:
            t0 = time.perf_counter()
            try:
                _stdlib_op(proxy, op, i)
            except (xmlrpc.client.Error, OSError, http.client.HTTPException) as exc:
                errors[0] += 1
                _note_failure(exc)
                continue
            latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(concurrency)]
    if concurrency > 1:
        for t in threads:
            t.start()
    gc.collect()
    cpu0, srv0, wall0 = time.process_time(), server.cpu_seconds(), time.perf_counter()
    deadline[0] = wall0 + duration
    if concurrency > 1:
        start.wait()
        for t in threads:
            t.join()
    else:
        loop(0)
    wall = time.perf_counter() - wall0
    sample = Sample(
        len(latencies),
        wall,
        time.process_time() - cpu0,
        server.cpu_seconds() - srv0,
        latencies,
        errors[0],
    )
    for proxy in proxies:
        proxy("close")()
    return sample


# --- async clients --------------------------------------------------------------------------


async def _measure_async(
    call: AsyncCall, concurrency: int, duration: float, server: ServerProcess
) -> Sample:
    await asyncio.gather(*(call(i) for i in range(concurrency)))  # warm-up: open connections
    latencies: list[float] = []
    errors = 0
    gc.collect()
    cpu0, srv0, wall0 = time.process_time(), server.cpu_seconds(), time.perf_counter()
    deadline = wall0 + duration

    async def worker(i: int) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                await call(i)
            except Exception as exc:
                errors += 1
                _note_failure(exc)
                continue
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    wall = time.perf_counter() - wall0
    return Sample(
        len(latencies),
        wall,
        time.process_time() - cpu0,
        server.cpu_seconds() - srv0,
        latencies,
        errors,
    )


@contextlib.asynccontextmanager
async def aioxend_call(
    endpoint: Endpoint, op: str, concurrency: int, *, typed: bool = True
) -> AsyncIterator[AsyncCall]:
    """The default aioxend client and the operation as one awaitable per call.

    ``typed`` uses the typed methods (``pause``, ``domains()`` giving ``DomainInfo``);
    otherwise ``client.call`` with the raw XML-RPC method, as the competitors do.
    """
    import aioxend

    async with aioxend.connect(
        endpoint.url,
        protocol="xmlrpc",
        max_connections=max(100, concurrency),
    ) as client:

        async def pause_pair(worker: int) -> object:
            dom = _dom_for(worker)
            if typed:
                await client.pause(dom)
                await client.unpause(dom)
            else:
                await client.call("xend.domain.pause", dom)
                await client.call("xend.domain.unpause", dom)
            return None

        async def domain(worker: int) -> object:
            if typed:
                return await client.domain("vm1")
            return await client.call("xend.domain", "vm1", True)

        async def domains(worker: int) -> object:
            if typed:
                return await client.domains()
            return await client.call("xend.domains_with_state", True, "all", False)

        yield {"pause_pair": pause_pair, "domain": domain, "domains": domains}[op]


class _FloorConnection(asyncio.BufferedProtocol):
    """One keep-alive HTTP/1.1 connection: a request out, Content-Length framed answer in.

    A ``BufferedProtocol`` reading into one buffer, as aioxend's own connections do for
    small answers: a plain ``Protocol`` gets each read as a fresh ``recv(256 KiB)``,
    which costs an mmap, an mremap and a munmap per answer and would not be a floor.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._read = memoryview(bytearray(65536))
        self._waiter: asyncio.Future[bytes] | None = None
        self._length = -1
        self._head = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._read

    def buffer_updated(self, nbytes: int) -> None:
        self._buffer += self._read[:nbytes]
        if self._length < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            start = head.index(b"content-length:") + 15
            stop = head.find(b"\r\n", start)
            self._length = int(head[start : stop if stop > 0 else len(head)])
            self._head = end + 4
        if len(self._buffer) >= self._head + self._length and self._waiter is not None:
            body = bytes(self._buffer[self._head : self._head + self._length])
            del self._buffer[: self._head + self._length]
            self._length = -1
            self._waiter.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed"))

    async def exchange(self, request: bytes) -> bytes:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter


@contextlib.asynccontextmanager
async def floor_call(endpoint: Endpoint, op: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    """The reference floor: a minimal asyncio-Protocol HTTP client with aioxend's codec.

    Not a usable client (no timeouts, no errors, no chunked bodies): it shows how little
    CPU a call needs when the HTTP layer is one Protocol object and the codec is called
    directly, so the gap between it and a real client is the cost of that client's layers.
    """
    from aioxend import xmlrpc as codec

    loop = asyncio.get_running_loop()
    idle: list[_FloorConnection] = []
    opened: list[_FloorConnection] = []
    host = "localhost" if endpoint.kind == "unix" else endpoint.url.split("://")[1].strip("/")

    async def connection() -> _FloorConnection:
        if idle:
            return idle.pop()
        if endpoint.kind == "unix":
            _, proto = await loop.create_unix_connection(_FloorConnection, endpoint.path)
        else:
            name, port = host.rsplit(":", 1)
            _, proto = await loop.create_connection(_FloorConnection, name, int(port))
        opened.append(proto)
        return proto

    async def rpc(method: str, *params: object) -> object:
        body = codec.dumps(params, method)
        head = (
            f"POST /RPC2 HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn = await connection()
        answer = await conn.exchange(head + body)
        idle.append(conn)
        return codec.loads(answer)[0][0]

    async def pause_pair(worker: int) -> object:
        dom = _dom_for(worker)
        await rpc("xend.domain.pause", dom)
        return await rpc("xend.domain.unpause", dom)

    async def domain(worker: int) -> object:
        return await rpc("xend.domain", "vm1", True)

    async def domains(worker: int) -> object:
        return await rpc("xend.domains_with_state", True, "all", False)

    try:
        yield {"pause_pair": pause_pair, "domain": domain, "domains": domains}[op]
    finally:
        for conn in opened:
            if conn.transport is not None:
                conn.transport.close()


@contextlib.asynccontextmanager
async def aioxmlrpc_call(endpoint: Endpoint, op: str, concurrency: int) -> AsyncIterator[AsyncCall]:
    """aioxmlrpc with an injected httpx client, as its users must do for UNIX sockets."""
    import httpx
    from aioxmlrpc.client import ServerProxy

    limits = httpx.Limits(max_connections=max(100, concurrency), max_keepalive_connections=None)
    transport = httpx.AsyncHTTPTransport(
        uds=endpoint.path if endpoint.kind == "unix" else None, limits=limits
    )
    headers = {"Content-Type": "text/xml", "Accept": "text/xml", "User-Agent": "aioxmlrpc"}
    async with httpx.AsyncClient(transport=transport, headers=headers, timeout=60) as session:
        proxy = ServerProxy(endpoint.http_url, allow_none=True, session=session, timeout=60)

        async def pause_pair(worker: int) -> object:
            dom = _dom_for(worker)
            await proxy.xend.domain.pause(dom)
            return await proxy.xend.domain.unpause(dom)

        async def domain(worker: int) -> object:
            return await proxy.xend.domain("vm1", True)

        async def domains(worker: int) -> object:
            return await proxy.xend.domains_with_state(True, "all", False)

        yield {"pause_pair": pause_pair, "domain": domain, "domains": domains}[op]


@contextlib.asynccontextmanager
async def aiohttp_xmlrpc_call(
    endpoint: Endpoint, op: str, concurrency: int
) -> AsyncIterator[AsyncCall]:
    """aiohttp-xmlrpc with an injected aiohttp session (a UnixConnector for UNIX sockets)."""
    import aiohttp
    from aiohttp_xmlrpc.client import ServerProxy

    limit = max(100, concurrency)
    connector: aiohttp.BaseConnector
    if endpoint.kind == "unix":
        connector = aiohttp.UnixConnector(endpoint.path, limit=limit)
    else:
        connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:
        proxy = ServerProxy(endpoint.http_url, client=session)

        async def pause_pair(worker: int) -> object:
            dom = _dom_for(worker)
            await proxy.xend.domain.pause(dom)
            return await proxy.xend.domain.unpause(dom)

        async def domain(worker: int) -> object:
            return await proxy.xend.domain("vm1", True)

        async def domains(worker: int) -> object:
            return await proxy.xend.domains_with_state(True, "all", False)

        yield {"pause_pair": pause_pair, "domain": domain, "domains": domains}[op]


def _client_cm(
    client: str, endpoint: Endpoint, op: str, concurrency: int
) -> contextlib.AbstractAsyncContextManager[AsyncCall]:
    if client == "aioxend":
        return aioxend_call(endpoint, op, concurrency)
    if client == "aioxend call()":
        return aioxend_call(endpoint, op, concurrency, typed=False)
    if client == "floor (Protocol+codec)":
        return floor_call(endpoint, op, concurrency)
    if client == "aioxmlrpc":
        return aioxmlrpc_call(endpoint, op, concurrency)
    if client == "aiohttp-xmlrpc":
        return aiohttp_xmlrpc_call(endpoint, op, concurrency)
    raise ValueError(client)


def run_async(
    client: str,
    endpoint: Endpoint,
    op: str,
    concurrency: int,
    duration: float,
    server: ServerProcess,
) -> Sample:
    """One async client on a fresh event loop."""

    async def main() -> Sample:
        async with _client_cm(client, endpoint, op, concurrency) as call:
            return await _measure_async(call, concurrency, duration, server)

    return asyncio.run(main())


CLIENTS = (
    "aioxend",
    "aioxend call()",
    "ServerProxy+threads",
    *ASYNC_COMPETITORS,
    "floor (Protocol+codec)",
)


def run_one(
    client: str,
    endpoint: Endpoint,
    op: str,
    concurrency: int,
    duration: float,
    server: ServerProcess,
) -> Sample:
    """One client in one scenario."""
    if client == "ServerProxy+threads":
        return run_stdlib(endpoint, op, concurrency, duration, server)
    return run_async(client, endpoint, op, concurrency, duration, server)


# --- servers --------------------------------------------------------------------------------


@contextlib.contextmanager
def servers(tmp: str, which: Sequence[str]) -> Iterator[list[tuple[str, ServerProcess]]]:
    """The canned server and the emulator, each in its own process."""
    with contextlib.ExitStack() as stack:
        started: list[tuple[str, ServerProcess]] = []
        if "canned" in which:
            canned = stack.enter_context(
                CannedServer(os.path.join(tmp, "canned.sock"), domains=DOMAINS)
            )
            started.append(("canned", canned))
        if "emulator" in which:
            argv = [
                sys.executable,
                "-m",
                "aioxend.emulator",
                "--xmlrpc-unix",
                os.path.join(tmp, "emu.sock"),
                "--xmlrpc-tcp",
                "127.0.0.1:0",
                "--domains",
                str(DOMAINS - 1),
                "--seed",
                "0",
            ]
            try:
                emulator = stack.enter_context(ServerProcess(argv, expect_urls=2))
            except (RuntimeError, OSError) as exc:
                print(f"emulator unavailable, skipped: {exc}", file=sys.stderr)
            else:
                started.append(("emulator", emulator))
        yield started


def endpoints(server: ServerProcess) -> list[Endpoint]:
    """The UNIX and TCP endpoints of a server."""
    found = []
    for url in server.urls:
        kind = "tcp" if url.startswith(("http://", "https://")) else "unix"
        found.append(Endpoint(kind, url))
    return sorted(found, key=lambda e: e.kind != "unix")


# --- main -----------------------------------------------------------------------------------


def _ratio(ours: Sample | None, theirs: Sample | None) -> str:
    if ours is None or theirs is None or not ours.calls or not theirs.calls:
        return "-"
    return f"{ours.per_cpu_second / theirs.per_cpu_second:.2f}x"


def benchmark(
    which_servers: Sequence[str],
    ops: Sequence[str],
    concurrencies: Sequence[int],
    clients: Sequence[str],
    duration: float,
) -> list[Table]:
    """Every scenario; one table per (server, op)."""
    tables: list[Table] = []
    with tempfile.TemporaryDirectory() as tmp, servers(tmp, which_servers) as started:
        for server_name, server in started:
            for op in ops:
                table = Table(
                    f"bench_calls: {op} against the {server_name} server"
                    + (f" ({DOMAINS} domains)" if op == "domains" else ""),
                    [
                        "socket",
                        "conc.",
                        "client",
                        "calls/s",
                        "p50 ms",
                        "p99 ms",
                        "CPU µs/call",
                        "calls/CPU-s",
                        "vs ServerProxy",
                        "vs best async",
                        "errors",
                        "limited by",
                    ],
                )
                table.header()
                tables.append(table)
                for endpoint in endpoints(server):
                    for concurrency in concurrencies:
                        samples: dict[str, Sample | None] = {}
                        for client in clients:
                            _failures.clear()
                            try:
                                samples[client] = run_one(
                                    client, endpoint, op, concurrency, duration, server
                                )
                                for what, count in _failures.most_common(3):
                                    table.note(
                                        f"{endpoint.kind} c={concurrency} {client}: "
                                        f"{count} calls failed with {what}"
                                    )
                            except Exception as exc:
                                samples[client] = None
                                table.note(
                                    f"{endpoint.kind} c={concurrency} {client}: failed: "
                                    f"{type(exc).__name__}: {exc}"
                                )
                        stdlib = samples.get("ServerProxy+threads")
                        best_async = max(
                            (s for c in ASYNC_COMPETITORS if (s := samples.get(c)) and s.calls),
                            key=lambda s: s.per_cpu_second,
                            default=None,
                        )
                        for client in clients:
                            s = samples.get(client)
                            if s is None:
                                continue
                            table.add(
                                endpoint.kind,
                                concurrency,
                                client,
                                s.rate,
                                s.p50_ms,
                                s.p99_ms,
                                s.cpu_us,
                                s.per_cpu_second,
                                _ratio(s, stdlib),
                                _ratio(s, best_async),
                                s.errors,
                                s.limit,
                            )
                table.note(
                    "calls/CPU-s = calls per second of client CPU (the target's unit); ratios "
                    "are of calls/CPU-s. A pause_pair is two calls counted once."
                )
                table.note(
                    "'limited by' reads CPU time over wall time of each process: on a shared "
                    "machine 'latency' also covers CPU taken by other processes, which is why "
                    "the CPU-per-call columns, not calls/s, carry the comparison."
                )
    return tables


def profile(op: str, concurrency: int, duration: float, top: int) -> None:
    """Run aioxend under cProfile against the canned server and print the hot spots."""
    with tempfile.TemporaryDirectory() as tmp, servers(tmp, ["canned"]) as started:
        _, server = started[0]
        endpoint = endpoints(server)[0]
        profiler = cProfile.Profile()

        async def main() -> Sample:
            async with aioxend_call(endpoint, op, concurrency) as call:
                await call(0)
                profiler.enable()
                try:
                    return await _measure_async(call, concurrency, duration, server)
                finally:
                    profiler.disable()

        sample = asyncio.run(main())
        print(
            f"aioxend {op} c={concurrency}: {sample.calls} calls, "
            f"{sample.cpu_us:.0f} µs CPU/call (profiled, so slower than unprofiled)"
        )
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
            print(out.getvalue())


# A fresh process: the clock starts after the imports, stops at the first result.
_STARTUP_AIOXEND = """
import time, asyncio
from aioxend import connect  # the client's modules, which aioxend loads on first use
url = {url!r}
t0, c0 = time.perf_counter(), time.process_time()
async def main():
    async with connect(url, protocol="xmlrpc") as client:
        return await client.domain("vm1")
asyncio.run(main())
print((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3)
"""
_STARTUP_STDLIB = """
import time, sys, xmlrpc.client
sys.path.insert(0, {here!r})
from bench_calls import Endpoint, _stdlib_proxy
endpoint = Endpoint({kind!r}, {url!r})
t0, c0 = time.perf_counter(), time.process_time()
_stdlib_proxy(endpoint).xend.domain("vm1", True)
print((time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3)
"""


def startup(runs: int) -> list[Table]:
    """Fresh process, imports done, to the first ``domain("vm1")``: aioxend vs ServerProxy.

    aioxend's figure includes ``asyncio.run`` (the event loop) and the client's set-up;
    the standard library's is its connect and first call. Runs alternate, medians kept;
    wall time and the process's CPU time (which a loaded machine disturbs less).
    """
    import statistics
    import subprocess

    here = os.path.dirname(os.path.abspath(__file__))
    table = Table(
        "bench_calls: fresh process, from after the imports to the first domain('vm1')",
        [
            "socket",
            "aioxend wall ms",
            "ServerProxy wall ms",
            "difference",
            "aioxend CPU ms",
            "ServerProxy CPU ms",
            "difference",
            "runs",
        ],
    )
    table.header()
    with tempfile.TemporaryDirectory() as tmp, servers(tmp, ["canned"]) as started:
        for endpoint in endpoints(started[0][1]):
            ours: list[tuple[float, float]] = []
            theirs: list[tuple[float, float]] = []
            for _ in range(runs):
                for code, into in (
                    (_STARTUP_AIOXEND.format(url=endpoint.url), ours),
                    (
                        _STARTUP_STDLIB.format(here=here, kind=endpoint.kind, url=endpoint.url),
                        theirs,
                    ),
                ):
                    done = subprocess.run(
                        [sys.executable, "-c", code], capture_output=True, text=True, check=True
                    )
                    wall, cpu = done.stdout.strip().splitlines()[-1].split()
                    into.append((float(wall), float(cpu)))
            aw, bw = (statistics.median(w for w, _ in runs_) for runs_ in (ours, theirs))
            ac, bc = (statistics.median(c for _, c in runs_) for runs_ in (ours, theirs))
            table.add(endpoint.kind, aw, bw, aw - bw, ac, bc, ac - bc, runs)
    table.note("Target: aioxend within 3 ms of the standard library's connect + first call.")
    return [table]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; ``--quick`` for a short pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs, fewer scenarios")
    parser.add_argument("--markdown", help="write the tables to this Markdown file")
    parser.add_argument("--duration", type=float, help="seconds per run")
    parser.add_argument("--servers", default="canned,emulator")
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--concurrency", default="1,16,128")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--profile", metavar="OP", help="profile aioxend on OP instead")
    parser.add_argument(
        "--startup", type=int, metavar="RUNS", help="time a fresh process's first call instead"
    )
    args = parser.parse_args(argv)
    duration = args.duration or (0.4 if args.quick else 2.0)
    if args.profile:
        concurrency = int(args.concurrency.split(",")[-1]) if "," not in args.concurrency else 16
        profile(args.profile, concurrency, duration, 30)
        return 0
    if args.startup:
        write_markdown(args.markdown, startup(args.startup))
        return 0
    print(f"bench_calls on {machine_description()}, {now_utc()}, {duration:.1f} s per run")
    tables = benchmark(
        args.servers.split(","),
        args.ops.split(","),
        [int(c) for c in args.concurrency.split(",")],
        args.clients.split(","),
        duration,
    )
    write_markdown(args.markdown, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
