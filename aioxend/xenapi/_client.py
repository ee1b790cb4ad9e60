"""``XenAPIClient``: one session with a xapi pool or a xend, over JSON-RPC or XML-RPC.

The client is the ``Caller`` of the generated classes (it inherits ``Namespace``, so
``xapi.VM.get_record(ref)`` is typed) and prepends the session to every call but the
logins. Its life is one ``async with``:

* **enter**: open the transport; choose the wire (``protocol="auto"``: JSON-RPC if a
  harmless read shows the server has it, ``_wire.JsonRpcWire.probe``, else XML-RPC);
  log in, or adopt ``session_id=``; read ``api_version`` from the session's host.
  Logging in follows xend's dialect (``session.login_with_password`` with two
  arguments after ``MESSAGE_PARAMETER_COUNT_MISMATCH``, xend's ``XendAPI.py``) and a pool
  member's ``HOST_IS_SLAVE [master address]``: once, to the master's address with the
  original URL's scheme, port and TLS settings, as xapi's own clients reconnect.
* **calls**: ``SESSION_INVALID`` on a session the client made logs in again (once,
  shared by concurrent calls) and re-sends the call only if it is a read
  (``read=True``); an adopted session is never replaced.
* **a pool** (``pool=True`` or a list of URLs): ``_failover.Failover`` learns the
  members and, when the master stops answering, finds the new one (reads are sent
  again there, writes fail with their ``TransportError``).
* **exit** (also on error and cancellation): log out a session we made, shielded from
  cancellation and bounded by ``LOGOUT_SECONDS``; close the connections.

Secrets stay out of sight: the password and the session reference appear in no log
line, no exception message (``<redacted>``) and no ``repr``.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self, cast

import anyio

from aioxend import xmlrpc
from aioxend._default import DEFAULT, TimeoutArg
from aioxend._log import REDACTED, XENAPI, Secrets
from aioxend._observe import Headers, Observer, header_pairs
from aioxend.errors import ProtocolError
from aioxend.transport import Endpoint, Timeouts, Transport, open_transport, parse_url
from aioxend.xenapi._failover import FAILOVER_SECONDS, Failover
from aioxend.xenapi._generated import NO_SESSION, Namespace
from aioxend.xenapi._transfer import Transfers
from aioxend.xenapi._wire import XENAPI_LIMITS, JsonRpcWire, Wire, XmlRpcWire
from aioxend.xenapi.errors import HostIsSlave, MessageParameterCountMismatch, SessionInvalid
from aioxend.xmlrpc._limits import check_limits

if TYPE_CHECKING:
    from aioxend.hooks import Hooks
    from aioxend.xenapi._cache import Cache
    from aioxend.xenapi._events import EventStream
    from aioxend.xmlrpc import XmlRpcValue

__all__ = ["LOCAL_XAPI", "LOCAL_XEND", "LOGOUT_SECONDS", "XenAPIClient", "default_url"]

log = XENAPI

LOCAL_XAPI: Final = "unix:///var/lib/xcp/xapi"
"""xapi's local socket (dom0 of a XenServer or XCP-ng host)."""

LOCAL_XEND: Final = "httpu:///var/run/xend/xen-api.sock"
"""xend's Xen-API socket (Xen 3.1 to 4.4)."""

LOGOUT_SECONDS: Final = 5.0
"""The longest the logout on exit may take; it is shielded from cancellation."""

Protocol = Literal["auto", "jsonrpc", "xmlrpc"]
TransportFactory = Callable[[Endpoint], Transport]

_LOGIN: Final = "session.login_with_password"
_WIRE_SCHEMES: Final = ("http", "https", "httpu", "unix")


def default_url() -> str:
    """The local xapi socket if it exists, else xend's Xen-API socket."""
    return LOCAL_XAPI if os.path.exists(LOCAL_XAPI[len("unix://") :]) else LOCAL_XEND


def _master_url(endpoint: Endpoint, address: str) -> str | None:
    """The URL of the master a member named: its address with our scheme, port and path.

    ``None`` for a socket URL, which has no host to replace. xapi names an IP or host
    name; ``host:port`` and ``[v6]:port`` are read too.
    """
    if endpoint.host is None or endpoint.scheme not in ("http", "https"):
        return None
    address = address.strip()
    port = endpoint.port
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif address.count(":") == 1:
        host, _, text = address.partition(":")
        if text.isdigit():
            port = int(text)
    else:
        host = address
    if not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    return f"{endpoint.scheme}://{netloc}:{port}{endpoint.path}"


class XenAPIClient(Namespace, Transfers):
    """A Xen-API session; open it with ``async with`` (see ``aioxend.xenapi.connect``).

    ``session_id`` is the session reference, ``protocol`` the wire in use
    (``"jsonrpc"``/``"xmlrpc"``) and ``api_version`` the session host's
    ``(API_version_major, API_version_minor)``, all set on enter. ``transport`` makes
    the transport for an endpoint (tests pass a mock); by default ``open_transport``.
    ``url`` may be a list of a pool's URLs, tried in order; with it or ``pool=True`` the
    client fails over to a new master (``_failover``), searching up to
    ``failover_timeout`` seconds.
    ``import_vm``, ``export_vm``, ``import_raw_vdi`` and ``export_raw_vdi`` move VMs and
    disks over HTTP beside the RPC (``_transfer``).
    """

    session_id: str | None
    api_version: tuple[int, int] | None

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        originator: str = "aioxend",
        version: str = "1.0",
        protocol: Protocol = "auto",
        headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        timeout: float | None = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        verify: bool = True,
        session_id: str | None = None,
        transport: TransportFactory | None = None,
        pool: bool = False,
        failover_timeout: float = FAILOVER_SECONDS,
        hooks: Hooks | None = None,
        limits: xmlrpc.Limits | None = None,
    ) -> None:
        if protocol not in ("auto", "jsonrpc", "xmlrpc"):
            raise ValueError(f"unknown protocol {protocol!r}; use 'auto', 'jsonrpc' or 'xmlrpc'")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds or None: {timeout!r}")
        urls = [default_url()] if url is None else [url] if isinstance(url, str) else list(url)
        if not urls:
            raise ValueError("no URL: give a URL or a list of the pool's URLs")
        for one in urls:
            if parse_url(one).scheme not in _WIRE_SCHEMES:
                raise ValueError(
                    f"Xen-API is served over http, https, httpu or unix URLs, not {one!r}"
                )
        self._endpoint = parse_url(urls[0])
        self._failover: Failover | None = None
        if pool or not isinstance(url, str | None):
            if session_id is not None:
                raise ValueError(
                    "pool failover logs in at the new master: it needs a password, "
                    "not an adopted session_id"
                )
            self._failover = Failover(urls, learn=pool, timeout=failover_timeout)
        self._login_params = (username or "", password or "", version, originator)
        self._secrets = Secrets(password, session_id)
        self._requested: Protocol = protocol
        self._headers = header_pairs(headers)
        check_limits(limits)
        self._decode_limits = XENAPI_LIMITS if limits is None else limits
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._verify = verify
        self._factory = transport
        self._adopted = session_id is not None
        self.session_id = session_id
        self.api_version = None
        self._two_args = False
        self._transport: Transport | None = None
        self._wire: Wire | None = None
        self._state: Literal["new", "open", "closed"] = "new"
        self._relogin_lock = anyio.Lock()
        self._made_timeouts: dict[float | None, Timeouts] = {}
        self._observer = Observer("xenapi", XENAPI, hooks, self, self._secrets)

    # --- attributes ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The URL the client talks to (the master's, after a ``HOST_IS_SLAVE``)."""
        return self._endpoint.url

    @property
    def protocol(self) -> str:
        """``"jsonrpc"`` or ``"xmlrpc"`` once open; before, what was asked for."""
        return self._wire.protocol if self._wire is not None else self._requested

    def __repr__(self) -> str:
        session = "none" if self.session_id is None else REDACTED
        return (
            f"<XenAPIClient {self._endpoint.url} {self.protocol} {self._state} session={session}>"
        )

    def events(
        self, classes: Sequence[str], *, token: str = "", timeout: float = 30.0
    ) -> EventStream:
        """The pool's changes as ``Event``s (``Resync`` when some were lost), from ``token``
        (``""``: every current object first, as ``add``); ``timeout`` is how long each
        ``event.from`` waits on the server. See ``aioxend.xenapi._events``."""
        from aioxend.xenapi._events import EventStream

        return EventStream(self, classes, token=token, timeout=timeout)

    # --- the Caller protocol ---------------------------------------------------------------
    async def call(
        self,
        method: str,
        *params: object,
        timeout: TimeoutArg = DEFAULT,  # noqa: ASYNC109 (the Caller contract: per call)
        read: bool = False,
        headers: Headers | None = None,
    ) -> XmlRpcValue:
        """Call ``method`` (``"VM.get_power_state"``) with the session prepended.

        ``read=True`` says the call changes nothing, so it may be sent again after the
        client logs in anew on ``SESSION_INVALID``. The value is as either wire decodes
        it (JSON's types; XML-RPC's add ``bytes`` and ``datetime``). ``headers`` go on
        this call's requests only (a ``traceparent``).
        """
        extra = header_pairs(headers)
        if extra or self._observer.on():
            login = method in NO_SESSION
            target = None if login or not params else params[0]
            work = self._call(method, params, timeout, read)
            return await self._observer.run(method, target, work, extra, secret_result=login)
        return cast("XmlRpcValue", await self._route(method, params, timeout, read))

    async def _call(
        self,
        method: str,
        params: tuple[object, ...],
        timeout: TimeoutArg,  # noqa: ASYNC109 (call()'s, passed on)
        read: bool,
    ) -> XmlRpcValue:
        """``_route``'s call as one coroutine, for the observer to run (a misuse such as
        a call on a closed client is then its failure too)."""
        return cast("XmlRpcValue", await self._route(method, params, timeout, read))

    def _route(
        self,
        method: str,
        params: tuple[object, ...],
        timeout: TimeoutArg,
        read: bool,
    ) -> Coroutine[Any, Any, object]:
        """The coroutine of the call's path: a login's (no session), the failover's, or a
        session call's. A plain function: a call awaits one coroutine frame fewer."""
        wire = self._open_wire()
        timeouts = self._timeouts(timeout)
        if method in NO_SESSION:
            return wire.call(method, params, timeouts=timeouts, read=read, hidden=self._hidden())
        if self._failover is not None:
            return self._failover.call(self, method, params, timeouts, read)
        return self._session_call(method, params, timeouts, read)

    async def _session_call(
        self, method: str, params: tuple[object, ...], timeouts: Timeouts, read: bool
    ) -> object:
        """A call with the session prepended, logging in anew once on ``SESSION_INVALID``."""
        wire = self._open_wire()
        session = self.session_id
        try:
            return await wire.call(
                method, (session, *params), timeouts=timeouts, read=read, hidden=self._hidden()
            )
        except SessionInvalid:
            if self._adopted or self._state != "open":
                raise
            await self._relogin(session)
            if not read:
                raise
        wire = self._open_wire()
        return await wire.call(
            method, (self.session_id, *params), timeouts=timeouts, read=read, hidden=self._hidden()
        )

    def _open_wire(self) -> Wire:
        if self._state == "closed":
            raise RuntimeError("this XenAPIClient is closed")
        if self._wire is None:
            raise RuntimeError("open the client first: async with xenapi.connect(...) as xapi")
        return self._wire

    def _hidden(self) -> tuple[str, ...]:
        """The secrets kept out of errors: the password and the session references."""
        return self._secrets.values

    def _timeouts(self, timeout: TimeoutArg) -> Timeouts:
        total = self._timeout if timeout is DEFAULT else timeout
        if not (total is None or isinstance(total, (int, float))):
            raise TypeError(f"timeout must be seconds, None or DEFAULT, not {timeout!r}")
        made = self._made_timeouts.get(total)
        if made is None:
            connect = 10.0 if total is None else min(10.0, total)
            made = Timeouts(connect=connect, read=total, write=total, pool=total, total=total)
            if len(self._made_timeouts) < 64:
                self._made_timeouts[total] = made
        return made

    async def cache(self, classes: Sequence[str]) -> Cache:
        """A live cache of ``classes`` (``["VM", "host"]``), seeded and kept current by
        events until its ``aclose()`` (``aioxend.xenapi._cache``)."""
        from aioxend.xenapi._cache import open_cache

        return await open_cache(self, classes)

    # --- enter and exit ------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise RuntimeError("a XenAPIClient can be opened once")
        self._state = "open"
        try:
            if self._failover is not None:
                await self._failover.enter(self)
            else:
                await self._open_here()
            self.api_version = await self._read_api_version()
        except BaseException:
            await self.aclose()
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
        """Log out the session we made (never an adopted one) and close the connections.

        Shielded from cancellation and bounded by ``LOGOUT_SECONDS``; a failed logout is
        logged (without the session) and not raised. Later calls raise ``RuntimeError``.
        """
        if self._state == "closed":
            return
        wire, transport = self._wire, self._transport
        with anyio.CancelScope(shield=True):
            if wire is not None and self.session_id is not None and not self._adopted:
                with anyio.move_on_after(LOGOUT_SECONDS):
                    try:
                        logout = wire.call(
                            "session.logout",
                            (self.session_id,),
                            timeouts=self._timeouts(LOGOUT_SECONDS),
                            read=False,
                            hidden=self._hidden(),
                        )
                        if self._observer.on():
                            await self._observer.run("session.logout", None, logout)
                        else:
                            await logout
                    except Exception as exc:  # the session ends with the server anyway
                        log.debug("Xen-API logout at %s failed: %s", self.url, exc)
            self._state = "closed"
            self._wire = self._transport = None
            if transport is not None:
                await transport.aclose()

    async def _open_here(self) -> None:
        """Open the transport to ``_endpoint``, choose the wire, log in (or adopt)."""
        self._transport = self._make_transport(self._endpoint)
        choose = self._choose_wire(self._transport)
        on = self._observer.on()
        self._wire = await (self._observer.run("connect", None, choose) if on else choose)
        if not self._adopted:
            await self._login()

    async def _drop_transport(self) -> None:
        """Close the transport (an attempt that failed), keeping the client open."""
        transport, self._transport, self._wire = self._transport, None, None
        if transport is not None:
            await transport.aclose()

    def _make_transport(self, endpoint: Endpoint) -> Transport:
        if self._factory is not None:
            return self._factory(endpoint)
        return open_transport(
            endpoint,
            timeouts=self._timeouts(DEFAULT),
            ssl_context=self._ssl_context,
            verify=self._verify,
        )

    def _make_wire(self, protocol: str, transport: Transport) -> Wire:
        if protocol == "jsonrpc":
            return JsonRpcWire(transport, self._endpoint.url, self._headers)
        over_tcp = self._endpoint.scheme in ("http", "https")
        target = self._endpoint.path if over_tcp else "/"
        return XmlRpcWire(transport, self._endpoint.url, self._headers, target, self._decode_limits)

    async def _choose_wire(self, transport: Transport) -> Wire:
        if self._requested != "auto":
            return self._make_wire(self._requested, transport)
        wire = self._make_wire("jsonrpc", transport)
        assert isinstance(wire, JsonRpcWire)
        if await wire.probe(self._timeouts(DEFAULT)):
            return wire
        log.debug("%s has no JSON-RPC; using XML-RPC", self.url)
        return self._make_wire("xmlrpc", transport)

    # --- sessions --------------------------------------------------------------------------
    async def _login(self) -> None:
        """Log in; on ``HOST_IS_SLAVE`` once more at the master's address."""
        try:
            self.session_id = await self._login_here()
        except HostIsSlave as exc:
            url = _master_url(self._endpoint, exc.params[0]) if exc.params else None
            if url is None:
                raise
            await self._move_to(url)
            self.session_id = await self._login_here()

    async def _login_here(self) -> str:
        """``session.login_with_password`` with four arguments, or xend's two."""
        params = self._login_params[:2] if self._two_args else self._login_params
        try:
            session = await self.call(_LOGIN, *params)
        except MessageParameterCountMismatch:
            if self._two_args:
                raise
            self._two_args = True
            session = await self.call(_LOGIN, *self._login_params[:2])
        if not isinstance(session, str) or not session:
            raise ProtocolError(f"{_LOGIN} at {self.url}: the answer is not a session reference")
        self._secrets.add(session)
        log.debug("logged in to %s over %s", self.url, self.protocol)
        return session

    async def _move_to(self, url: str) -> None:
        """Reconnect to the pool master at ``url`` with the same wire and TLS settings."""
        endpoint = parse_url(url)
        protocol = self.protocol
        old, self._transport = self._transport, None
        self._endpoint = endpoint
        if old is not None:
            await old.aclose()
        self._transport = self._make_transport(endpoint)
        self._wire = self._make_wire(protocol, self._transport)
        log.debug("moved to the pool master at %s", url)

    async def _relogin(self, stale: str | None) -> None:
        """Log in anew unless a concurrent call already replaced the ``stale`` session."""
        async with self._relogin_lock:
            if self.session_id == stale:
                log.debug("Xen-API session at %s expired; logging in again", self.url)
                self.session_id = await self._login_here()

    async def _read_api_version(self) -> tuple[int, int]:
        """``(major, minor)`` of the session's host, as xapi and xend expose them."""
        host = await self.call("session.get_this_host", self.session_id, read=True)
        major = await self.call("host.get_API_version_major", host, read=True)
        minor = await self.call("host.get_API_version_minor", host, read=True)
        try:
            return int(str(major)), int(str(minor))
        except ValueError:
            raise ProtocolError(
                f"host.get_API_version_major/minor at {self.url}: not integers"
            ) from None
