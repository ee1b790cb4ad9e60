"""Xen-API: the async client for xapi (XenServer, XCP-ng) and for xend's Xen-API.

::

    from aioxend import xenapi

    async with xenapi.connect("https://pool-master.example/",
                              username="root", password="...") as xapi:
        vms = await xapi.VM.get_all_records()        # dict[VMRef, VMRecord]
        state = await xapi.call("VM.get_power_state", ref)
        await (await xapi.Async.VM.clean_shutdown(ref))  # a Task: awaited, destroyed
        async for event in xapi.events(["vm"]):        # Event, or Resync after a loss
            ...

URLs: ``https://host/``, ``http://host:9363/`` (xend's TCP listener), ``httpu:///path``
and ``unix:///path`` (HTTP on a UNIX socket). With no URL: xapi's local socket
``unix:///var/lib/xcp/xapi`` if it exists, else xend's ``/var/run/xend/xen-api.sock``.
Errors are ``aioxend.XenAPIError`` and its subclasses in ``aioxend.xenapi.errors``;
``JsonRpcError`` is a JSON-RPC error that did not come from xapi (a proxy's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aioxend._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping, Sequence

    from aioxend.hooks import Hooks
    from aioxend.xenapi._cache import Cache, CacheError, CacheView, Change
    from aioxend.xenapi._client import (
        LOCAL_XAPI,
        LOCAL_XEND,
        Protocol,
        XenAPIClient,
        default_url,
    )
    from aioxend.xenapi._events import Event, EventStream, Resync
    from aioxend.xenapi._generated._refs import *  # noqa: F403
    from aioxend.xenapi._task import Task
    from aioxend.xenapi._wire import JsonRpcError
    from aioxend.xmlrpc import Limits

__all__ = [
    "LOCAL_XAPI",
    "LOCAL_XEND",
    "Cache",
    "CacheError",
    "CacheView",
    "Change",
    "Event",
    "EventStream",
    "JsonRpcError",
    "Resync",
    "Task",
    "XenAPIClient",
    "connect",
    "default_url",
]

# Loaded on first use, so ``import aioxend.xenapi`` costs next to nothing: the client with
# its transport and codecs, and the generated types (``xenapi.VMRef``, ``xenapi.VMRecord``,
# ``xenapi.VmPowerState``: the module of each is in ``_generated.PUBLIC``).
_LAZY = {
    "Cache": "._cache",
    "CacheError": "._cache",
    "CacheView": "._cache",
    "Change": "._cache",
    "LOCAL_XAPI": "._client",
    "LOCAL_XEND": "._client",
    "XenAPIClient": "._client",
    "default_url": "._client",
    "JsonRpcError": "._wire",
    "Event": "._events",
    "EventStream": "._events",
    "Resync": "._events",
    "Task": "._task",
}


def _generated_homes() -> dict[str, str]:
    from aioxend.xenapi._generated import PUBLIC

    return {name: f"._generated.{module}" for name, module in PUBLIC.items()}


# ``Any``: the generated types are not all imported above for the type checker.
__getattr__: Callable[[str], Any]
__getattr__, __dir__ = _lazy_names(__name__, _LAZY, _generated_homes)


def connect(
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
    pool: bool = False,
    failover_timeout: float = 60.0,
    hooks: Hooks | None = None,
    limits: Limits | None = None,
) -> XenAPIClient:
    """A Xen-API client for ``url``; ``async with`` logs in and, on exit, out.

    ``username``/``password``/``version``/``originator`` are
    ``session.login_with_password``'s (xend takes the first two only, and gets only
    those). ``protocol`` is ``"jsonrpc"``, ``"xmlrpc"`` or ``"auto"`` (JSON-RPC where the
    server has it). ``headers`` go on every request; ``timeout`` (seconds, ``None`` for
    none) bounds each call unless the call gives its own ``timeout=``. ``ssl_context``
    and ``verify`` apply to ``https://``. ``session_id`` adopts an existing session: no
    login, and no logout either. ``hooks`` (``aioxend.hooks.Hooks``) run around every
    call; ``xapi.call(..., headers=)`` adds headers to one call. ``limits``
    (``aioxend.xmlrpc.Limits``) bound what one XML-RPC answer may make the client decode
    (by default 256 MiB and 20 million values, enough for a 10,000-VM pool's records); the
    transport bounds any body to 256 MiB on both wires.

    ``pool=True`` survives the loss of the pool master: the client learns the members'
    addresses and, when the master stops answering, finds the new master among them
    (up to ``failover_timeout`` seconds), sending again there only the calls that are
    reads. A list of URLs does the same with those URLs tried first (and only those
    unless ``pool=True``).
    """
    from aioxend.xenapi._client import XenAPIClient

    return XenAPIClient(
        url,
        username=username,
        password=password,
        originator=originator,
        version=version,
        protocol=protocol,
        headers=headers,
        timeout=timeout,
        ssl_context=ssl_context,
        verify=verify,
        session_id=session_id,
        pool=pool,
        failover_timeout=failover_timeout,
        hooks=hooks,
        limits=limits,
    )
