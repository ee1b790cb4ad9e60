"""The ``Emulator``: one in-memory host served over every configured listener.

Listeners are bound on sockets we create ourselves (so port 0 yields the real port and
UNIX socket files are ours to remove), XML-RPC through aiohttp.web and the legacy
SXP/HTTP protocol through the hand-written HTTP server of ``_sxp`` (xend's own SXP
server was hand-written, and its quirks are on the wire). TLS, when a certificate and
key are given, applies to the TCP listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import stat
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aiohttp import web

from aioxend._log import EMULATOR
from aioxend.emulator._faults import FaultInjector
from aioxend.emulator._host import Host
from aioxend.emulator._limits import Gate, ServerLimits
from aioxend.emulator._thread import serve_in_thread
from aioxend.emulator._xmlrpc import XmlRpcDispatcher, make_xmlrpc_app

if TYPE_CHECKING:
    from aioxend.emulator.xenapi import XenAPIServer
    from aioxend.emulator.xenapi._failover import Death

__all__ = ["Emulator", "parse_hostport"]


def parse_hostport(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) into its parts; port 0 picks a free one."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, not {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    port = int(port_text)
    if port > 65535:
        raise ValueError(f"port out of range in {text!r}")
    return host, port


def _bind_unix(path: str, mode: int = 0o600) -> socket.socket:
    """A listening UNIX socket at ``path`` with permissions ``mode``, whatever the umask.

    The mode is set between bind and listen, so no connection can arrive while the
    file still has the umask's permissions (connecting before listen is refused).
    """
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o700)
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            raise FileExistsError(f"{path} exists and is not a socket")
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        os.chmod(path, mode)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _bind_tcp(spec: str) -> socket.socket:
    host, port = parse_hostport(spec)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _tcp_url(sock: socket.socket, tls: bool) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}/"


class Emulator:
    """A xend stand-in serving XML-RPC and/or legacy SXP/HTTP on UNIX sockets and TCP.

    ``async with Emulator(xmlrpc_unix=path) as emu:`` starts it; ``emu.urls`` lists every
    endpoint (``httpu:///path`` for XML-RPC on a UNIX socket, ``unix:///path`` for SXP on
    one, ``http://127.0.0.1:PORT/`` for TCP, ``https://`` with TLS), ``emu.host`` is the
    in-memory host (``emu.host.domain("vm1").state_string``) and ``emu.faults`` the fault
    injector. With no listener given, XML-RPC and SXP are both served on TCP
    127.0.0.1 with free ports. ``xenapi_tcp``/``xenapi_unix`` also serve a Xen-API pool
    (``aioxend.emulator.xenapi``; ``emu.xenapi``, ``emu.xenapi_url``; ``xenapi_dialect``
    ``"xapi"`` or ``"xend"``; ``xenapi_hosts`` hosts, the master first, and
    ``promote(member)``/``kill_master()`` to fail it over). Socket files are created
    with ``socket_mode`` (0600 by default: only the owner may connect).
    ``emu.protocols`` maps each URL to the protocol it serves (``"xmlrpc"``, ``"sxp"``,
    ``"xenapi"``). ``limits`` (a ``ServerLimits``) bounds the xend listeners'
    connections, idle time and request bodies in flight, answering 503 beyond.
    ``Emulator.in_thread(...)`` runs one on a background thread for synchronous code.
    """

    def __init__(
        self,
        *,
        domains: int = 3,
        seed: int = 0,
        xmlrpc_unix: str | None = None,
        xmlrpc_tcp: str | None = None,
        sxp_unix: str | None = None,
        sxp_tcp: str | None = None,
        xenapi_unix: str | None = None,
        xenapi_tcp: str | None = None,
        xenapi_dialect: str = "xapi",
        xenapi_hosts: int = 1,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        socket_mode: int = 0o600,
        limits: ServerLimits | None = None,
    ) -> None:
        if domains < 0:
            raise ValueError(f"domains must not be negative, not {domains}")
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both tls_cert and tls_key")
        if isinstance(socket_mode, bool) or not 0 <= socket_mode <= 0o777:
            raise ValueError(
                f"socket_mode must be permission bits 0o000-0o777, not {socket_mode!r}"
            )
        if not any((xmlrpc_unix, xmlrpc_tcp, sxp_unix, sxp_tcp, xenapi_unix, xenapi_tcp)):
            xmlrpc_tcp = sxp_tcp = "127.0.0.1:0"
        self.host = Host(domains=domains, seed=seed)
        self.faults = FaultInjector(seed)
        self.urls: list[str] = []
        self.protocols: dict[str, str] = {}
        self.xmlrpc_url: str | None = None
        self.sxp_url: str | None = None
        self._config = (xmlrpc_unix, xmlrpc_tcp, sxp_unix, sxp_tcp)
        # Xen-API (aioxend.emulator.xenapi): its own pool state, the same fault rules
        self.xenapi: XenAPIServer | None = None
        self.xenapi_url: str | None = None
        if xenapi_unix or xenapi_tcp:
            from aioxend.emulator.xenapi import XenAPIServer  # the datamodel loads only here

            self.xenapi = XenAPIServer(
                tcp=xenapi_tcp,
                unix=xenapi_unix,
                vms=domains,
                dialect=xenapi_dialect,
                hosts=xenapi_hosts,
                seed=seed,
                faults=self.faults,
                tls_cert=tls_cert,
                tls_key=tls_key,
                socket_mode=socket_mode,
            )
        self._tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        self._socket_mode = socket_mode
        self.gate = Gate(limits if limits is not None else ServerLimits())
        self._runners: list[web.AppRunner] = []
        self._servers: list[asyncio.Server] = []
        self._sxp_handlers: list[Any] = []
        self._socket_files: list[str] = []
        self._stop: asyncio.Event | None = None
        self._started = False

    def promote(self, member: str) -> None:
        """Make a member of the Xen-API pool its master (``XenAPIServer.promote``)."""
        self._xenapi_pool().promote(member)

    def kill_master(self, how: Death = "crash") -> None:
        """Kill the Xen-API pool's master (``XenAPIServer.kill_master``)."""
        self._xenapi_pool().kill_master(how)

    def _xenapi_pool(self) -> XenAPIServer:
        if self.xenapi is None:
            raise RuntimeError("this emulator serves no Xen-API pool (give xenapi_tcp=...)")
        return self.xenapi

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self._tls[0], self._tls[1])
        return ctx

    async def start(self) -> None:
        """Bind every listener and start serving; fills in ``urls``."""
        if self._started:
            raise RuntimeError("emulator already started")
        self._started = True
        self._stop = asyncio.Event()
        xmlrpc_unix, xmlrpc_tcp, sxp_unix, sxp_tcp = self._config
        xmlrpc_unix = os.path.abspath(xmlrpc_unix) if xmlrpc_unix else None  # noqa: ASYNC240
        sxp_unix = os.path.abspath(sxp_unix) if sxp_unix else None  # noqa: ASYNC240
        tls = self._ssl_context()
        dispatcher = XmlRpcDispatcher(self.host)
        try:
            if xmlrpc_unix:
                sock = _bind_unix(xmlrpc_unix, self._socket_mode)
                self._socket_files.append(xmlrpc_unix)
                await self._serve_xmlrpc(dispatcher, sock, unix=True, tls=None)
                self._add_url("xmlrpc", f"httpu://{xmlrpc_unix}")
            if xmlrpc_tcp:
                sock = _bind_tcp(xmlrpc_tcp)
                await self._serve_xmlrpc(dispatcher, sock, unix=False, tls=tls)
                self._add_url("xmlrpc", _tcp_url(sock, tls is not None))
            if sxp_unix:
                sock = _bind_unix(sxp_unix, self._socket_mode)
                self._socket_files.append(sxp_unix)
                await self._serve_sxp(sock, unix=True, tls=None)
                self._add_url("sxp", f"unix://{sxp_unix}")
            if sxp_tcp:
                sock = _bind_tcp(sxp_tcp)
                await self._serve_sxp(sock, unix=False, tls=tls)
                self._add_url("sxp", _tcp_url(sock, tls is not None))
            if self.xenapi is not None:
                for url in await self.xenapi.start():
                    self._add_url("xenapi", url)
        except BaseException:
            await self.stop()
            raise

    def _add_url(self, kind: str, url: str) -> None:
        EMULATOR.debug("serving %s at %s", kind, url)
        self.urls.append(url)
        self.protocols[url] = kind
        if kind == "xmlrpc" and self.xmlrpc_url is None:
            self.xmlrpc_url = url
        if kind == "sxp" and self.sxp_url is None:
            self.sxp_url = url
        if kind == "xenapi" and self.xenapi_url is None:
            self.xenapi_url = url

    async def _serve_xmlrpc(
        self,
        dispatcher: XmlRpcDispatcher,
        sock: socket.socket,
        *,
        unix: bool,
        tls: ssl.SSLContext | None,
    ) -> None:
        assert self._stop is not None
        app = make_xmlrpc_app(dispatcher, self.faults, self._stop, self.gate, unix=unix)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        # what web.SockSite does, with the gate around aiohttp's protocol factory
        assert runner.server is not None  # set up above
        factory = self.gate.wrap(runner.server)
        await self._listen(factory, sock, unix=unix, tls=tls)

    async def _listen(
        self,
        factory: Callable[[], asyncio.Protocol],
        sock: socket.socket,
        *,
        unix: bool,
        tls: ssl.SSLContext | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        if unix:
            server = await loop.create_unix_server(factory, sock=sock)
        else:
            server = await loop.create_server(factory, sock=sock, ssl=tls)
        self._servers.append(server)

    async def _serve_sxp(
        self, sock: socket.socket, *, unix: bool, tls: ssl.SSLContext | None
    ) -> None:
        from aioxend.emulator._sxp import SxpServer

        assert self._stop is not None
        port = 8080 if unix else sock.getsockname()[1]
        handler = SxpServer(
            self.host, self.faults, self._stop, self.gate, port=port, tls=tls is not None
        )
        self._sxp_handlers.append(handler)

        def streams() -> asyncio.Protocol:  # what asyncio.start_server builds per connection
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(), handler.handle)

        await self._listen(self.gate.wrap(streams), sock, unix=unix, tls=tls)

    async def stop(self) -> None:
        """Stop serving, close every connection and remove the socket files."""
        if self._stop is not None:
            self._stop.set()
        for server in self._servers:
            server.close()
        for handler in self._sxp_handlers:
            handler.close_all()
        self._sxp_handlers.clear()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        self._servers.clear()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self.xenapi is not None:
            await self.xenapi.stop()
        for path in self._socket_files:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._socket_files.clear()

    async def __aenter__(self) -> Emulator:
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
    def in_thread(cls, **kwargs: Any) -> Iterator[Emulator]:
        """Run an emulator on its own event loop in a background thread.

        For synchronous code, trio tests and examples. ``emu.host`` and ``emu.faults``
        are safe to use from the calling thread (both lock internally).
        """
        with serve_in_thread(cls(**kwargs), "aioxend-emulator") as emu:
            yield emu
