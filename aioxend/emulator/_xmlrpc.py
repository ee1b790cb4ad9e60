"""The legacy XML-RPC listener (xend 3.0.2 to 4.4), on aiohttp.web.

Strategy: requests are decoded and answers encoded with the standard library's
``xmlrpc.client`` (``allow_none``), as xend used ``xmlrpclib``; our own codec is never
involved, so client tests check it against one we did not write. The method table is
built the way ``XMLRPCServer.run()`` built it (Xen 4.4
``tools/python/xen/xend/server/XMLRPCServer.py``): the per-domain dispatch functions, every
``XendDomain.domain_*``, the node, dmesg, CPU-pool and dummy-XSM functions, the special
cases, and introspection. The marshalling rules of ``util/xmlrpclib2.py``
``_marshaled_dispatch`` are kept: faults carry the raw value, other errors become fault 1
with ``str(exc)``, a top-level string is sent as ``repr(s)[1:-1]`` of its UTF-8 bytes,
domain records lose ``vcpu_avail``, an int beyond 32 bits is fault 1 "int exceeds XML-RPC
limits", and an unknown name answers the ``MESSAGE_METHOD_UNKNOWN`` struct. Wrong argument
counts fail with Python 2's TypeError text. A body that is not XML-RPC, or a request without
Content-Length, gets no answer at all (xend let the exception kill the connection); a GET
gets 501 on TCP and no answer on a UNIX socket, as observed.
"""

from __future__ import annotations

import asyncio
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from aioxend._log import EMULATOR
from aioxend.emulator._errors import XendError, XendFault
from aioxend.emulator._faults import FaultInjector
from aioxend.emulator._host import Host
from aioxend.emulator._limits import Gate
from aioxend.emulator._py2 import Long, arity_error, ordered_dict, repr_text, type_name
from aioxend.emulator._records import Domain
from aioxend.emulator._wire import RAW_KINDS, write_faulty

__all__ = ["XmlRpcDispatcher", "fixup_sxpr", "make_xmlrpc_app"]

SERVER_HEADER = "BaseHTTP/0.3 Python/2.7.3"


def fixup_sxpr(sexpr: object) -> object:
    """``XMLRPCServer.fixup_sxpr``: drop every ``[vcpu_avail, x]``; tuples become lists."""
    if not isinstance(sexpr, (list, tuple)):
        return sexpr
    out: list[object] = []
    for item in sexpr:
        if isinstance(item, (list, tuple)):
            if len(item) != 2 or item[0] != "vcpu_avail":
                out.append(fixup_sxpr(item))
        else:
            out.append(item)
    return out


class _MarshalError(TypeError):
    pass


def _plain(value: object) -> object:
    """What xmlrpclib would marshal: longs as ints, dicts in Python 2 order."""
    if isinstance(value, Long):
        return int(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in ordered_dict(value).items()}
    if isinstance(value, Domain):
        # an XendDomainInfo instance: xmlrpclib walks its __dict__ and meets a lock
        raise _MarshalError("cannot marshal <type 'thread.lock'> objects")
    return value


@dataclass(frozen=True)
class _Method:
    fn: Callable[..., object]
    pyname: str
    required: int
    maximum: int | None
    doc: str = ""


class _Unknown(Exception):
    pass


# XendDomainInfo methods reachable as xend.domain.<m>(dom, *args): (required, max) with self
_DISPATCH: dict[str, tuple[int, int]] = {
    "device_create": (2, 2),
    "device_configure": (2, 3),
    "destroyDevice": (3, 5),
    "getDeviceSxprs": (2, 2),
    "setMemoryTarget": (2, 2),
    "setName": (2, 3),
    "setVCpuCount": (2, 2),
    "shutdown": (2, 2),
    "send_sysrq": (2, 2),
    "getVCPUInfo": (1, 1),
    "waitForDevices": (1, 1),
    "getRestartCount": (1, 1),
    "getBlockDeviceClass": (2, 2),
}

# XendDomain.domain_<m>: (required, max) counting self
_DOMAIN: dict[str, tuple[int, int]] = {
    "setpauseflag": (2, 3),
    "getpauseflag": (2, 2),
    "lookup": (2, 2),
    "lookup_nr": (2, 2),
    "suspend": (2, 2),
    "resume": (2, 3),
    "create_from_dict": (2, 2),
    "new": (2, 2),
    "start": (2, 3),
    "delete": (2, 2),
    "delete_by_dominfo": (2, 2),
    "configure": (2, 2),
    "restore_fd": (2, 4),
    "unpause": (2, 2),
    "pause": (2, 3),
    "dump": (2, 6),
    "destroy": (2, 2),
    "migrate": (3, 8),
    "save": (3, 4),
    "usb_add": (3, 3),
    "usb_del": (3, 3),
    "pincpu": (4, 4),
    "cpu_sedf_set": (7, 7),
    "cpu_sedf_get": (2, 2),
    "shadow_control": (3, 3),
    "shadow_mem_get": (2, 2),
    "shadow_mem_set": (3, 3),
    "sched_credit_get": (2, 2),
    "sched_credit_set": (2, 4),
    "sched_credit2_get": (2, 2),
    "sched_credit2_set": (2, 3),
    "maxmem_set": (3, 3),
    "ioport_range_enable": (4, 4),
    "ioport_range_disable": (4, 4),
    "send_trigger": (3, 4),
    "reset": (2, 2),
}

_NODE: dict[str, tuple[str, int, int]] = {
    "info": ("node_info", 1, 2),
    "pciinfo": ("pciinfo", 1, 1),
    "send_debug_keys": ("send_debug_keys", 2, 2),
    "tmem_list": ("tmem_list", 3, 3),
    "tmem_freeze": ("tmem_freeze", 2, 2),
    "tmem_thaw": ("tmem_thaw", 2, 2),
    "tmem_flush": ("tmem_flush", 3, 3),
    "tmem_destroy": ("tmem_destroy", 2, 2),
    "tmem_set_weight": ("tmem_set_weight", 3, 3),
    "tmem_set_cap": ("tmem_set_cap", 3, 3),
    "tmem_set_compress": ("tmem_set_compress", 3, 3),
    "tmem_query_freeable_mb": ("tmem_query_freeable_mb", 1, 1),
    "tmem_shared_auth": ("tmem_shared_auth", 4, 4),
}

_POOL: dict[str, int] = {
    "create": 2,
    "new": 2,
    "start": 2,
    "list": 2,
    "destroy": 2,
    "delete": 2,
    "cpu_add": 3,
    "cpu_remove": 3,
    "migrate": 3,
}

_XSM_UNSUPPORTED = "Command not supported under xsm 'dummy' module."


def _xsm_err(*_args: object) -> object:
    raise XendError(_XSM_UNSUPPORTED)


# the dummy XSM module's xmlrpc_exports: (function, required, max)
_SECURITY: dict[str, tuple[Callable[..., object], int, int]] = {
    "set_resource_label": (_xsm_err, 4, 5),
    "get_resource_label": (lambda _res: "", 1, 1),
    "list_labels": (lambda _policy_name, _ltype: [], 2, 2),
    "get_labeled_resources": (lambda: {}, 0, 0),
    "set_policy": (_xsm_err, 4, 4),
    "reset_policy": (_xsm_err, 0, 0),
    "get_policy": (lambda: ["", 0], 0, 0),
    "activate_policy": (_xsm_err, 1, 1),
    "rm_bootpolicy": (_xsm_err, 0, 0),
    "get_xstype": (lambda: 0, 0, 0),
    "get_domain_label": (lambda _dom: "", 1, 1),
    "set_domain_label": (_xsm_err, 3, 3),
}


class XmlRpcDispatcher:
    """Method table and marshalling of xend's legacy XML-RPC server, over one ``Host``."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.methods: dict[str, _Method] = {}
        self._build()

    # -- the table -----------------------------------------------------------------
    def _register(self, name: str, method: _Method) -> None:
        self.methods[name] = method

    def _build(self) -> None:
        host = self.host
        for name, (req, mx) in _DISPATCH.items():
            self._register(
                f"xend.domain.{name}",
                _Method(self._dispatcher(name, req, mx), "<lambda>", 1, None),
            )
        for name, (req, mx) in _DOMAIN.items():
            fn = getattr(host, f"domain_{name}", None) or getattr(self, f"_domain_{name}")
            self._register(
                f"xend.domain.{name}",
                _Method(fn, f"domain_{name}", req, mx, (fn.__doc__ or "").strip()),
            )
        for name, mx in _POOL.items():
            fn = getattr(host, f"pool_{name}")
            self._register(f"xend.cpu_pool.{name}", _Method(fn, f"pool_{name}", mx, mx))
        for name, (attr, req, mx) in _NODE.items():
            fn = getattr(host, attr)
            self._register(
                f"xend.node.{name}", _Method(fn, name, req, mx, (fn.__doc__ or "").strip())
            )
        self._register("xend.node.dmesg.info", _Method(host.dmesg_info, "info", 1, 1))
        self._register("xend.node.dmesg.clear", _Method(host.dmesg_clear, "clear", 1, 1))
        self._register("xend.domain", _Method(self._domain, "domain", 1, 2))
        self._register("xend.domains", _Method(self._domains, "domains", 0, 2))
        self._register(
            "xend.domains_with_state",
            _Method(self._domains_with_state, "domains_with_state", 3, 3),
        )
        self._register("xend.node.log", _Method(host.xend_log, "get_log", 0, 0))
        self._register("xend.domain.create", _Method(self._create, "domain_create", 1, 1))
        self._register("xend.domain.restore", _Method(self._restore, "domain_restore", 1, 2))
        for name, (fn, req, mx) in _SECURITY.items():
            self._register(f"xend.security.{name}", _Method(fn, name, req, mx))
        self._register(
            "system.listMethods", _Method(self._list_methods, "system_listMethods", 1, 1)
        )
        self._register("system.methodHelp", _Method(self._method_help, "system_methodHelp", 2, 2))
        self._register(
            "system.methodSignature",
            _Method(lambda _name: "signatures not supported", "system_methodSignature", 2, 2),
        )

    def _dispatcher(self, name: str, required: int, maximum: int) -> Callable[..., object]:
        host = self.host

        def call(domid: object, *args: object) -> object:
            dom = host.lookup(domid)
            error = arity_error(name, required, maximum, 1 + len(args))
            if error is not None:
                raise TypeError(error)
            return getattr(host, name)(dom, *args)

        return call

    # -- special cases of XMLRPCServer.py -------------------------------------------
    def _domain(self, domid: object, full: object = 0) -> object:
        return fixup_sxpr(self.host.lookup(domid).sxpr(full=bool(full)))

    def _domains(self, detail: object = True, full: object = False) -> object:
        return self._domains_with_state(detail, 2, full)

    def _domains_with_state(self, detail: object, state: object, full: object) -> object:
        if detail:
            return [fixup_sxpr(d.sxpr(full=bool(full))) for d in self.host.list_sorted(state)]
        return self.host.list_names(state)

    def _create(self, config: object) -> object:
        return fixup_sxpr(self.host.domain_create(config).sxpr())

    def _restore(self, src: object, paused: object = False) -> object:
        return fixup_sxpr(self.host.domain_restore(src, paused).sxpr())

    def _domain_lookup(self, domid: object) -> object:
        return self.host.lookup(domid)

    def _domain_lookup_nr(self, domid: object) -> object:
        return self.host.lookup_nr(domid)

    def _domain_delete_by_dominfo(self, dominfo: object) -> object:
        raise AttributeError(f"'{type_name(dominfo)}' object has no attribute 'getName'")

    def _list_methods(self) -> list[str]:
        return sorted(self.methods)

    def _method_help(self, name: object) -> str:
        method = self.methods.get(name) if isinstance(name, str) else None
        return method.doc if method is not None else ""

    # -- dispatch and marshalling --------------------------------------------------
    def call(self, method: str, params: tuple[Any, ...]) -> object:
        """Run ``method``: its result, or the exception xend would have raised."""
        entry = self.methods.get(method)
        if entry is None:
            # XendAPIAsyncProxy(None): unknown names answer normally, as a failure struct
            return {"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", method]}
        given = len(params) + (0 if entry.pyname in _FUNCTIONS else 1)
        error = arity_error(entry.pyname, entry.required, entry.maximum, given)
        if error is not None:
            raise TypeError(error)
        return entry.fn(*params)

    def dispatch(self, body: bytes) -> bytes:
        """Answer one request body. Raises ValueError if it is not XML-RPC at all."""
        params, method = xmlrpc.client.loads(body, use_builtin_types=False)
        if not isinstance(method, str):
            raise ValueError("not an XML-RPC call")
        return self.answer(method, params)

    def answer(self, method: str, params: tuple[Any, ...]) -> bytes:
        """The response document for ``method(*params)``."""
        try:
            with self.host.lock:
                result = self.call(method, params)
            if isinstance(result, str):
                result = repr_text(result)[1:-1]
            values: Any = (_plain(result),)
            text = xmlrpc.client.dumps(values, methodresponse=True, allow_none=True)
            EMULATOR.debug("xmlrpc %s: answered", method)
        except XendFault as fault:
            EMULATOR.debug("xmlrpc %s: fault %s", method, fault.code)
            text = xmlrpc.client.dumps(
                xmlrpc.client.Fault(fault.code, cast(Any, _plain(fault.value))), allow_none=True
            )
        except Exception as exc:
            self.host.log("ERROR", "XMLRPCServer", f"Internal error handling {method}: {exc}")
            text = xmlrpc.client.dumps(xmlrpc.client.Fault(1, str(exc)), allow_none=True)
        return text.encode("utf-8")


# registered names whose Python 2 callable was a plain function (no ``self`` counted)
_FUNCTIONS = frozenset(
    {
        "<lambda>",
        "domain",
        "domains",
        "domains_with_state",
        "get_log",
        "domain_create",
        "domain_restore",
        *_SECURITY,
    }
)


_MALFORMED_XML = (
    b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
    b"<value><struct><member><name>oops</name><value><int>1</string></value>\n"
)

_ERROR_PAGE = """<head>
<title>Error response</title>
</head>
<body>
<h1>Error response</h1>
<p>Error code 501.
<p>Message: Unsupported method ('{method}').
<p>Error code explanation: 501 = Server does not support this operation.
</body>
"""


def make_xmlrpc_app(
    dispatcher: XmlRpcDispatcher,
    faults: FaultInjector,
    stop: asyncio.Event,
    gate: Gate,
    *,
    unix: bool,
) -> web.Application:
    """The aiohttp application of one XML-RPC listener (UNIX socket or TCP)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        transport = request.transport
        if request.method != "POST":
            if unix or transport is None:
                # xend's 501 handler crashed logging an AF_UNIX peer: nothing was sent
                if transport is not None:
                    transport.close()
                return web.Response()
            page = _ERROR_PAGE.format(method=request.method).encode()
            resp = web.Response(
                status=501,
                reason=f"Unsupported method ('{request.method}')",
                body=b"" if request.method == "HEAD" else page,
                headers={
                    "Server": SERVER_HEADER,
                    "Content-Type": "text/html",
                    "Connection": "close",
                },
            )
            resp.force_close()
            return resp
        if "Content-Length" not in request.headers or transport is None:
            if transport is not None:
                transport.close()
            return web.Response()
        body = await request.read()
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=False)
            if not isinstance(method, str):
                raise ValueError("not a methodCall")
        except Exception:
            transport.close()
            return web.Response()
        picked = faults.pick([method])
        if picked.latency:
            await asyncio.sleep(picked.latency)
        kind = picked.kind
        if kind == "http500":
            return web.Response(
                status=500,
                body=b"Internal Server Error",
                headers={"Server": SERVER_HEADER, "Content-Type": "text/plain"},
            )
        if kind in ("drop_before", "stall"):
            await write_faulty(transport, kind, 200, "OK", [], b"", delay=0, stop=stop)
            return web.Response()
        payload = dispatcher.answer(method, params)
        if kind == "malformed":
            payload = _MALFORMED_XML
        headers = [("Server", SERVER_HEADER), ("Content-Type", "text/xml")]
        if kind in RAW_KINDS:
            await write_faulty(
                transport, kind, 200, "OK", headers, payload, delay=picked.delay, stop=stop
            )
            return web.Response()
        if kind == "trickle":
            stream = web.StreamResponse(headers=dict(headers))
            stream.content_length = len(payload)
            try:
                await stream.prepare(request)
                for i in range(len(payload)):
                    if transport.is_closing() or stop.is_set():
                        break
                    await stream.write(payload[i : i + 1])
                    await asyncio.sleep(picked.delay)
            except ConnectionError:  # the client went away mid-trickle
                transport.close()
            return stream
        return web.Response(body=payload, headers=dict(headers))

    async def gated(request: web.Request) -> web.StreamResponse:
        # the body is reserved by its declared length, then read while the connection
        # may still time out idle; only the answer counts as busy (see _limits)
        length = request.content_length or 0
        if not gate.reserve(length):
            busy = web.Response(status=503, text="Service unavailable: too many request bytes\n")
            busy.force_close()
            return busy
        try:
            if request.method == "POST" and request.content_length is not None:
                await request.read()  # aiohttp keeps it for handler's own read()
            with gate.busy(request.transport):
                return await handler(request)
        finally:
            gate.release(length)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", gated)
    return app
