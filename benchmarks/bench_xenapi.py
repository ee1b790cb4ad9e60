"""Xen-API client CPU and loop friendliness: ``aioxend.xenapi`` against the official SDK.

A canned Xen-API server (``--serve``, its own process, so the client process's CPU time is
the client's alone) answers both wires with precomputed bodies, written as xapi writes
them (XML-RPC compact with untyped strings; JSON-RPC with ints as numbers):
``VM.get_record`` one VM record with every field of the vendored datamodel, and
``VM.get_all_records`` N of them. Three figures, each a ratio measured in the same run:

1. client CPU per ``VM.get_record`` call at concurrency 16: aioxend (16 tasks, one
   client; XML-RPC and JSON-RPC; the typed method and the raw ``call()``) against the
   official ``XenAPI`` SDK (16 threads, one ``Session`` each; XML-RPC, the only wire it
   has). Target >= 3x.
2. client CPU per ``VM.get_all_records`` with 1,000 VMs: aioxend decoded and typed
   against the SDK's untyped decode. Target >= 2x.
3. a 1 ms ticker's worst lateness while a 20 MB ``VM.get_all_records`` answer is
   fetched and decoded (typed and raw), per wire. Target <= 50 ms.

Run: ``python benchmarks/bench_xenapi.py`` (``--quick`` for a short pass).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import signal
import sys
import threading
import time
import uuid
import xmlrpc.client
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import XenAPI  # type: ignore[import-untyped]
from _harness import Table, machine_description, now_utc, write_markdown
from canned_server import ServerProcess, http_response

from aioxend import xenapi
from aioxend.xenapi._generated._refs import VMRef

SESSION = "OpaqueRef:5d1c5a1e-0000-4000-8000-000000000001"
HOST = "OpaqueRef:5d1c5a1e-0000-4000-8000-0000000000aa"
VM_REF = "OpaqueRef:5d1c5a1e-0000-4000-8000-0000000000b0"
CONCURRENCY = 16
TICK = 0.001


# --- records and the canned server -------------------------------------------------------
@functools.cache  # read once: every record built asks for it
def _datamodel() -> list[dict[str, Any]]:
    path = Path(__file__).resolve().parent.parent / "aioxend" / "xenapi" / "data" / "xenapi.json"
    return list(json.loads(path.read_text()))


def _datamodel_fields(name: str) -> list[dict[str, Any]]:
    for cls in _datamodel():
        if cls["name"] == name:
            return list(cls["fields"])
    raise LookupError(name)


def _enum_values() -> dict[str, str]:
    """Each enum's first value, by its type string (``enum vm_power_state``)."""
    return {
        f"enum {enum['name']}": enum["values"][0]["name"]
        for cls in _datamodel()
        for enum in cls["enums"]
    }


_ENUMS = _enum_values()


def _value(kind: str, n: int, xml: bool) -> object:
    """A value of a datamodel type, as the wire carries it (XML-RPC ints as strings)."""
    if kind == "int":
        return str(1024 * n + 7) if xml else 1024 * n + 7
    if kind == "float":
        return 1.0
    if kind == "bool":
        return n % 2 == 0
    if kind == "datetime":
        return xmlrpc.client.DateTime("20240420T12:00:00Z") if xml else "20240420T12:00:00Z"
    if kind.endswith(" set"):
        return [_value(kind[:-4], n + i, xml) for i in range(2)]
    if kind.endswith(" map"):  # "(K -> V) map": keys and values of their types
        key, value = kind[1:-5].split(" -> ", 1)
        return {
            f"key{i}" if key == "string" else _value(key, n + i, xml): (
                f"value {n} {i}" if value == "string" else _value(value, n + i, xml)
            )
            for i in range(3)
        }
    if kind.endswith(" ref"):
        return f"OpaqueRef:{uuid.UUID(int=n * 7919 + len(kind))}"
    if kind.startswith("enum "):
        return _ENUMS[kind]
    return f"text of vm {n}"


def vm_record(n: int, xml: bool) -> dict[str, object]:
    """One VM record with every field of the datamodel."""
    record = {f["name"]: _value(f["type"], n, xml) for f in _datamodel_fields("VM")}
    record.update(uuid=str(uuid.UUID(int=n)), name_label=f"vm{n}", power_state="Running")
    return record


def all_records(count: int, xml: bool) -> dict[str, object]:
    return {f"OpaqueRef:{uuid.UUID(int=10**6 + n)}": vm_record(n, xml) for n in range(count)}


def _xapi_xml(value: object) -> str:
    """A value as xapi writes it (``to_string`` in its rpc library's ``xmlrpc.ml``):
    no whitespace, strings as untyped ``<value>text</value>``."""
    if isinstance(value, bool):
        return f"<value><boolean>{int(value)}</boolean></value>"
    if isinstance(value, str):
        return f"<value>{escape(value)}</value>"
    if isinstance(value, float):
        return f"<value><double>{value!r}</double></value>"
    if isinstance(value, xmlrpc.client.DateTime):
        return f"<value><dateTime.iso8601>{value.value}</dateTime.iso8601></value>"
    if isinstance(value, dict):
        members = "".join(
            f"<member><name>{escape(k)}</name>{_xapi_xml(v)}</member>" for k, v in value.items()
        )
        return f"<value><struct>{members}</struct></value>"
    if isinstance(value, list):
        return f"<value><array><data>{''.join(_xapi_xml(v) for v in value)}</data></array></value>"
    raise TypeError(f"no Xen-API XML-RPC form for {value!r}")


def _xml_answer(value: object) -> bytes:
    envelope = _xapi_xml({"Status": "Success", "Value": value})
    return f'<?xml version="1.0"?><methodResponse><params><param>{envelope}'.encode() + (
        b"</param></params></methodResponse>"
    )


def _json_answer(value: object) -> tuple[bytes, bytes]:
    """The answer split around its id: ``head + id + tail``."""
    text = json.dumps({"jsonrpc": "2.0", "result": value, "id": 0}).encode()
    cut = text.rindex(b"0}")
    return text[:cut], text[cut + 1 :]


def build_answers(count: int) -> tuple[dict[bytes, bytes], dict[bytes, tuple[bytes, bytes]]]:
    """Per method: complete XML-RPC HTTP responses, and JSON-RPC bodies split at the id."""
    values: dict[str, tuple[object, object]] = {
        "session.login_with_password": (SESSION, SESSION),
        "session.logout": ("", ""),
        "session.get_this_host": (HOST, HOST),
        "host.get_API_version_major": ("2", 2),
        "host.get_API_version_minor": ("21", 21),
        "VM.get_record": (vm_record(1, True), vm_record(1, False)),
        "VM.get_all_records": (all_records(count, True), all_records(count, False)),
    }
    xml = {name.encode(): http_response(_xml_answer(v[0])) for name, v in values.items()}
    jsn = {name.encode(): _json_answer(v[1]) for name, v in values.items()}
    return xml, jsn


class _Canned(asyncio.Protocol):
    """Answers each pipelined POST with its canned bytes (JSON-RPC: with the request's id)."""

    def __init__(self, answers: tuple[dict[bytes, bytes], dict[bytes, tuple[bytes, bytes]]]):
        self.xml, self.json = answers
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
            self.transport.write(self.answer(head, body))

    def answer(self, head: bytes, body: bytes) -> bytes:
        if head.startswith(b"post /jsonrpc"):
            message = json.loads(body)
            before, after = self.json[message["method"].encode()]
            text = before + str(message["id"]).encode() + after
            return (
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(text)}\r\n\r\n".encode()
                + text
            )
        start = body.find(b"<methodName>") + 12
        return self.xml[body[start : body.find(b"</methodName>")]]


async def _serve(count: int) -> None:
    answers = build_answers(count)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Canned(answers), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print(f"http://127.0.0.1:{port}/", flush=True)
    await stop.wait()


def canned(count: int) -> ServerProcess:
    """The canned server for ``count`` VMs, in a child process."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(count)]
    return ServerProcess(argv, expect_urls=1, ready_timeout=120)


# --- the measurements ---------------------------------------------------------------------
def cpu_per_call(run: Callable[[], int]) -> float:
    """Client CPU microseconds per call of ``run`` (which returns how many calls it made)."""
    gc.collect()
    start = time.process_time()
    calls = run()
    return (time.process_time() - start) / calls * 1e6


def sdk_get_record(url: str, per_thread: int) -> int:
    """16 threads, one SDK session each, ``per_thread`` ``VM.get_record`` calls each."""
    sessions = []
    for _ in range(CONCURRENCY):
        session = XenAPI.Session(url)
        session.xenapi.login_with_password("root", "xenroot", "1.0", "bench")
        sessions.append(session)

    def work(session: Any) -> None:
        for _ in range(per_thread):
            session.xenapi.VM.get_record(VM_REF)

    threads = [threading.Thread(target=work, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return CONCURRENCY * per_thread


def ours_get_record(url: str, protocol: str, typed: bool, per_task: int) -> float:
    """CPU µs per call of 16 tasks x ``per_task`` ``VM.get_record`` calls on one client."""

    async def main() -> float:
        async with xenapi.connect(url, protocol=protocol, password="x") as xapi:  # type: ignore[arg-type]

            async def work() -> None:
                for _ in range(per_task):
                    if typed:
                        await xapi.VM.get_record(VMRef(VM_REF))
                    else:
                        await xapi.call("VM.get_record", VM_REF, read=True)

            await work()  # warm-up: connections, first-call setup
            gc.collect()
            start = time.process_time()
            await asyncio.gather(*(work() for _ in range(CONCURRENCY)))
            return (time.process_time() - start) / (CONCURRENCY * per_task) * 1e6

    return asyncio.run(main())


def sdk_all_records(url: str, repeats: int) -> int:
    session = XenAPI.Session(url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "bench")
    for _ in range(repeats):
        session.xenapi.VM.get_all_records()
    return repeats


def ours_all_records(url: str, protocol: str, typed: bool, repeats: int) -> float:
    """CPU ms per ``VM.get_all_records`` call, ``repeats`` calls after a warm-up."""

    async def main() -> float:
        async with xenapi.connect(url, protocol=protocol, password="x") as xapi:  # type: ignore[arg-type]
            await xapi.call("VM.get_record", VM_REF)
            gc.collect()
            start = time.process_time()
            for _ in range(repeats):
                if typed:
                    await xapi.VM.get_all_records()
                else:
                    await xapi.call("VM.get_all_records", read=True)
            return (time.process_time() - start) / repeats * 1e3

    return asyncio.run(main())


async def worst_lateness(fetch: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(worst lateness s, fetch s) of a ``TICK`` ticker running while ``fetch`` runs."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    done = False

    async def ticker() -> None:
        nonlocal worst
        while not done:
            due = loop.time() + TICK
            await asyncio.sleep(TICK)
            worst = max(worst, loop.time() - due)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(TICK * 5)
    start = time.perf_counter()
    value = await fetch()  # kept until the ticker stops: freeing it is the caller's time
    elapsed = time.perf_counter() - start
    done = True
    await task
    del value
    return worst, elapsed


def stall(url: str, protocol: str, typed: bool, repeats: int) -> tuple[float, float]:
    async def main() -> tuple[float, float]:
        async with xenapi.connect(url, protocol=protocol, password="x") as xapi:  # type: ignore[arg-type]

            async def fetch() -> object:
                if typed:
                    return await xapi.VM.get_all_records()
                return await xapi.call("VM.get_all_records", read=True)

            await fetch()
            results = [await worst_lateness(fetch) for _ in range(repeats)]
        return max(r[0] for r in results), sum(r[1] for r in results) / repeats

    return asyncio.run(main())


def records_for(megabytes: float) -> int:
    sample = len(_xml_answer(all_records(20, True)))
    return max(1, int(megabytes * 1e6 / (sample / 20)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short pass")
    parser.add_argument("--markdown", help="write the tables to this Markdown file")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args.serve))
        return 0
    per = 60 if args.quick else 250
    repeats = 2 if args.quick else 5
    typed_rows = [False, True]
    print(f"bench_xenapi on {machine_description()}, {now_utc()}")
    tables: list[Table] = []

    with canned(1000) as server:
        url = server.urls[0]
        table = Table(
            f"bench_xenapi: client CPU per VM.get_record, concurrency {CONCURRENCY}, TCP",
            ["client", "CPU µs/call", "vs XenAPI SDK (threads)"],
        )
        table.header()
        tables.append(table)
        sdk = cpu_per_call(lambda: sdk_get_record(url, per))
        table.add("XenAPI SDK, 16 threads (XML-RPC)", sdk, "1.00x")
        for protocol in ("xmlrpc", "jsonrpc"):
            for typed in typed_rows:
                name = f"aioxend {protocol} {'typed VM.get_record' if typed else 'call()'}"
                ours = ours_get_record(url, protocol, typed, per)
                table.add(name, ours, f"{sdk / ours:.2f}x")

        table = Table(
            "bench_xenapi: client CPU per VM.get_all_records, 1,000 VMs, TCP",
            ["client", "CPU ms/call", "vs XenAPI SDK (untyped)"],
        )
        table.header()
        tables.append(table)
        sdk = cpu_per_call(lambda: sdk_all_records(url, repeats)) / 1e3
        table.add("XenAPI SDK (XML-RPC, untyped)", sdk, "1.00x")
        for protocol in ("xmlrpc", "jsonrpc"):
            for typed in typed_rows:
                name = f"aioxend {protocol} {'typed' if typed else 'call() untyped'}"
                ours = ours_all_records(url, protocol, typed, repeats)
                table.add(name, ours, f"{sdk / ours:.2f}x")

    count = records_for(20.0)
    with canned(count) as server:
        url = server.urls[0]
        table = Table(
            f"bench_xenapi: {TICK * 1e3:.0f} ms ticker while a 20 MB VM.get_all_records "
            f"({count} VMs) is fetched and decoded, TCP",
            ["client", "worst lateness ms", "fetch+decode s", "target <= 50 ms"],
        )
        table.header()
        tables.append(table)
        idle, _ = asyncio.run(worst_lateness(lambda: asyncio.sleep(2.0)))
        table.add("(idle ticker, no fetch: the machine's noise)", idle * 1e3, "-", "-")
        for protocol in ("xmlrpc", "jsonrpc"):
            for typed in typed_rows:
                worst, mean = stall(url, protocol, typed, 1 if args.quick else 3)
                name = f"aioxend {protocol} {'typed' if typed else 'call()'}"
                table.add(name, worst * 1e3, mean, "met" if worst <= 0.050 else "NOT met")
    write_markdown(args.markdown, tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
