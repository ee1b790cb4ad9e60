"""The XML-RPC backend: xend's legacy "xm" API (Xen 4.4 ``xend/server/XMLRPCServer.py``).

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
  ``MethodNotSupported`` with no code, and 3.0's ``Fault(1, 'method "x" is not
  supported')`` one with code 1;
* a top-level string was sent as Python's ``repr(s)[1:-1]`` (``util/xmlrpclib2.py``) and is
  unescaped with ``aioxend.sxp.unescape``, never ``eval``;
* anything else goes through ``aioxend.sxp.from_xmlrpc`` unless the raw value is asked
  for (``call_method``). An array answer (nearly all of them) is converted while it
  decodes: ``from_xmlrpc`` is the decoder's ``leaf`` hook, so no second pass walks the
  result; a struct or scalar answer is converted after.

The decoder reports the bytes it reads to the operation's ``GcHold`` (``_gc``), which
holds automatic garbage collection off once an answer is large, so no full collection
over a growing heap stalls the loop mid-decode. ``limits`` bound what one answer may
make the decoder hold (``xmlrpc.Limits``; ``connect(limits=...)`` raises them).

An answer that shows the endpoint is not an XML-RPC server at all (400/404/405/406/501, HTML,
an SXP or plain-text body) raises ``NotXmlRpcServer``, an ``HTTPStatusError`` the
client's auto mode uses to fall back to the legacy protocol. A genuine fault or a
timeout never does.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import cast

import anyio.lowlevel

from aioxend import sxp, xmlrpc
from aioxend.errors import (
    Fault,
    HTTPStatusError,
    LimitExceeded,
    MethodNotSupported,
    ProtocolError,
    RemoteProtocolError,
    fault_for,
)
from aioxend.protocols._base import (
    YIELD_EVERY,
    Backend,
    Call,
    NotXmlRpcServer,
    read_limited,
)
from aioxend.protocols._gc import GcHold
from aioxend.protocols._ops import Config
from aioxend.protocols._xmlbody import request_body
from aioxend.transport import Request, Response, Timeouts, Transport

__all__ = ["XmlRpcBackend"]

# xend's XML-RPC server answers every POST with 200; these say another server answered.
_NOT_XMLRPC_STATUSES = frozenset({400, 404, 405, 406, 501})
_OLD_UNKNOWN = re.compile(r'^method "(.+)" is not supported$')
_DEFAULT_LIMITS = xmlrpc.Limits()
_HEADERS = (("Content-Type", "text/xml"), ("Accept", "text/xml"))
_KEPT_REQUESTS = 256
"""How many requests of at most ``_KEPT_BODY`` bytes a backend keeps made (``_call``)."""
_KEPT_BODY = 1024


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
        self,
        transport: Transport,
        path: str = "/RPC2",
        limits: xmlrpc.Limits | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(transport)
        self.path = path or "/RPC2"
        self.limits = limits
        self.headers = (*_HEADERS, *headers)
        self._requests: dict[tuple[bytes, bool, int], Request] = {}

    async def invoke(self, call: Call, hold: GcHold) -> object:
        op = call.op
        params: list[object] = []
        if op.has_dom:
            if call.dom is None:
                raise ValueError(f"{op.name} needs a domain")
            params.append(_wire(call.dom))
        if op.xml_args:
            params.extend(_wire(call.args.get(name)) for name in op.xml_args)
        for name in op.optional:
            value = call.args.get(name)
            if value is None:
                break
            params.append(_wire(value))
        value = await self._call(
            op.method, params, op.read, call.timeouts, op.name, call.dom_label, hold, True
        )
        if value is None or type(value) is str or type(value) is list:
            return value  # a list was converted as it decoded
        return sxp.from_xmlrpc(value)

    async def call_method(
        self,
        method: str,
        params: Sequence[object],
        *,
        read: bool = False,
        timeouts: Timeouts | None = None,
    ) -> xmlrpc.XmlRpcValue:
        """Call ``method`` and return its decoded result, a top-level string unescaped."""
        hold = GcHold()
        try:
            result = await self._call(method, params, read, timeouts, method, None, hold, False)
        finally:
            if hold.held:
                await hold.end()
        return cast("xmlrpc.XmlRpcValue", result)  # no leaf hook: the decoder's own values

    async def _call(
        self,
        method: str,
        params: Sequence[object],
        read: bool,
        timeouts: Timeouts | None,
        label: str,
        dom: str | None,
        hold: GcHold,
        leaves: bool,
    ) -> object:
        """One request and its decoded answer. ``label`` and ``dom`` name the operation
        in error messages; ``leaves`` converts what is in an array answer to SXP atoms
        as it decodes (``sxp.from_xmlrpc`` as the decoder's hook)."""
        body = request_body(method, params)
        # The same call repeats (a monitor's domain("vm1"), pause/unpause of one domain):
        # its Request, an immutable value, is kept by body, kind and Timeouts object.
        key = (body, read, id(timeouts))
        request = self._requests.get(key)
        if request is None or request.timeouts is not timeouts:
            request = Request(
                "POST", self.path, self.headers, body, timeouts=timeouts, retry_safe=read
            )
            if len(body) <= _KEPT_BODY:
                if len(self._requests) >= _KEPT_REQUESTS:
                    self._requests.clear()
                self._requests[key] = request
        response = await self.transport.send(request)
        try:
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
            results = await self._read(response, hold, label, dom, leaves)
        finally:
            await response.aclose()
        if len(results) != 1:
            raise ProtocolError(f"{label}: a response must carry one value, not {len(results)}")
        value = results[0]
        if isinstance(value, dict) and value.get("Status") == "Failure":
            raise _failure(value, label, dom)
        if isinstance(value, str):
            return sxp.unescape(value)
        return value

    async def _read(
        self, response: Response, hold: GcHold, label: str, dom: str | None, leaves: bool
    ) -> Sequence[object]:
        """The decoded values of a 200 answer's body, read as it streams in.

        A body of at most ``_SMALL`` bytes that is, so far, exactly one that decoded
        before to a single immutable scalar (``pause`` answers ``<nil/>`` every time) is
        held back, and at its end that value is reused with no decoder made at all. Any
        other bytes go to a decoder as they arrive, so invalid input fails at once.
        """
        decoder: xmlrpc.Decoder | None = None
        small = b""  # the whole body, while it is no longer than _SMALL
        first = b""
        fed = 0
        since_yield = 0
        remember = self.limits is None
        try:
            # ``chunks()`` inlined: one async generator less per call.
            async for chunk in response.aiter_bytes():
                since_yield += len(chunk)
                if since_yield >= YIELD_EVERY:
                    since_yield = 0
                    await anyio.lowlevel.checkpoint()
                if fed + len(chunk) <= _SMALL:
                    small += chunk
                    if decoder is None:
                        if remember and small in _SMALL_ANSWERS:
                            continue
                        decoder = self._decoder(leaves)
                        chunk = small
                elif decoder is None:
                    decoder = self._decoder(leaves)
                    chunk = small + chunk
                if len(first) < 64:
                    first += chunk[: 64 - len(first)]
                decoder.feed(chunk)
                fed += len(chunk)
                if fed > hold.due:
                    hold.advance(fed)
            if decoder is None:
                return (_SMALL_ANSWERS[small],)
            results, _ = decoder.close()
            if (
                remember
                and fed <= _SMALL
                and len(results) == 1
                and type(results[0]) in _SCALARS
                and len(_SMALL_ANSWERS) < _SMALL_ANSWERS_MAX
            ):
                _SMALL_ANSWERS[small] = results[0]
            return results
        except Fault as fault:
            raise _named(fault.code, fault.string, label, dom) from None
        except (RemoteProtocolError, LimitExceeded):
            raise  # body framing and size errors keep their class: never "not XML-RPC"
        except ProtocolError:
            if _not_xml(first):
                raise NotXmlRpcServer(response.status, response.reason, first) from None
            raise

    def _decoder(self, leaves: bool) -> xmlrpc.Decoder:
        if not leaves:
            return xmlrpc.Decoder(self.limits or _DEFAULT_LIMITS)
        # from_xmlrpc spells an int as str(int): the decoder may keep canonical digits.
        return xmlrpc.Decoder(self.limits or _DEFAULT_LIMITS, leaf=sxp.from_xmlrpc, int_text=True)


# Answers of at most _SMALL bytes that decoded to one immutable scalar, by their bytes.
_SMALL = 512
_SMALL_ANSWERS: dict[bytes, object] = {}
_SMALL_ANSWERS_MAX = 256
_SCALARS = frozenset({type(None), bool, int, float, str})
_UNKNOWN = object()


def _not_xml(head: bytes) -> bool:
    """Whether a body's start shows it is no XML document at all."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return not stripped.startswith(b"<") or stripped[:20].lower().startswith(
        (b"<!doctype html", b"<html")
    )


def _named(code: int | None, string: str | list[object], label: str, dom: str | None) -> Fault:
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
        # Not a fault: xend sends no code, so the exception carries none.
        return MethodNotSupported(None, f"method {name!r} is not supported", method=label, dom=dom)
    detail: list[object] = list(parts)
    return fault_for(1, detail, method=label, dom=dom)
