"""Scripted HTTP servers for the transport tests: real sockets, one thread per connection.

A ``Server`` listens on loopback TCP or a UNIX socket in a temp dir (optionally TLS) and
runs ``handler(peer)`` for each accepted connection in its own thread, so the servers
work the same whichever event loop (asyncio or trio) the client under test runs on.
Handlers script the server's side byte by byte: answer, stall, close early, send
garbage. ``Server.peers`` lets a test check what the client did with each connection
(how many were opened, whether the client closed the stalled one).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import anyio
import anyio.to_thread

Handler = Callable[["Peer"], None]


@dataclass
class Received:
    """One request as the server read it."""

    method: str
    target: str
    head: bytes
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Peer:
    """The server's end of one connection."""

    sock: socket.socket
    index: int
    server: Server
    buffer: bytes = b""
    requests: list[Received] = field(default_factory=list)
    closed_by_client: threading.Event = field(default_factory=threading.Event)
    drain: threading.Event = field(default_factory=threading.Event)
    tls: bool = False

    def handshake(self) -> bool:
        """Start TLS when the server has a context; False if the client gave up."""
        context = self.server.ssl_context
        if context is None:
            return True
        try:
            self.sock = context.wrap_socket(self.sock, server_side=True)
        except (OSError, ssl.SSLError):
            self.closed_by_client.set()
            return False
        self.tls = True
        return True

    def _recv(self) -> bytes:
        while not self.server.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                self.closed_by_client.set()
            return data
        return b""

    def read_request(self) -> Received | None:
        """The next request, or None when the client closed the connection."""
        while b"\r\n\r\n" not in self.buffer:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
        request = Received(method, target, head, [(k, v) for k, v in headers], b"")
        length = int(request.header("content-length") or 0)
        while len(self.buffer) < length:
            data = self._recv()
            if not data:
                return None
            self.buffer += data
        request.body, self.buffer = self.buffer[:length], self.buffer[length:]
        self.requests.append(request)
        return request

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
        except (OSError, ssl.SSLError):
            self.closed_by_client.set()
            return False
        return True

    def stall(self) -> None:
        """Read and drop whatever comes until the client closes or the server stops."""
        self.server.reached.set()
        while self._recv():
            pass

    def stall_without_reading(self) -> None:
        """Neither read nor write until the test asks whether the client closed (``drain``).

        Unread bytes hide the client's EOF, so from then on read them to find it.
        """
        self.server.reached.set()
        while not self.server.stopping.is_set():
            if self.drain.wait(0.02):
                self.stall()
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Server:
    """A threaded listener running ``handler`` per connection."""

    def __init__(
        self,
        handler: Handler,
        *,
        unix_path: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.handler = handler
        self.unix_path = unix_path
        self.ssl_context = ssl_context
        self.peers: list[Peer] = []
        self.stopping = threading.Event()
        self.reached = threading.Event()
        """Set by a stalling handler once it stalls, so a test cancels in the right phase."""
        if unix_path is not None:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(unix_path)
        else:
            self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.05)
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    def url(self, path: str = "/RPC2") -> str:
        if self.unix_path is not None:
            return f"httpu://{self.unix_path}"
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    @property
    def connections(self) -> int:
        return len(self.peers)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(0.05)
            peer = Peer(sock, len(self.peers), self)
            self.peers.append(peer)
            thread = threading.Thread(target=self._run, args=(peer,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, peer: Peer) -> None:
        try:
            self.handler(peer)
        finally:
            peer.close()

    async def wait_reached(self) -> None:
        """Wait (without blocking the event loop) until a handler has begun to stall."""
        assert await anyio.to_thread.run_sync(self.reached.wait, 10.0), "server never stalled"

    async def wait_client_closed(self, index: int) -> bool:
        """Whether the client closed connection ``index`` within 3 seconds.

        Waits in a worker thread, so the event loop can still do the closing.
        """
        self.peers[index].drain.set()
        closed = self.peers[index].closed_by_client
        return await anyio.to_thread.run_sync(closed.wait, 3.0)

    def settle(self) -> None:
        """Wait for every connection thread to finish (their sockets are then closed)."""
        for thread in list(self.threads):
            thread.join(5)

    def stop(self) -> None:
        self.stopping.set()
        self.acceptor.join(2)
        self.listener.close()
        for thread in self.threads:
            thread.join(2)


# Handlers -----------------------------------------------------------------------------


def response(
    body: bytes = b"ok",
    *,
    status: str = "200 OK",
    version: str = "HTTP/1.1",
    headers: tuple[tuple[str, str], ...] = (),
    length: bool = True,
) -> bytes:
    lines = [f"{version} {status}", *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def serve(answer: Callable[[Received], bytes] = lambda r: response(b"ok")) -> Handler:
    """Answer every request with ``answer(request)``; close when asked or at EOF."""

    def handler(peer: Peer) -> None:
        if not peer.handshake():
            return
        while (request := peer.read_request()) is not None:
            if not peer.send(answer(request)):
                return
            if (request.header("connection") or "").lower() == "close":
                return

    return handler


def echo_head(request: Received) -> bytes:
    """A body that is the request's head and body, for checking what the client sent."""
    return response(request.head + b"\r\n\r\n" + request.body)


def first_then(*first: Handler, rest: Handler) -> Handler:
    """``first[i]`` for connection number ``i``, ``rest`` for every later one."""

    def handler(peer: Peer) -> None:
        (first[peer.index] if peer.index < len(first) else rest)(peer)

    return handler


@contextlib.contextmanager
def running(
    handler: Handler, *, unix_path: str | None = None, ssl_context: ssl.SSLContext | None = None
) -> Iterator[Server]:
    server = Server(handler, unix_path=unix_path, ssl_context=ssl_context)
    try:
        yield server
    finally:
        server.stop()
