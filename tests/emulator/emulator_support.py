"""Clients we did not write, pointed at the emulator: stdlib ServerProxy and http.client."""

from __future__ import annotations

import http.client
import socket
import urllib.parse
import xmlrpc.client
from dataclasses import dataclass
from typing import Any


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a UNIX socket (as xend's own ``UnixTransport`` did)."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class UnixTransport(xmlrpc.client.Transport):
    """The small custom Transport a stdlib user writes for ``httpu://`` URLs."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.unix_path = path

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return UnixHTTPConnection(self.unix_path)


def unix_proxy(path: str) -> xmlrpc.client.ServerProxy:
    """A ServerProxy on xend's UNIX socket (``httpu:///path``)."""
    return xmlrpc.client.ServerProxy(
        "http://localhost/RPC2", transport=UnixTransport(path), allow_none=True
    )


def tcp_proxy(url: str) -> xmlrpc.client.ServerProxy:
    """A ServerProxy on a TCP listener."""
    return xmlrpc.client.ServerProxy(url, allow_none=True)


def fault_of(call: Any, *args: Any) -> tuple[int, Any]:
    """Call and return the fault's (code, string); fail if there was none."""
    try:
        result = call(*args)
    except xmlrpc.client.Fault as fault:
        return fault.faultCode, fault.faultString
    raise AssertionError(f"expected a fault, got {result!r}")


@dataclass
class Reply:
    """One HTTP response as http.client saw it."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class SxpClient:
    """Raw http.client requests to a legacy SXP/HTTP listener (UNIX path or TCP port)."""

    def __init__(self, *, path: str | None = None, port: int | None = None) -> None:
        self.path = path
        self.port = port

    def connection(self) -> http.client.HTTPConnection:
        if self.path is not None:
            return UnixHTTPConnection(self.path)
        assert self.port is not None
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(
        self,
        method: str,
        url: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        conn = self.connection()
        try:
            hdrs = dict(headers or {})
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
            conn.request(method, url, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Reply(resp.status, resp.reason, resp.getheaders(), data)
        finally:
            conn.close()

    def get(self, url: str, **kw: Any) -> Reply:
        return self.request("GET", url, **kw)

    def post(self, url: str, **form: str) -> Reply:
        return self.request("POST", url, form=form)


def raw_exchange(
    *, path: str | None = None, port: int | None = None, data: bytes, timeout: float = 5.0
) -> bytes:
    """Send raw bytes, return everything received until the server closes."""
    if path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(path)
    else:
        assert port is not None
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def port_of(url: str) -> int:
    port = urllib.parse.urlsplit(url).port
    assert port is not None
    return port
