"""``XendClient``: every xend operation as a typed async method, over either protocol.

    async with aioxend.connect("httpu:///var/run/xend/xmlrpc.sock") as client:
        for dom in await client.domains():
            print(dom.name, dom.state)
        await client.pause("vm1")

The client owns one transport (a pool of connections shared by every task using the
client) and one protocol backend. With ``protocol="auto"`` it asks the endpoint once,
on entering ``async with`` or on first use, whether it speaks XML-RPC; when the answer
shows it does not (400/404/405/406/501, HTML, plain text or an S-expression) and the
endpoint answers ``GET /xend/`` as xend's legacy server does, the client speaks the legacy
SXP/HTTP protocol for the rest of its life. A fault or a timeout is never taken for
"not XML-RPC". ``client.protocol`` says which was chosen.

Every method takes a keyword ``timeout``: seconds for the whole operation (all its
requests), ``None`` for no limit, or left out for the client's ``timeout``. Running out
raises an ``aioxend.Timeout`` (``ReadTimeout``, or ``ConnectTimeout``/``PoolTimeout``
when that is where the time went), which is also the builtin ``TimeoutError``. Errors
of the transport are re-raised with the operation and domain leading their message.

Reads (``domain``, ``domains``, ``node_info``, the ``*_get`` family...) may be resent
once when a kept-alive connection turns out dead; operations that change anything
never are.

Cancelling a call (e.g. with ``anyio.move_on_after``) abandons its connection and
leaves the client healthy for the next call.
"""

# The per-call ``timeout`` keyword is this API's contract (docs/timeouts.md). A one-request
# operation hands it to the transport as the request's total timeout; an operation of
# several requests wraps them all in one deadline (``_deadline``).
# ruff: noqa: ASYNC109

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Collection, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, cast, overload

import anyio

from aioxend import sxp, xmlrpc
from aioxend._default import DEFAULT, TimeoutArg, _Default
from aioxend._log import CLIENT, Secrets
from aioxend._observe import Observer, header_pairs
from aioxend.errors import (
    Fault,
    HTTPStatusError,
    InvalidDomain,
    ProtocolError,
    ReadTimeout,
    UnsupportedOperation,
    XendError,
)
from aioxend.models import DomainInfo, NodeInfo, PowerState, VcpuInfo
from aioxend.protocols import (
    OPS,
    Backend,
    Call,
    Config,
    Credit2Params,
    CreditParams,
    DeviceRef,
    NotXmlRpcServer,
    PciDevice,
    SedfParams,
    SxpBackend,
    WrongServer,
    XmlRpcBackend,
    dom_text,
)
from aioxend.transport import Connector, Limits, Timeouts, Transport
from aioxend.transport._loop import clock, make_lock, within
from aioxend.xmlrpc._limits import check_limits

if TYPE_CHECKING:
    import asyncio
    import ssl

    from aioxend._observe import Headers
    from aioxend.hooks import Hooks
    from aioxend.watch import DomainWatch

__all__ = ["Protocol", "ShutdownReason", "StateFilter", "XendClient", "connect"]

Dom = str | int | uuid.UUID
Protocol = Literal["auto", "xmlrpc", "sxp"]
"""Which of xend's APIs a client speaks; ``"auto"`` asks the endpoint (see ``XendClient``)."""
SxpConfig = str | bytes | Sequence[Any]
ShutdownReason = Literal["poweroff", "reboot", "suspend", "crash", "halt"]
"""``DOMAIN_SHUTDOWN_REASONS`` of Xen 4.4 ``tools/python/xen/xend/XendConstants.py``."""
StateFilter = Literal["all", "halted", "paused", "running", "suspended", "crashed", "unknown"]
"""A state filter by name, as ``XendDomain.domains_with_state`` takes it."""

STATES: tuple[StateFilter, ...] = (
    "all",
    "halted",
    "paused",
    "running",
    "suspended",
    "crashed",
    "unknown",
)
"""The state filters xend takes by name; 0-6 (``PowerState``) are accepted too."""

_STATE_NUMBERS = ("halted", "paused", "running", "suspended", "halted", "crashed", "unknown")


def _state(state: object) -> str:
    """A state filter as the name xend matches (a number is sent as its name, since the
    legacy protocol passes it as text, which xend would not read as a number)."""
    if isinstance(state, bool) or not isinstance(state, (str, int)):
        raise TypeError(f"state must be a name or 0-6, not {type(state).__name__}")
    if isinstance(state, int):
        if not 0 <= state < len(_STATE_NUMBERS):
            raise ValueError(f"state must be 0-6, not {state}")
        return _STATE_NUMBERS[state]
    if state.lower() not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)} or 0-6, not {state!r}")
    return state.lower()


def _check_dom(dom: object) -> Dom:
    if isinstance(dom, bool) or not isinstance(dom, (str, int, uuid.UUID)):
        raise TypeError(f"dom must be a name, a domid or a UUID, not {type(dom).__name__}")
    if isinstance(dom, str) and not dom:
        raise ValueError("dom must not be empty")
    return dom


def _config(config: SxpConfig, what: str = "config") -> Config:
    """An S-expression given as text or as nested lists, checked before sending."""
    if isinstance(config, (str, bytes)):
        expr = sxp.loads(config)
    elif isinstance(config, Sequence):
        expr = [_config_item(item, what) for item in config]
    else:
        raise TypeError(f"{what} must be SXP text or a nested list, not {type(config).__name__}")
    if not isinstance(expr, list) or not expr or not isinstance(expr[0], str):
        raise ValueError(f"{what} must be a list with a tag first, such as (vm ...)")
    return Config(expr)


def _config_item(item: object, what: str) -> Any:
    if isinstance(item, str):
        return item
    if isinstance(item, bool):
        return "1" if item else "0"
    if isinstance(item, (int, float)):
        return str(item)
    if isinstance(item, Sequence) and not isinstance(item, bytes):
        return [_config_item(sub, what) for sub in item]
    raise TypeError(f"{what} may hold only text, numbers and lists, not {type(item).__name__}")


def _int(name: str, value: object, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _cpumap(cpus: Sequence[int]) -> str:
    """CPUs as the comma-separated text ``pincpu`` takes (``"0,2,3"``)."""
    if isinstance(cpus, (str, bytes)):
        raise TypeError("cpus must be a sequence of CPU numbers")
    numbers = [_int("cpu", cpu, 0) for cpu in cpus]
    if not numbers:
        raise ValueError("cpus must name at least one CPU")
    return ",".join(str(n) for n in numbers)


class XendClient:
    """An async client for one xend; see the module docstring. Use ``async with``.

    ``url`` as ``aioxend.connect`` takes it (``None``: ``$XM_SERVER``, else xm's UNIX
    socket). Requests go through aioxend's own HTTP/1.1 (``aioxend.transport``) on
    asyncio or trio, over the connection the URL names; ``transport`` replaces that
    with a ready ``Transport`` object (such as a test double), which the client then
    owns and closes. ``connector`` opens each connection's byte stream instead of the
    URL's own kind (see ``aioxend.transport.Connector``: a pipe, an ssh library's
    channel, a ``MockConnector`` in tests). ``max_connections`` defaults to 100, or 4
    for ``ssh://`` (each connection is one ``ssh ... xm serve``); ``ssh_share`` makes
    those share one ssh master connection (``ControlMaster``).

    ``limits`` bound what one answer may make the client decode
    (``aioxend.xmlrpc.Limits``: bytes, nesting, string length, values); over the legacy
    protocol the same bounds apply to the SXP parser. The default, the codecs' own,
    refuses a hostile answer early and lets through a few thousand domains with their
    devices; a host with 50,000 domains (a ``domains()`` answer of 300 MB or more and
    some 10 million values) needs raised ones, e.g.
    ``limits=aioxend.xmlrpc.Limits(max_bytes=1 << 30, max_elements=20_000_000)``.

    ``headers`` go on every request (a ``traceparent``; ``call(..., headers=)`` adds some
    to one call); ``hooks`` (``aioxend.hooks.Hooks``) run around every call.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        protocol: Protocol = "auto",
        transport: Transport | None = None,
        timeout: float | None = 60.0,
        connect_timeout: float | None = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        ssh_command: Sequence[str] | str | None = None,
        ssh_share: bool = False,
        max_connections: int | None = None,
        connector: Connector | None = None,
        limits: xmlrpc.Limits | None = None,
        headers: Headers | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        from aioxend.transport import check_options, parse_url

        if protocol not in ("auto", "xmlrpc", "sxp"):
            raise ValueError(f"protocol must be 'auto', 'xmlrpc' or 'sxp', not {protocol!r}")
        if transport is not None and not isinstance(transport, Transport):
            raise TypeError(f"transport must be a Transport, not {type(transport).__name__}")
        for name, seconds in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if seconds is not None and not (seconds > 0 and math.isfinite(seconds)):
                raise ValueError(f"{name} must be a positive number of seconds or None")
        if max_connections is not None:
            if isinstance(max_connections, bool) or not isinstance(max_connections, int):
                raise TypeError("max_connections must be an int")
            if max_connections < 1:
                raise ValueError(f"max_connections must be at least 1, not {max_connections}")
        self._endpoint = parse_url(url)
        check_options(self._endpoint, ssl_context, verify, ssh_command)
        self.url: str = self._endpoint.url
        self._requested: Protocol = protocol
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._ssl_context = ssl_context
        self._verify = verify
        self._ssh_command = ssh_command
        self._ssh_share = ssh_share
        self._connector = connector
        self._limits = None if max_connections is None else Limits(max_connections=max_connections)
        check_limits(limits)
        self._decode_limits = limits
        self._transport: Transport | None = transport
        self._backend: Backend | None = None
        # Made on first use, on the running loop's own primitives (see transport._loop).
        self._lock: asyncio.Lock | anyio.Lock | None = None
        self._closed = False
        # Timeouts per ``timeout`` argument, built once (``Timeouts`` is immutable).
        self._made_timeouts: dict[TimeoutArg, Timeouts] = {}
        self._headers = header_pairs(headers)
        self._observer = Observer("xend", CLIENT, hooks, self, Secrets())

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.protocol
        return f"<XendClient {self.url} ({state})>"

    # -- life cycle ------------------------------------------------------------------

    @property
    def protocol(self) -> str:
        """``"xmlrpc"`` or ``"sxp"`` once known; ``"auto"`` before the first exchange."""
        return self._backend.protocol if self._backend is not None else self._requested

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` was called."""
        return self._closed

    async def __aenter__(self) -> Self:
        try:
            ready = self._ready(self._timeouts(DEFAULT), DEFAULT)
            if self._observer.on():
                await self._observer.run("connect", None, ready)
            else:
                await ready
        except BaseException as exc:
            await self.aclose()  # ``__aexit__`` will not run to close the transport
            if isinstance(exc, XendError):
                self._locate(exc, "connect", None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection; later calls raise ``RuntimeError``."""
        self._closed = True
        transport, self._transport = self._transport, None
        self._backend = None
        if transport is not None:
            await transport.aclose()

    def _timeouts(self, timeout: TimeoutArg) -> Timeouts:
        made = self._made_timeouts.get(timeout)
        if made is None:
            made = self._make_timeouts(timeout)
            if len(self._made_timeouts) < 64:
                self._made_timeouts[timeout] = made
        return made

    def _make_timeouts(self, timeout: TimeoutArg) -> Timeouts:
        total = self._timeout if isinstance(timeout, _Default) else timeout
        connect = self._connect_timeout
        if total is not None and (connect is None or connect > total):
            connect = total
        return Timeouts(connect=connect, read=total, write=total, pool=total, total=total)

    async def _open_transport(self) -> Transport:
        from aioxend.transport import open_transport

        made: Any = open_transport(
            self._endpoint,
            timeouts=self._timeouts(DEFAULT),
            limits=self._limits,
            ssl_context=self._ssl_context,
            verify=self._verify,
            ssh_command=self._ssh_command,
            ssh_share=self._ssh_share,
            connector=self._connector,
        )
        import inspect

        if inspect.isawaitable(made):
            made = await made
        return cast(Transport, made)

    async def _ready(self, timeouts: Timeouts, timeout: TimeoutArg) -> Backend:
        """The backend, opening the transport and settling the protocol on first use."""
        if self._closed:
            raise RuntimeError("this XendClient is closed")
        if self._backend is not None:
            return self._backend
        if self._lock is None:
            self._lock = make_lock()
        async with self._deadline(timeout, "connect", None), self._lock:
            if self._closed:
                raise RuntimeError("this XendClient is closed")
            if self._backend is None:
                if self._transport is None:
                    self._transport = await self._open_transport()
                self._backend = await self._choose(self._transport, timeouts)
        return self._backend

    def _sxp_root(self) -> str:
        path = self._endpoint.path.rstrip("/")
        return path if path.startswith("/xend") else "/xend"

    def _xmlrpc_backend(self, transport: Transport) -> XmlRpcBackend:
        path = self._endpoint.path or "/RPC2"
        return XmlRpcBackend(transport, path, self._decode_limits, self._headers)

    async def _choose(self, transport: Transport, timeouts: Timeouts) -> Backend:
        if self._requested == "xmlrpc":
            return self._xmlrpc_backend(transport)
        sxp_backend = SxpBackend(transport, self._sxp_root(), self._decode_limits, self._headers)
        if self._requested == "sxp":
            return sxp_backend
        xml = self._xmlrpc_backend(transport)
        try:
            await xml.call_method("system.listMethods", (), read=True, timeouts=timeouts)
        except NotXmlRpcServer as not_xml:
            try:
                await sxp_backend.request(
                    "GET", sxp_backend.root + "/", [], read=True, timeouts=timeouts, label="probe"
                )
            except (HTTPStatusError, ProtocolError) as exc:
                raise ProtocolError(
                    f"{self.url} speaks neither XML-RPC ({not_xml}) nor xend's SXP/HTTP ({exc})"
                ) from exc
            return sxp_backend
        except Fault:
            pass  # a fault is an XML-RPC answer too
        return xml

    @asynccontextmanager
    async def _deadline(
        self, timeout: TimeoutArg, label: str, dom: Dom | None
    ) -> AsyncIterator[None]:
        """Bound the enclosed requests by ``timeout`` together (a ``ReadTimeout``).

        On the loop's own primitives (``transport._loop.within``), so a first call
        does not load anyio's asyncio backend.
        """
        seconds = self._timeout if isinstance(timeout, _Default) else timeout
        if seconds is None:
            yield
            return
        async with within(clock()() + seconds) as ran_out:
            yield
        if ran_out():
            error = ReadTimeout(f"no answer within {seconds} s")
            raise self._locate(error, label, dom)

    def _run(
        self,
        name: str,
        dom: Dom | None = None,
        args: Mapping[str, object] | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> Coroutine[Any, Any, Any]:
        """Operation ``name``, observed when hooks or DEBUG logging want it; to await.

        A plain function handing back the coroutine to await, so an unobserved call
        runs in one coroutine frame fewer."""
        work = self._run_op(name, dom, args, timeout)
        if self._observer.on():
            return self._observer.run(name, dom, work)
        return work

    async def _run_op(
        self,
        name: str,
        dom: Dom | None,
        args: Mapping[str, object] | None,
        timeout: TimeoutArg,
    ) -> Any:
        op = OPS[name]
        if dom is not None and type(dom) is not int:  # a plain int needs no check
            dom = _check_dom(dom)
        timeouts = self._made_timeouts.get(timeout) or self._timeouts(timeout)
        call = Call(op, dom, dict(args) if args else {}, timeouts)
        backend = self._backend
        try:
            if backend is not None and not (
                backend.protocol == "sxp" and op.sxp is not None and op.sxp.special
            ):
                # One request: the transport's own total timeout bounds it, so no
                # (costly) cancel scope is needed around it.
                return await backend.run(call)
            async with self._deadline(timeout, name, dom):
                backend = await self._ready(timeouts, None)
                return await backend.run(call)
        except WrongServer as exc:
            error = ProtocolError(f"{self.url} is no {exc.speaks} server ({exc})")
            raise self._locate(error, name, dom) from exc
        except XendError as exc:
            self._locate(exc, name, dom)
            raise

    def _locate(self, exc: XendError, operation: str, dom: Dom | None) -> XendError:
        """``exc`` with the call's operation, domain and server (see ``aioxend.errors``)."""
        text = None if dom is None else dom_text(dom)
        return exc.locate(operation, text, self.url, self._endpoint.display)

    def _sxp(self) -> bool:
        return self._backend is not None and self._backend.protocol == "sxp"

    # -- raw calls -------------------------------------------------------------------

    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,
        headers: Headers | None = None,
    ) -> xmlrpc.XmlRpcValue:
        """Call any XML-RPC method and return its decoded result (a top-level string
        unescaped as xend escaped it). Not available over the legacy protocol.
        ``headers`` go on this call's request only (a ``traceparent``)."""
        extra = header_pairs(headers)
        if extra or self._observer.on():
            target = params[0] if params and isinstance(params[0], (str, int)) else None
            work = self._call(method, params, timeout)
            return await self._observer.run(method, target, work, extra)
        return await self._call(method, params, timeout)

    async def _call(
        self, method: str, params: tuple[object, ...], timeout: TimeoutArg
    ) -> xmlrpc.XmlRpcValue:
        timeouts = self._timeouts(timeout)
        backend = self._backend
        try:
            if backend is None:
                async with self._deadline(timeout, method, None):
                    backend = await self._ready(timeouts, None)
            if not isinstance(backend, XmlRpcBackend):
                raise UnsupportedOperation("call", backend.protocol)
            wire = [sxp.to_xmlrpc(p.expr) if isinstance(p, Config) else p for p in params]
            # One request: the transport's total timeout bounds it, as in ``_run``.
            return await backend.call_method(method, wire, timeouts=timeouts)
        except NotXmlRpcServer as exc:
            error = ProtocolError(f"{self.url} is no XML-RPC server ({exc})")
            raise self._locate(error, method, None) from exc
        except XendError as exc:
            self._locate(exc, method, None)
            raise

    # -- domains ---------------------------------------------------------------------

    async def domains(
        self,
        state: StateFilter | int = "all",
        *,
        full: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> list[DomainInfo]:
        """Every domain in ``state`` (``"all"`` as ``xm list``; a name or 0-6 as xend
        takes it), sorted as xend sorts them. ``full`` adds device entries."""
        args = {"detail": True, "state": _state(state), "full": bool(full)}
        return cast(list[DomainInfo], await self._run("domains", None, args, timeout))

    def watch(
        self,
        *,
        interval: float = 1.0,
        ignore: Collection[str] = frozenset({"cpu_time"}),
        initial: bool = True,
        full: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> DomainWatch:
        """Domain changes as ``Event``s (``add``, ``mod`` with ``changed``, ``del``),
        polling ``domains(full=full)`` every ``interval`` seconds (``aioxend.watch``)::

            async for event in client.watch(interval=2.0):
                print(event.operation, event.ref, event.changed)
        """
        from aioxend.watch import DomainWatch

        return DomainWatch(
            self, interval=interval, ignore=ignore, initial=initial, full=full, timeout=timeout
        )

    async def domain_names(
        self, state: StateFilter | int = "all", *, timeout: TimeoutArg = DEFAULT
    ) -> list[str]:
        """The names of the domains in ``state``."""
        args = {"detail": False, "state": _state(state), "full": False}
        return cast(list[str], await self._run("domain_names", None, args, timeout))

    async def domain(
        self, dom: Dom, *, full: bool = True, timeout: TimeoutArg = DEFAULT
    ) -> DomainInfo:
        """One domain's record; ``full=False`` leaves out its devices."""
        return cast(DomainInfo, await self._run("domain", dom, {"full": bool(full)}, timeout))

    # -- lifecycle -------------------------------------------------------------------

    async def create(
        self, config: SxpConfig, *, paused: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> DomainInfo:
        """Create and start a domain from a ``(vm ...)`` config; as ``xm create`` did, wait
        for its devices and unpause it unless ``paused``. Returns its record after that."""
        async with self._deadline(timeout, "create", None):
            info = cast(
                DomainInfo, await self._run("create", None, {"config": _config(config)}, None)
            )
            ref: Dom = info.domid if info.domid is not None else info.name
            await self._run("wait_for_devices", ref, None, None)
            if not paused:
                await self._run("unpause", ref, None, None)
            return cast(DomainInfo, await self._run("domain", ref, {"full": True}, None))

    async def new(self, config: SxpConfig, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Define a managed domain from a ``(vm ...)`` config without starting it."""
        await self._run("new", None, {"config": _config(config)}, timeout)

    async def start(self, dom: Dom, *, paused: bool = False, timeout: TimeoutArg = DEFAULT) -> None:
        """Start a managed (halted) domain, running unless ``paused``."""
        await self._run("start", dom, {"paused": bool(paused)}, timeout)

    async def delete(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Forget a halted managed domain."""
        await self._run("delete", dom, None, timeout)

    @overload
    async def pause(
        self, dom: Dom, *, state: Literal[False] = False, timeout: TimeoutArg = DEFAULT
    ) -> None: ...
    @overload
    async def pause(
        self, dom: Dom, *, state: Literal[True], timeout: TimeoutArg = DEFAULT
    ) -> PowerState: ...
    async def pause(
        self, dom: Dom, *, state: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> PowerState | None:
        """Pause a running domain. With ``state`` (xend 4.x, XML-RPC only), return the
        power state it had before (``PowerState.RUNNING`` or ``PAUSED``...)."""
        args = {"state": True} if state else None
        return cast("PowerState | None", await self._run("pause", dom, args, timeout))

    async def unpause(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Let a paused domain run again."""
        await self._run("unpause", dom, None, timeout)

    async def shutdown(
        self, dom: Dom, reason: ShutdownReason = "poweroff", *, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Ask a domain to shut down; ``reason`` is poweroff, reboot, suspend, crash or halt."""
        if not isinstance(reason, str):
            raise TypeError("reason must be a str")
        await self._run("shutdown", dom, {"reason": reason}, timeout)

    async def reboot(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Ask a domain to reboot (a shutdown with reason ``reboot``)."""
        await self._run("reboot", dom, {"reason": "reboot"}, timeout)

    async def destroy(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Stop a domain at once, as pulling its plug."""
        await self._run("destroy", dom, None, timeout)

    async def reset(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Reset a domain, as pressing its reset button."""
        await self._run("reset", dom, None, timeout)

    async def suspend(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Suspend a managed domain to disk (XML-RPC only)."""
        await self._run("suspend", dom, None, timeout)

    async def resume(
        self, dom: Dom, *, paused: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Resume a suspended managed domain (XML-RPC only)."""
        await self._run("resume", dom, {"paused": bool(paused)}, timeout)

    async def save(
        self, dom: Dom, path: str, *, checkpoint: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Save a domain's state to ``path`` on the xend host (it stops unless ``checkpoint``)."""
        await self._run("save", dom, {"path": str(path), "checkpoint": bool(checkpoint)}, timeout)

    async def restore(
        self, path: str, *, paused: bool = False, timeout: TimeoutArg = DEFAULT
    ) -> DomainInfo:
        """Restore a domain from a save file on the xend host; returns its record."""
        args = {"path": str(path), "paused": bool(paused)}
        return cast(DomainInfo, await self._run("restore", None, args, timeout))

    async def dump(
        self,
        dom: Dom,
        path: str,
        *,
        live: bool = False,
        crash: bool = False,
        reset: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Write a domain's core dump to ``path`` on the xend host."""
        args = {"path": str(path), "live": bool(live), "crash": bool(crash), "reset": bool(reset)}
        await self._run("dump", dom, args, timeout)

    async def migrate(
        self,
        dom: Dom,
        destination: str,
        *,
        live: bool = False,
        port: int = 0,
        node: int = -1,
        ssl: bool = False,
        change_home_server: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Move a domain to another host's xend (port 0: its relocation port)."""
        args = {
            "destination": str(destination),
            "live": bool(live),
            "port": _int("port", port, 0),
            "node": _int("node", node, -1),
            "ssl": bool(ssl),
            "change_home_server": bool(change_home_server),
        }
        await self._run("migrate", dom, args, timeout)

    async def rename(self, dom: Dom, new_name: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Give a domain a new name."""
        await self._run("rename", dom, {"new_name": str(new_name)}, timeout)

    # -- resources -------------------------------------------------------------------

    async def set_memory(self, dom: Dom, mib: int, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Set a domain's memory target (balloon) in MiB."""
        await self._run("set_memory", dom, {"mib": _int("mib", mib, 0)}, timeout)

    async def set_maxmem(self, dom: Dom, mib: int, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Set a domain's memory ceiling in MiB."""
        await self._run("set_maxmem", dom, {"mib": _int("mib", mib, 0)}, timeout)

    async def set_vcpus(self, dom: Dom, count: int, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Set how many VCPUs a domain has online."""
        await self._run("set_vcpus", dom, {"count": _int("count", count, 1)}, timeout)

    async def pin_vcpu(
        self,
        dom: Dom,
        vcpu: int | Literal["all"],
        cpus: Sequence[int],
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Let VCPU ``vcpu`` (or ``"all"``) run only on the physical ``cpus``."""
        if vcpu != "all":
            vcpu = _int("vcpu", vcpu, 0)
        await self._run("pin_vcpu", dom, {"vcpu": vcpu, "cpumap": _cpumap(cpus)}, timeout)

    async def vcpu_info(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> list[VcpuInfo]:
        """Each VCPU of a domain: online, running, CPU time, where it runs and may run."""
        return cast(list[VcpuInfo], await self._run("vcpu_info", dom, None, timeout))

    async def sched_credit_get(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> CreditParams:
        """A domain's credit-scheduler weight and cap."""
        return cast(CreditParams, await self._run("sched_credit_get", dom, None, timeout))

    async def sched_credit_set(
        self,
        dom: Dom,
        *,
        weight: int | None = None,
        cap: int | None = None,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Change a domain's credit weight and/or cap; ``None`` leaves one as it is."""
        if weight is not None:
            weight = _int("weight", weight)
        if cap is not None:
            cap = _int("cap", cap)
        async with self._deadline(timeout, "sched_credit_set", dom):
            await self._ready(self._timeouts(timeout), None)
            if self._sxp() and (weight is None or cap is None):
                # The legacy op needs both fields; fill the missing one, as libvirt did.
                current = await self.sched_credit_get(dom, timeout=None)
                weight = current.weight if weight is None else weight
                cap = current.cap if cap is None else cap
            await self._run("sched_credit_set", dom, {"weight": weight, "cap": cap}, None)

    async def sched_credit2_get(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> Credit2Params:
        """A domain's credit2-scheduler weight."""
        return cast(Credit2Params, await self._run("sched_credit2_get", dom, None, timeout))

    async def sched_credit2_set(
        self, dom: Dom, *, weight: int | None = None, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Change a domain's credit2 weight."""
        if weight is not None:
            weight = _int("weight", weight)
        await self._run("sched_credit2_set", dom, {"weight": weight}, timeout)

    async def sched_sedf_get(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> SedfParams:
        """A domain's SEDF-scheduler parameters."""
        return cast(SedfParams, await self._run("sched_sedf_get", dom, None, timeout))

    async def sched_sedf_set(
        self,
        dom: Dom,
        *,
        period: int,
        slice: int,
        latency: int,
        extratime: int,
        weight: int,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Set a domain's SEDF-scheduler parameters (all of them, as xend requires)."""
        args = {
            "period": _int("period", period),
            "slice": _int("slice", slice),
            "latency": _int("latency", latency),
            "extratime": _int("extratime", extratime),
            "weight": _int("weight", weight),
        }
        await self._run("sched_sedf_set", dom, args, timeout)

    # -- devices ---------------------------------------------------------------------

    async def device_create(
        self, dom: Dom, config: SxpConfig, *, timeout: TimeoutArg = DEFAULT
    ) -> DeviceRef:
        """Attach a device described by an S-expression such as ``(vbd (uname ...) ...)``."""
        args = {"config": _config(config, "device config")}
        return cast(DeviceRef, await self._run("device_create", dom, args, timeout))

    async def device_configure(
        self,
        dom: Dom,
        config: SxpConfig,
        devid: int | str | None = None,
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> bool:
        """Change an attached device (e.g. a CD-ROM's media)."""
        args = {"config": _config(config, "device config"), "devid": devid}
        return cast(bool, await self._run("device_configure", dom, args, timeout))

    async def device_destroy(
        self,
        dom: Dom,
        dev_class: str,
        devid: int | str,
        *,
        force: bool = False,
        rm_cfg: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        """Detach a device (``dev_class`` such as ``vbd`` or ``vif``; ``devid`` its id or name)."""
        args = {
            "dev_class": dev_class,
            "devid": devid,
            "force": bool(force),
            "rm_cfg": bool(rm_cfg),
        }
        await self._run("device_destroy", dom, args, timeout)

    async def device_sxprs(
        self, dom: Dom, dev_class: str, *, timeout: TimeoutArg = DEFAULT
    ) -> list[Any]:
        """The devices of one class as xend describes them (``[[devid, [[k, v], ...]], ...]``)."""
        return cast(
            list[Any], await self._run("device_sxprs", dom, {"dev_class": dev_class}, timeout)
        )

    async def block_device_class(
        self, dom: Dom, devid: int | str, *, timeout: TimeoutArg = DEFAULT
    ) -> str:
        """Which block class (``vbd``, ``tap``, ``tap2``) device ``devid`` belongs to."""
        return cast(str, await self._run("block_device_class", dom, {"devid": devid}, timeout))

    async def wait_for_devices(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Wait until a domain's devices are connected."""
        await self._run("wait_for_devices", dom, None, timeout)

    async def restart_count(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> int | None:
        """How often xend restarted the domain, or ``None`` if never recorded."""
        return cast("int | None", await self._run("restart_count", dom, None, timeout))

    # -- signals and flags -----------------------------------------------------------

    async def send_sysrq(self, dom: Dom, key: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Send a magic SysRq key (one character) to a domain."""
        if not isinstance(key, str) or len(key) != 1:
            raise ValueError(f"key must be one character, not {key!r}")
        await self._run("send_sysrq", dom, {"key": key}, timeout)

    async def send_trigger(
        self, dom: Dom, trigger: str, vcpu: int = 0, *, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Send a trigger (nmi, reset, init, s3resume, power) to an HVM domain."""
        await self._run(
            "send_trigger", dom, {"trigger": trigger, "vcpu": _int("vcpu", vcpu, 0)}, timeout
        )

    async def set_pause_flag(self, dom: Dom, flag: bool, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Set the flag that keeps a domain paused."""
        await self._run("set_pause_flag", dom, {"flag": bool(flag)}, timeout)

    async def get_pause_flag(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> bool:
        """The flag that keeps a domain paused."""
        flag = await self._run("get_pause_flag", dom, None, timeout)
        if flag is None:  # xend's answer for a domain it does not know
            raise InvalidDomain(3, dom_text(dom), method="get_pause_flag", dom=dom_text(dom))
        return cast(bool, flag)

    async def shadow_mem_get(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> int:
        """A domain's shadow memory in MiB."""
        return cast(int, await self._run("shadow_mem_get", dom, None, timeout))

    async def shadow_mem_set(self, dom: Dom, mib: int, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Set a domain's shadow memory in MiB."""
        await self._run("shadow_mem_set", dom, {"mib": _int("mib", mib, 0)}, timeout)

    async def shadow_control(self, dom: Dom, op: int, *, timeout: TimeoutArg = DEFAULT) -> int:
        """A raw shadow-paging control operation."""
        return cast(int, await self._run("shadow_control", dom, {"op": _int("op", op)}, timeout))

    async def usb_add(self, dom: Dom, dev_id: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Pass a host USB device through to an HVM domain."""
        await self._run("usb_add", dom, {"dev_id": dev_id}, timeout)

    async def usb_del(self, dom: Dom, dev_id: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Take a passed-through USB device away from a domain."""
        await self._run("usb_del", dom, {"dev_id": dev_id}, timeout)

    async def ioport_range_enable(
        self, dom: Dom, first: int, last: int, *, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Give a domain access to I/O ports ``first``..``last``."""
        args = {"first": _int("first", first, 0), "last": _int("last", last, 0)}
        await self._run("ioport_range_enable", dom, args, timeout)

    async def ioport_range_disable(
        self, dom: Dom, first: int, last: int, *, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Take I/O ports ``first``..``last`` away from a domain."""
        args = {"first": _int("first", first, 0), "last": _int("last", last, 0)}
        await self._run("ioport_range_disable", dom, args, timeout)

    # -- the node --------------------------------------------------------------------

    async def node_info(self, *, show_numa: bool = True, timeout: TimeoutArg = DEFAULT) -> NodeInfo:
        """The host: CPUs, memory, Xen version, scheduler (``xm info``)."""
        return cast(
            # the int 0 or 1, as xm/main.py xm_info sent it (xend tests show_numa != 0)
            NodeInfo,
            await self._run("node_info", None, {"show_numa": int(bool(show_numa))}, timeout),
        )

    async def node_log(self, *, timeout: TimeoutArg = DEFAULT) -> str:
        """The whole xend log."""
        return cast(str, await self._run("node_log", None, None, timeout))

    async def dmesg(self, *, timeout: TimeoutArg = DEFAULT) -> str:
        """Xen's console ring."""
        return cast(str, await self._run("dmesg", None, None, timeout))

    async def dmesg_clear(self, *, timeout: TimeoutArg = DEFAULT) -> str:
        """Clear Xen's console ring; returns what it held."""
        return cast(str, await self._run("dmesg_clear", None, None, timeout))

    async def pci_info(self, *, timeout: TimeoutArg = DEFAULT) -> list[PciDevice]:
        """The host's PCI devices."""
        return cast(list[PciDevice], await self._run("pci_info", None, None, timeout))

    async def send_debug_keys(self, keys: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Send debug keys to the hypervisor (``xm debug-keys``)."""
        await self._run("send_debug_keys", None, {"keys": str(keys)}, timeout)

    async def tmem_list(
        self, cli_id: int = -1, use_long: bool = False, *, timeout: TimeoutArg = DEFAULT
    ) -> str:
        """Transcendent-memory statistics of a client (``-1``: all)."""
        args = {"cli_id": _int("cli_id", cli_id), "use_long": bool(use_long)}
        return cast(str, await self._run("tmem_list", None, args, timeout))

    async def tmem_freeze(self, cli_id: int = -1, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Freeze a tmem client."""
        return cast(
            int, await self._run("tmem_freeze", None, {"cli_id": _int("cli_id", cli_id)}, timeout)
        )

    async def tmem_thaw(self, cli_id: int = -1, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Thaw a tmem client."""
        return cast(
            int, await self._run("tmem_thaw", None, {"cli_id": _int("cli_id", cli_id)}, timeout)
        )

    async def tmem_flush(
        self, cli_id: int = -1, pages: int = -1, *, timeout: TimeoutArg = DEFAULT
    ) -> int:
        """Flush a tmem client's pages."""
        args = {"cli_id": _int("cli_id", cli_id), "pages": _int("pages", pages)}
        return cast(int, await self._run("tmem_flush", None, args, timeout))

    async def tmem_destroy(self, cli_id: int = -1, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Destroy a tmem client's pools."""
        return cast(
            int, await self._run("tmem_destroy", None, {"cli_id": _int("cli_id", cli_id)}, timeout)
        )

    async def tmem_set_weight(
        self, cli_id: int, value: int, *, timeout: TimeoutArg = DEFAULT
    ) -> int:
        """Set a tmem client's weight."""
        args = {"cli_id": _int("cli_id", cli_id), "value": _int("value", value)}
        return cast(int, await self._run("tmem_set_weight", None, args, timeout))

    async def tmem_set_cap(self, cli_id: int, value: int, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Set a tmem client's cap."""
        args = {"cli_id": _int("cli_id", cli_id), "value": _int("value", value)}
        return cast(int, await self._run("tmem_set_cap", None, args, timeout))

    async def tmem_set_compress(
        self, cli_id: int, value: int, *, timeout: TimeoutArg = DEFAULT
    ) -> int:
        """Turn a tmem client's compression on or off."""
        args = {"cli_id": _int("cli_id", cli_id), "value": _int("value", value)}
        return cast(int, await self._run("tmem_set_compress", None, args, timeout))

    async def tmem_query_freeable_mb(self, *, timeout: TimeoutArg = DEFAULT) -> int:
        """How many MiB tmem could free."""
        return cast(int, await self._run("tmem_query_freeable_mb", None, None, timeout))

    async def tmem_shared_auth(
        self, cli_id: int, uuid_str: str, auth: int, *, timeout: TimeoutArg = DEFAULT
    ) -> int:
        """Allow or forbid a client a shared tmem pool."""
        args = {
            "cli_id": _int("cli_id", cli_id),
            "uuid_str": str(uuid_str),
            "auth": _int("auth", auth),
        }
        return cast(int, await self._run("tmem_shared_auth", None, args, timeout))

    # -- security (XSM; xend 3.2+, XML-RPC only) ------------------------------------
    # The methods are those of the XSM module xend runs (xsm_module_name): "dummy" (the
    # default) and "acm" serve the first twelve, acm also ``on``; "flask" serves ``on``,
    # ``set_policy``, ``getenforce`` and ``setenforce``. Any other raises
    # ``MethodNotSupported``; the dummy module's setters raise ``OperationFailed``.

    async def security_set_resource_label(
        self,
        resource: str,
        policy_type: str,
        policy: str,
        label: str,
        old_label: str | None = None,
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> int:
        """Label a resource (``phy:/dev/hda``); ``label=""`` removes it. 0 or an error code."""
        args = {
            "resource": str(resource),
            "policy_type": str(policy_type),
            "policy": str(policy),
            "label": str(label),
            "old_label": None if old_label is None else str(old_label),
        }
        return cast(int, await self._run("security_set_resource_label", None, args, timeout))

    async def security_get_resource_label(
        self, resource: str, *, timeout: TimeoutArg = DEFAULT
    ) -> list[str]:
        """A resource's label as ``[policy_type, policy, label]``; ``[]`` for none."""
        args = {"resource": str(resource)}
        return cast(list[str], await self._run("security_get_resource_label", None, args, timeout))

    async def security_list_labels(
        self, policy: str = "", label_type: str = "dom", *, timeout: TimeoutArg = DEFAULT
    ) -> list[str]:
        """The labels of a policy (``""``: the active one) of a type: dom, res or any."""
        args = {"policy": str(policy), "label_type": str(label_type)}
        return cast(list[str], await self._run("security_list_labels", None, args, timeout))

    async def security_get_labeled_resources(
        self, *, timeout: TimeoutArg = DEFAULT
    ) -> dict[str, list[str]]:
        """Every labeled resource with its ``[policy_type, policy, label]``."""
        return cast(
            "dict[str, list[str]]",
            await self._run("security_get_labeled_resources", None, None, timeout),
        )

    async def security_set_policy(
        self,
        policy_type: int,
        policy: str,
        flags: int,
        overwrite: bool = False,
        *,
        timeout: TimeoutArg = DEFAULT,
    ) -> tuple[int, bytes]:
        """Load a policy (ACM: its XML; flask: base64 of the binary); the result code
        and the error text."""
        args = {
            "policy_type": _int("policy_type", policy_type),
            "policy": str(policy),
            "flags": _int("flags", flags),
            "overwrite": bool(overwrite),
        }
        return cast(
            "tuple[int, bytes]", await self._run("security_set_policy", None, args, timeout)
        )

    async def security_reset_policy(self, *, timeout: TimeoutArg = DEFAULT) -> tuple[int, bytes]:
        """Go back to the default policy; the result code and the error text."""
        return cast(
            "tuple[int, bytes]", await self._run("security_reset_policy", None, None, timeout)
        )

    async def security_get_policy(self, *, timeout: TimeoutArg = DEFAULT) -> tuple[str, int]:
        """The loaded policy's XML (``""`` for none) and its flags."""
        return cast("tuple[str, int]", await self._run("security_get_policy", None, None, timeout))

    async def security_activate_policy(self, flags: int, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Activate the installed policy (``flags``: boot and/or load); xend's result code."""
        args = {"flags": _int("flags", flags)}
        return cast(int, await self._run("security_activate_policy", None, args, timeout))

    async def security_rm_bootpolicy(self, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Remove the policy from the boot configuration; xend's result code."""
        return cast(int, await self._run("security_rm_bootpolicy", None, None, timeout))

    async def security_get_xstype(self, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Which security policy types are enabled (a bit mask; 0 for none)."""
        return cast(int, await self._run("security_get_xstype", None, None, timeout))

    async def security_get_domain_label(self, dom: Dom, *, timeout: TimeoutArg = DEFAULT) -> str:
        """A domain's security label (``policy_type:policy:label``; ``""`` for none)."""
        return cast(str, await self._run("security_get_domain_label", dom, None, timeout))

    async def security_set_domain_label(
        self, dom: Dom, label: str, old_label: str = "", *, timeout: TimeoutArg = DEFAULT
    ) -> tuple[int, int]:
        """Relabel a domain; the result code and the domain's new ssidref."""
        args = {"label": str(label), "old_label": str(old_label)}
        return cast(
            "tuple[int, int]", await self._run("security_set_domain_label", dom, args, timeout)
        )

    async def security_on(self, *, timeout: TimeoutArg = DEFAULT) -> bool:
        """Whether a security policy is active (the acm and flask modules)."""
        return cast(bool, await self._run("security_on", None, None, timeout))

    async def security_getenforce(self, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Flask's mode: 1 enforcing, 0 permissive."""
        return cast(int, await self._run("security_getenforce", None, None, timeout))

    async def security_setenforce(self, mode: int, *, timeout: TimeoutArg = DEFAULT) -> int:
        """Set flask's mode (1 enforcing, 0 permissive); flask's result."""
        args = {"mode": _int("mode", mode, 0)}
        return cast(int, await self._run("security_setenforce", None, args, timeout))

    # -- introspection (XML-RPC only) -----------------------------------------------

    async def list_methods(self, *, timeout: TimeoutArg = DEFAULT) -> list[str]:
        """The names of the XML-RPC methods the server registered explicitly."""
        return cast(list[str], await self._run("list_methods", None, None, timeout))

    async def method_help(self, method: str, *, timeout: TimeoutArg = DEFAULT) -> str:
        """The server's help text for an XML-RPC method (its docstring; ``""`` if none)."""
        return cast(str, await self._run("method_help", None, {"method": str(method)}, timeout))

    async def method_signature(
        self, method: str, *, timeout: TimeoutArg = DEFAULT
    ) -> list[list[str]] | None:
        """An XML-RPC method's signatures as type names, return type first; ``None``
        when the server says ``signatures not supported`` (xend always does)."""
        args = {"method": str(method)}
        return cast(
            "list[list[str]] | None", await self._run("method_signature", None, args, timeout)
        )

    # -- CPU pools -------------------------------------------------------------------

    async def cpu_pool_create(self, config: SxpConfig, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Create and start a CPU pool from a ``(pool ...)`` config."""
        await self._run("cpu_pool_create", None, {"config": _config(config)}, timeout)

    async def cpu_pool_new(self, config: SxpConfig, *, timeout: TimeoutArg = DEFAULT) -> str:
        """Define a CPU pool; returns its UUID."""
        return cast(
            str, await self._run("cpu_pool_new", None, {"config": _config(config)}, timeout)
        )

    async def cpu_pool_start(self, pool: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Start a defined CPU pool."""
        await self._run("cpu_pool_start", None, {"pool": pool}, timeout)

    async def cpu_pool_list(
        self, names: Sequence[str] = (), *, timeout: TimeoutArg = DEFAULT
    ) -> list[Any]:
        """CPU pools (all, or those named) as ``[[uuid, [key, value], ...], ...]``."""
        return cast(
            list[Any], await self._run("cpu_pool_list", None, {"names": list(names)}, timeout)
        )

    async def cpu_pool_destroy(self, pool: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Stop a CPU pool."""
        await self._run("cpu_pool_destroy", None, {"pool": pool}, timeout)

    async def cpu_pool_delete(self, pool: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Forget a stopped CPU pool."""
        await self._run("cpu_pool_delete", None, {"pool": pool}, timeout)

    async def cpu_pool_cpu_add(self, pool: str, cpu: int, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Add a physical CPU to a pool."""
        await self._run(
            "cpu_pool_cpu_add", None, {"pool": pool, "cpu": _int("cpu", cpu, 0)}, timeout
        )

    async def cpu_pool_cpu_remove(
        self, pool: str, cpu: int, *, timeout: TimeoutArg = DEFAULT
    ) -> None:
        """Take a physical CPU out of a pool."""
        await self._run(
            "cpu_pool_cpu_remove", None, {"pool": pool, "cpu": _int("cpu", cpu, 0)}, timeout
        )

    async def cpu_pool_migrate(self, dom: str, pool: str, *, timeout: TimeoutArg = DEFAULT) -> None:
        """Move a domain into a CPU pool."""
        await self._run("cpu_pool_migrate", None, {"domain": str(dom), "pool": pool}, timeout)


def connect(
    url: str | None = None,
    *,
    protocol: Protocol = "auto",
    transport: Transport | None = None,
    timeout: float | None = 60.0,
    connect_timeout: float | None = 10.0,
    ssl_context: ssl.SSLContext | None = None,
    verify: bool = True,
    ssh_command: Sequence[str] | str | None = None,
    ssh_share: bool = False,
    max_connections: int | None = None,
    connector: Connector | None = None,
    limits: xmlrpc.Limits | None = None,
    headers: Headers | None = None,
    hooks: Hooks | None = None,
) -> XendClient:
    """A client for the xend at ``url``; open it with ``async with``. ``limits``: the
    decode limits (``XendClient`` says more; the default is safe); ``headers`` go on
    every request; ``hooks`` run around every call (``aioxend.hooks``)."""
    return XendClient(
        url,
        protocol=protocol,
        transport=transport,
        timeout=timeout,
        connect_timeout=connect_timeout,
        ssl_context=ssl_context,
        verify=verify,
        ssh_command=ssh_command,
        ssh_share=ssh_share,
        max_connections=max_connections,
        connector=connector,
        limits=limits,
        headers=headers,
        hooks=hooks,
    )
