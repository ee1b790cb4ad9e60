"""A canned-answer XML-RPC server, so benchmarks measure the client and not the server.

Every answer is precomputed at start-up as complete HTTP/1.1 response bytes, one per
method name (``xend.domain.pause`` and ``unpause`` answer ``<nil/>``, ``xend.domains`` and
``xend.domains_with_state`` a list of N realistic domain records, ``xend.domain`` one
record, anything else xend's ``MESSAGE_METHOD_UNKNOWN`` struct). Serving a request is a
header scan, a ``bytes.find`` for the method name and one ``transport.write``, so a single
core answers far more calls than any Python client can make.

It runs in its own process (``CannedServer`` starts and stops it) so its CPU time is not
charged to the client being measured; ``CannedServer.cpu_seconds()`` reads the server's
CPU time from ``/proc`` so a benchmark can say which side limited a figure.

Run by hand::

    python benchmarks/canned_server.py --unix /tmp/x.sock --tcp 127.0.0.1:0 --domains 50

prints one URL per endpoint (``httpu:///tmp/x.sock``, ``http://127.0.0.1:PORT/``), then
serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import uuid
import xmlrpc.client
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

__all__ = ["CannedServer", "build_responses", "domain_record", "http_response", "main"]

_MAX_HEADER = 64 * 1024


def domain_record(index: int, rng: random.Random) -> list[object]:
    """One domain as ``xend.domains_with_state(True, ...)`` sends it (``to_sxp``'s shape)."""
    running = index == 0 or rng.random() < 0.8
    name = "Domain-0" if index == 0 else f"guest-{index:04d}"
    hvm = rng.random() < 0.3
    memory = 2048 if index == 0 else rng.choice([256, 512, 1024, 2048, 4096])
    vcpus = rng.choice([1, 2, 4])
    image: list[object]
    if hvm:
        image = [
            "image",
            [
                "hvm",
                ["kernel", "/usr/lib/xen/boot/hvmloader"],
                ["device_model", "/usr/lib/xen/bin/qemu-dm"],
                ["boot", "c"],
                ["acpi", 1],
                ["apic", 1],
                ["pae", 1],
                ["vnc", 1],
                ["vncunused", 1],
                ["vncdisplay", index],
                ["keymap", "en-us"],
                ["serial", "pty"],
                ["localtime", 0],
                ["usbdevice", "tablet"],
                ["notes", ["SUSPEND_CANCEL", 1]],
            ],
        ]
    else:
        image = [
            "image",
            [
                "linux",
                ["kernel", f"/var/lib/xen/vmlinuz.{index:05x}"],
                ["ramdisk", f"/var/lib/xen/initrd.{index:05x}"],
                ["args", "ro root=/dev/VolGroup00/LogVol00 rhgb quiet console=hvc0"],
                ["notes", ["HV_START_LOW", 18446603336221196288 % (1 << 31)], ["PAE_MODE", "yes"]],
            ],
        ]
    record: list[object] = ["domain"]
    if running:
        record.append(["domid", index])
    record += [
        ["cpu_weight", 256],
        ["cpu_cap", 0],
        ["uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))],
        ["vcpus", vcpus],
        ["cpus", [[] for _ in range(vcpus)]],
        ["name", name],
        ["on_poweroff", "destroy"],
        ["on_reboot", "restart"],
        ["on_crash", "restart"],
        ["bootloader", "" if hvm else "/usr/bin/pygrub"],
        ["bootloader_args", ""],
        ["description", f"benchmark guest number {index}"],
        ["pool_name", "Pool-0"],
        ["maxmem", memory],
        ["memory", memory],
        ["shadow_memory", 8 if hvm else 0],
        ["features", ""],
        ["on_xend_start", "ignore"],
        ["on_xend_stop", "ignore"],
        ["start_time", 1_700_000_000.0 + rng.random() * 1e6],
        ["cpu_time", rng.random() * 1e5],
        ["online_vcpus", vcpus],
        image,
        ["status", 2 if running else 0],
    ]
    if running:
        record.append(["state", rng.choice(["r-----", "-b----", "--p---"])])
        record += [["store_mfn", rng.randrange(1 << 20)], ["console_mfn", rng.randrange(1 << 20)]]
    for devid in range(2):
        record.append(
            [
                "device",
                [
                    "vbd",
                    ["uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))],
                    ["bootable", 1 if devid == 0 else 0],
                    ["devid", 51712 + devid * 16],
                    ["driver", "paravirtualised"],
                    ["dev", f"xvd{'ab'[devid]}:disk"],
                    ["uname", f"phy:/dev/vg0/{name}-disk{devid}"],
                    ["mode", "w"],
                    ["backend", 0],
                ],
            ]
        )
    record.append(
        [
            "device",
            [
                "vif",
                ["bridge", "xenbr0"],
                ["mac", f"00:16:3e:{index >> 8 & 255:02x}:{index & 255:02x}:01"],
                ["script", "/etc/xen/scripts/vif-bridge"],
                ["uuid", str(uuid.UUID(int=rng.getrandbits(128), version=4))],
                ["backend", 0],
            ],
        ]
    )
    record.append(
        ["device", ["console", ["protocol", "vt100"], ["location", "2"], ["uuid", "c0nsole"]]]
    )
    return record


def domain_records(count: int, seed: int = 0) -> list[list[object]]:
    """``count`` records (Domain-0 first), reproducible for a given seed."""
    rng = random.Random(seed)
    return [domain_record(i, rng) for i in range(count)]


def http_response(body: bytes, *, status: str = "200 OK") -> bytes:
    """Complete HTTP/1.1 response bytes as xend's XML-RPC server sends them."""
    head = (
        f"HTTP/1.1 {status}\r\n"
        "Server: BaseHTTP/0.3 Python/2.7\r\n"
        "Content-Type: text/xml\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


def _xml(value: object) -> bytes:
    params = cast("tuple[Any, ...]", (value,))
    return xmlrpc.client.dumps(params, methodresponse=True, allow_none=True).encode("utf-8")


def build_responses(domains: int, seed: int = 0) -> dict[bytes, bytes]:
    """Full HTTP response bytes per method name; key ``b""`` is the unknown-method answer."""
    records = domain_records(domains, seed)
    listing = http_response(_xml(records))
    return {
        b"xend.domain.pause": http_response(_xml(None)),
        b"xend.domain.unpause": http_response(_xml(None)),
        b"xend.domains": listing,
        b"xend.domains_with_state": listing,
        b"xend.domain": http_response(_xml(records[min(1, len(records) - 1)])),
        b"system.listMethods": http_response(_xml(sorted(k.decode() for k in _METHODS))),
        b"": http_response(
            _xml({"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", "?"]})
        ),
    }


_METHODS = (
    b"xend.domain.pause",
    b"xend.domain.unpause",
    b"xend.domains",
    b"xend.domains_with_state",
    b"xend.domain",
)

_NOT_POST = (
    b"HTTP/1.1 501 Unsupported method\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 22\r\nConnection: close\r\n\r\nonly POST is supported"
)


class _CannedProtocol(asyncio.Protocol):
    """Parses pipelined HTTP/1.1 POSTs and answers each with its precomputed bytes."""

    def __init__(self, responses: dict[bytes, bytes]) -> None:
        self._responses = responses
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        transport = self._transport
        assert transport is not None
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEADER:
                    transport.close()
                return
            head = bytes(self._buffer[:end]).lower()
            if not head.startswith(b"post "):
                transport.write(_NOT_POST)
                transport.close()
                return
            length = 0
            start = head.find(b"\r\ncontent-length:")
            if start >= 0:
                stop = head.find(b"\r\n", start + 2)
                length = int(head[start + 17 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            open_at = body.find(b"<methodName>")
            close_at = body.find(b"</methodName>")
            method = body[open_at + 12 : close_at].strip() if 0 <= open_at < close_at else b""
            transport.write(self._responses.get(method, self._responses[b""]))
            if b"\r\nconnection: close" in head:
                transport.close()
                return


async def _serve(unix: str | None, tcp: str | None, domains: int, seed: int) -> None:
    responses = build_responses(domains, seed)
    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []
    urls: list[str] = []
    if unix:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(unix)
        servers.append(await loop.create_unix_server(lambda: _CannedProtocol(responses), unix))
        urls.append(f"httpu://{unix}")
    if tcp:
        host, _, port = tcp.rpartition(":")
        server = await loop.create_server(
            lambda: _CannedProtocol(responses), host or "127.0.0.1", int(port)
        )
        servers.append(server)
        bound = server.sockets[0].getsockname()
        urls.append(f"http://{bound[0]}:{bound[1]}/")
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    for url in urls:
        print(url, flush=True)
    try:
        await stop.wait()
    finally:
        for server in servers:
            server.close()
        if unix:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(unix)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve canned answers until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unix", help="UNIX socket path to listen on")
    parser.add_argument("--tcp", help="HOST:PORT to listen on (port 0 picks one)")
    parser.add_argument("--domains", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not args.unix and not args.tcp:
        parser.error("give --unix and/or --tcp")
    asyncio.run(_serve(args.unix, args.tcp, args.domains, args.seed))
    return 0


def proc_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """A server in a child process that prints its URLs, one per line, when ready."""

    def __init__(self, argv: Sequence[str], expect_urls: int, *, ready_timeout: float = 60) -> None:
        self._argv = list(argv)
        self._expect = expect_urls
        self._ready_timeout = ready_timeout
        self._proc: subprocess.Popen[str] | None = None
        self.urls: list[str] = []

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self._proc is not None
        return self._proc.pid

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far."""
        return proc_cpu_seconds(self.pid)

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(
            self._argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        while len(self.urls) < self._expect:
            line = self._proc.stdout.readline()
            if not line:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                self._proc.wait()
                raise RuntimeError(f"server {self._argv!r} exited early: {err[-2000:]}")
            line = line.strip()
            if "://" in line:
                self.urls.append(line.split()[-1])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def url(self, scheme_prefix: str) -> str:
        """The first URL starting with ``scheme_prefix`` (``httpu`` or ``http:``)."""
        for url in self.urls:
            if url.startswith(scheme_prefix):
                return url
        raise LookupError(f"no {scheme_prefix} URL among {self.urls}")


class CannedServer(ServerProcess):
    """The canned server in a child process, on a UNIX socket and an ephemeral TCP port."""

    def __init__(self, socket_path: str, *, domains: int = 50, seed: int = 0) -> None:
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--unix",
            socket_path,
            "--tcp",
            "127.0.0.1:0",
            "--domains",
            str(domains),
            "--seed",
            str(seed),
        ]
        super().__init__(argv, expect_urls=2)


@contextlib.contextmanager
def canned_server(socket_path: str, *, domains: int = 50) -> Iterator[CannedServer]:
    """``CannedServer`` as a plain context manager."""
    with CannedServer(socket_path, domains=domains) as server:
        yield server


if __name__ == "__main__":
    sys.exit(main())
