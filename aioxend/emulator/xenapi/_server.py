"""``XenAPIServer``: an emulated pool served over TCP and/or a UNIX socket.

The master answers on the listeners given (``tcp="HOST:PORT"``, ``unix=PATH``); each
pool member gets its own TCP listener on the next loopback address with the master's
port (``127.0.0.2:PORT``, ``127.0.0.3:PORT``...; a free port there if that one is
taken), so a client told ``HOST_IS_SLAVE ["127.0.0.1"]`` by a member reaches the master
by changing only the address, as on a real pool. Each host's ``address`` field is the
address it listens on. TLS (``tls_cert``/``tls_key``) applies to every TCP listener; the
socket file is made with ``socket_mode`` (0600). ``kill_master()`` (a crash or a hang)
and ``promote(member)`` stage a master's failure and a member's takeover (``_failover``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from aioxend.emulator._faults import FaultInjector
from aioxend.emulator._server import _bind_tcp, _bind_unix, _tcp_url, parse_hostport
from aioxend.emulator._thread import serve_in_thread
from aioxend.emulator.xenapi import _xmlrpc
from aioxend.emulator.xenapi._app import make_app
from aioxend.emulator.xenapi._dispatch import Dispatcher
from aioxend.emulator.xenapi._failover import Death, Liveness
from aioxend.emulator.xenapi._inject import ErrorInjector
from aioxend.emulator.xenapi._pool import Pool
from aioxend.emulator.xenapi._storage import DEFAULT_LIMIT, TransferStore, seed_storage
from aioxend.emulator.xenapi._transfer import add_routes

__all__ = ["XenAPIServer"]


class XenAPIServer:
    """A Xen-API pool (``dialect="xapi"``) or xend host (``"xend"``) on real sockets.

    ``urls`` lists the master's endpoints (``http://127.0.0.1:PORT/``, ``https://`` with
    TLS, ``httpu:///path`` for the UNIX socket), ``member_urls`` the members'. ``pool``
    is the state (``pool.vm("vm1")``, ``pool.expire_session()``), ``faults`` the
    transport fault injector, ``fail_next`` injects Xen-API errors. ``jsonrpc=False``
    serves XML-RPC only (``/jsonrpc`` a 404), as an old xapi. ``store`` holds what
    ``PUT /import`` and ``/import_raw_vdi`` uploaded (at most ``transfer_limit`` bytes, in
    a temporary folder removed on stop; ``_transfer`` has the handlers).
    """

    def __init__(
        self,
        *,
        tcp: str | None = None,
        unix: str | None = None,
        vms: int = 3,
        hosts: int = 1,
        dialect: str = "xapi",
        users: Mapping[str, str] | None = None,
        roles: Mapping[str, str] | None = None,
        seed: int = 0,
        session_timeout: float | None = 86400.0,
        max_sessions: int = 500,
        task_duration: float = 0.0,
        faults: FaultInjector | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        socket_mode: int = 0o600,
        jsonrpc: bool = True,
        transfer_limit: int = DEFAULT_LIMIT,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both tls_cert and tls_key")
        if tcp is not None:
            parse_hostport(tcp)
        if tcp is None and unix is None:
            tcp = "127.0.0.1:0"
        self.pool = Pool(
            vms=vms,
            hosts=hosts,
            dialect=dialect,
            users=users,
            roles=roles,
            seed=seed,
            session_timeout=session_timeout,
            max_sessions=max_sessions,
            task_duration=task_duration,
        )
        self.faults = faults if faults is not None else FaultInjector(seed)
        self.errors = ErrorInjector()
        self.store = TransferStore(transfer_limit)
        if dialect == "xapi":
            seed_storage(self.pool)
        self.urls: list[str] = []
        self.member_urls: list[str] = []
        self._tcp, self._unix = tcp, unix
        self._socket_mode = socket_mode
        self._jsonrpc = jsonrpc
        self._tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        self._runners: list[web.AppRunner] = []
        self._socket_files: list[str] = []
        self._stop = asyncio.Event()
        self._started = False
        self.liveness = Liveness(self._stop)
        self._host_urls: dict[str, list[str]] = {}

    @property
    def url(self) -> str:
        """The master's first URL (TCP if it has one)."""
        if not self.urls:
            raise RuntimeError("the Xen-API server is not started")
        return self.urls[0]

    @property
    def dialect(self) -> str:
        return self.pool.dialect

    def fail_next(self, count: int, code: str, *params: object, method: str | None = None) -> None:
        """Answer the next ``count`` calls (of ``method``, or any) with a Xen-API error."""
        self.errors.add(count, code, *params, method=method)

    def expire_session(self, ref: str | None = None) -> None:
        """End one session (all with None): its next use gets ``SESSION_INVALID``."""
        self.pool.expire_session(ref)

    def lose_events(self, session: str | None = None) -> None:
        """Make event clients resynchronise: an ``event.from`` from a token older than
        now, and the next ``event.next`` of ``session`` (every one with None), answer
        ``EVENTS_LOST``."""
        self.pool.registrations.lose(session)
        self.pool.events.forget_history()

    def kill_master(self, how: Death = "crash") -> None:
        """Kill the master (``_failover``): ``"crash"`` refuses connections and resets
        open ones, ``"hang"`` answers nothing. A member takes over with ``promote``."""
        self.liveness.kill(self.pool.master, how)

    def promote(self, member: str) -> None:
        """Make ``member`` (a host ref, its ``name_label`` or one of ``member_urls``) the
        master; ``urls`` become its URLs, ``member_urls`` those of the live others."""
        host = self._host_of(member)
        self.pool.promote(host)
        self.urls = list(self._host_urls.get(host, []))
        self.member_urls = [
            url
            for other in self.pool.hosts[1:]
            if self.liveness.how(other) is None
            for url in self._host_urls.get(other, [])
        ]

    def _host_of(self, member: str) -> str:
        for host, urls in self._host_urls.items():
            if member in urls:
                return host
        with self.pool.lock:
            for ref, record in self.pool.table("host").items():
                if member in (ref, record["name_label"]):
                    return ref
        raise ValueError(f"no host of this pool is {member!r}")

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._tls[0], self._tls[1])
        return ctx

    async def start(self) -> list[str]:
        """Bind every listener and serve; returns (and fills in) ``urls``."""
        if self._started:
            raise RuntimeError("Xen-API server already started")
        self._started = True
        tls = self._ssl_context()
        try:
            port = 0
            if self._tcp is not None:
                sock = _bind_tcp(self._tcp)
                address, port = sock.getsockname()[:2]
                self._set_address(self.pool.master, address)
                await self._serve(self.pool.master, sock, tls)
                self.urls.append(_tcp_url(sock, tls is not None))
                self._host_urls.setdefault(self.pool.master, []).append(self.urls[-1])
                self.store.bases[self.pool.master] = self.urls[-1].rstrip("/")
            if self._unix is not None:
                path = os.path.abspath(self._unix)  # noqa: ASYNC240
                sock = _bind_unix(path, self._socket_mode)
                self._socket_files.append(path)
                await self._serve(self.pool.master, sock, None)
                self.urls.append(f"httpu://{path}")
                self._host_urls.setdefault(self.pool.master, []).append(self.urls[-1])
            for index, host in enumerate(self.pool.hosts[1:], start=2):
                sock = self._bind_member(f"127.0.0.{index}", port)
                self._set_address(host, sock.getsockname()[0])
                await self._serve(host, sock, tls)
                self.member_urls.append(_tcp_url(sock, tls is not None))
                self._host_urls[host] = [self.member_urls[-1]]
                self.store.bases[host] = self.member_urls[-1].rstrip("/")
        except BaseException:
            await self.stop()
            raise
        return list(self.urls)

    def _set_address(self, host: str, address: str) -> None:
        if address in ("0.0.0.0", "::"):
            address = "127.0.0.1"
        with self.pool.lock:
            self.pool.get("host", host)["address"] = address

    @staticmethod
    def _bind_member(address: str, port: int) -> socket.socket:
        try:
            return _bind_tcp(f"{address}:{port}")
        except OSError:
            return _bind_tcp(f"{address}:0")

    async def _serve(self, host: str, sock: socket.socket, tls: ssl.SSLContext | None) -> None:
        dialect = self.pool.dialect
        dispatcher = Dispatcher(self.pool, host, lambda v: _xmlrpc.task_result(v, dialect))
        app = make_app(dispatcher, self.faults, self.errors, self._stop, jsonrpc=self._jsonrpc)
        app.middlewares.append(self.liveness.middleware(host))
        add_routes(app, dispatcher, self.store)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        self.liveness.add_runner(host, runner)
        await web.SockSite(runner, sock, ssl_context=tls).start()

    async def stop(self) -> None:
        """Stop serving, close every connection and remove the socket file."""
        self._stop.set()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        self.store.close()
        for path in self._socket_files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._socket_files.clear()

    async def __aenter__(self) -> XenAPIServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def in_thread(cls, **kwargs: Any) -> Iterator[XenAPIServer]:
        """Run a server on its own event loop in a background thread (for sync code)."""
        with serve_in_thread(cls(**kwargs), "aioxend-xenapi-emulator") as server:
            yield server
