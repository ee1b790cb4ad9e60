"""The XML-RPC backend: xend's legacy "xm" API (protocol reference sections 1.2-1.4, 2).

A call is one ``POST`` of an XML-RPC request with ``Content-Type: text/xml`` to the
endpoint's path (xend ignores the path; xm sent ``/RPC2``). The answer is fed to the
streaming decoder chunk by chunk as it arrives, yielding to the event loop every few
hundred kilobytes, so a 20 MB ``xend.domains`` answer never blocks the loop for long
and is never held twice in memory.

What comes back is brought to the neutral shape of ``_ops``:

* a fault becomes the ``Fault`` subclass for its code, rebuilt so its message names the
  operation and the domain;
* the ``{'Status': 'Failure', 'ErrorDescription': ['MESSAGE_METHOD_UNKNOWN', name]}``
  struct that xend 3.1+ returns for an unknown method (it is not a fault) becomes
  ``MethodNotSupported``, as does 3.0's ``Fault(1, 'method "x" is not supported')``;
* a top-level string was sent as Python's ``repr(s)[1:-1]`` (section 1.2) and is
  unescaped with ``aioxend.sxp.unescape``, never ``eval``;
* anything else goes through ``aioxend.sxp.from_xmlrpc`` unless the raw value is asked
  for (``call``); as the decoded value is ours alone, it is converted in place
  (``convert_owned``), and a long list item by item, yielding to the loop every few ms.

An answer over ``GC_HOLD_BYTES`` is decoded with the cyclic garbage collector held off
(``GcHold`` in ``_base`` explains why and how); the collection that is then due runs
just after a yield to the loop, once, instead of as several full passes mid-decode.

An answer that shows the endpoint is not an XML-RPC server at all (400/404/405/406/501, HTML,
an SXP or plain-text body) raises ``NotXmlRpcServer``, an ``HTTPStatusError`` the
client's auto mode uses to fall back to the legacy protocol. A genuine fault or a
timeout never does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from aioxend import sxp, xmlrpc
from aioxend.errors import (
    Fault,
    HTTPStatusError,
    MethodNotSupported,
    ProtocolError,
    fault_for,
)
from aioxend.protocols._base import (
    GC_HOLD_BYTES,
    Backend,
    Call,
    GcHold,
    NotXmlRpcServer,
    before_release,
    chunks,
    convert_each,
    read_limited,
)
from aioxend.protocols._ops import Config
from aioxend.sxp._convert import convert_owned
from aioxend.transport import Request, Timeouts, Transport

__all__ = ["METHOD_UNKNOWN_CODE", "XmlRpcBackend"]

METHOD_UNKNOWN_CODE = -32601
"""The fault code given to ``MethodNotSupported`` (the XML-RPC interop "method not found")."""

# xend's XML-RPC server answers every POST with 200; these say another server answered.
_NOT_XMLRPC_STATUSES = frozenset({400, 404, 405, 406, 501})
_OLD_UNKNOWN = re.compile(r'^method "(.+)" is not supported$')
_YIELDING_LENGTH = 16
_HEADERS = (("Content-Type", "text/xml"), ("Accept", "text/xml"))


def _wire(value: object) -> object:
    """A Python argument as XML-RPC carries it to xend."""
    if isinstance(value, Config):
        return sxp.to_xmlrpc(value.expr)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


class XmlRpcBackend(Backend):
    """Runs operations as XML-RPC calls on one transport."""

    protocol = "xmlrpc"

    def __init__(
        self, transport: Transport, path: str = "/RPC2", limits: xmlrpc.Limits | None = None
    ) -> None:
        super().__init__(transport)
        self.path = path or "/RPC2"
        self.limits = limits

    async def invoke(self, call: Call) -> object:
        op = call.op
        params: list[object] = []
        if op.has_dom:
            if call.dom is None:
                raise ValueError(f"{op.name} needs a domain")
            params.append(_wire(call.dom))
        params.extend(_wire(call.args.get(name)) for name in op.xml_args)
        value = await self.call_method(
            op.method,
            params,
            read=op.read,
            timeouts=call.timeouts,
            label=op.name,
            dom=call.dom_label,
            gc_hold=call.gc_hold,
        )
        if value is None or isinstance(value, str):
            return value
        if type(value) is list and len(value) > _YIELDING_LENGTH:
            # A long list (``domains``): convert item by item, yielding to the loop.
            max_depth = sxp.DEFAULT_LIMITS.max_depth
            return await convert_each(value, lambda item: convert_owned(item, max_depth, 1))
        return convert_owned(value, sxp.DEFAULT_LIMITS.max_depth)

    async def call_method(
        self,
        method: str,
        params: Sequence[object],
        *,
        read: bool = False,
        timeouts: Timeouts | None = None,
        label: str | None = None,
        dom: str | None = None,
        gc_hold: GcHold | None = None,
    ) -> object:
        """Call ``method`` and return its decoded result; a top-level string unescaped.

        ``label`` names the operation in error messages (the method by default). A large
        answer decodes with the garbage collector held off (``GcHold``); given
        ``gc_hold``, the hold is the caller's to release, else it ends with the decode.
        """
        if gc_hold is not None:
            return await self._call_method(method, params, read, timeouts, label, dom, gc_hold)
        hold = GcHold()
        try:
            value = await self._call_method(method, params, read, timeouts, label, dom, hold)
            if hold.held:
                await before_release()
            return value
        finally:
            hold.release()

    async def _call_method(
        self,
        method: str,
        params: Sequence[object],
        read: bool,
        timeouts: Timeouts | None,
        label: str | None,
        dom: str | None,
        hold: GcHold,
    ) -> object:
        label = label or method
        body = xmlrpc.dumps(tuple(params), method, allow_none=True)
        request = Request("POST", self.path, _HEADERS, body, timeouts=timeouts, retry_safe=read)
        async with self.transport.stream(request) as response:
            if response.status != 200:
                head = await read_limited(response)
                cls = (
                    NotXmlRpcServer if response.status in _NOT_XMLRPC_STATUSES else HTTPStatusError
                )
                raise cls(response.status, response.reason, head)
            content_type = (response.header("content-type") or "").lower()
            if "html" in content_type or "sxp" in content_type or "text/plain" in content_type:
                head = await read_limited(response)
                raise NotXmlRpcServer(response.status, response.reason, head)
            decoder = xmlrpc.Decoder(self.limits) if self.limits else xmlrpc.Decoder()
            first = b""
            fed = 0
            try:
                async for chunk in chunks(response):
                    if len(first) < 64:
                        first += chunk[: 64 - len(first)]
                    decoder.feed(chunk)
                    if fed <= GC_HOLD_BYTES:
                        fed += len(chunk)
                        if fed > GC_HOLD_BYTES:
                            hold.acquire()
                results, _ = decoder.close()
            except Fault as fault:
                raise _named(fault.code, fault.string, label, dom) from None
            except ProtocolError:
                if _not_xml(first):
                    raise NotXmlRpcServer(response.status, response.reason, first) from None
                raise
        if len(results) != 1:
            raise ProtocolError(f"{label}: a response must carry one value, not {len(results)}")
        value = results[0]
        if isinstance(value, dict) and value.get("Status") == "Failure":
            raise _failure(value, label, dom)
        if isinstance(value, str):
            return sxp.unescape(value)
        return value


def _not_xml(head: bytes) -> bool:
    """Whether a body's start shows it is no XML document at all."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return not stripped.startswith(b"<") or stripped[:20].lower().startswith(
        (b"<!doctype html", b"<html")
    )


def _named(code: int, string: str | list[object], label: str, dom: str | None) -> Fault:
    """The fault for ``code``, naming the operation and domain; 3.0's unknown method
    fault becomes ``MethodNotSupported``."""
    if code == 1 and isinstance(string, str) and _OLD_UNKNOWN.match(string):
        return MethodNotSupported(code, string, method=label, dom=dom)
    return fault_for(code, string, method=label, dom=dom)


def _failure(value: dict[str, object], label: str, dom: str | None) -> Fault:
    """The fault for a Xen-API style ``{'Status': 'Failure'}`` answer."""
    description = value.get("ErrorDescription")
    parts = [str(p) for p in description] if isinstance(description, list) else [str(description)]
    if parts and parts[0] == "MESSAGE_METHOD_UNKNOWN":
        name = parts[1] if len(parts) > 1 else label
        return MethodNotSupported(
            METHOD_UNKNOWN_CODE, f"method {name!r} is not supported", method=label, dom=dom
        )
    detail: list[object] = list(parts)
    return fault_for(1, detail, method=label, dom=dom)
