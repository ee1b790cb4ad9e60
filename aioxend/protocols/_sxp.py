"""The legacy backend: S-expressions over HTTP.

xend's side of it: Xen 4.4 ``tools/python/xen/web/http.py`` and ``SrvBase.py`` (HTTP),
``tools/python/xen/xend/server/SrvDomainDir.py``, ``SrvDomain.py`` and ``SrvNode.py`` (the
resources and their ``op_*`` functions).

Reads are ``GET``s of ``/xend/domain``, ``/xend/domain/<dom>`` and ``/xend/node``;
operations are form-encoded ``POST``s carrying ``op=<name>`` and the op's fields. Every
request says ``Accept: application/sxp``, so xend answers S-expressions and not the HTML
it gives browsers. Only the first expression of a body is read (xend 4.1+ appends a
stray ``''``), parsed while it streams in.

xend signals errors through HTTP statuses and ``(xend.err '...')`` bodies; they become
the same exception classes XML-RPC faults do:

* 404 is ``InvalidDomain`` (its body is ``<Fault 3: 'name'>`` or ``Not found: name``);
* 500 with ``(xend.err 'text')`` is ``OperationFailed`` with xend's text (a Python
  error and a refused operation look the same here), or the fault a ``<Fault N: '...'>``
  text names; a 500 without that body did not come from xend's handler and is an
  ``HTTPStatusError``;
* a 200/201/202 whose body is ``(xend.err ...)`` (threaded ops, and 3.0.x) likewise;
* 501 for an unknown op is ``UnsupportedOperation`` (an older xend lacks it), the 501
  for an HTTP method it lacks ``MethodNotSupported``;
* an error answered as HTML is ``NotSxpServer``: xend's legacy server answers a request
  that accepts ``application/sxp`` in SXP or plain text, never HTML, while an XML-RPC
  server answers a ``GET`` with BaseHTTPServer's HTML 501 page (the client says the
  endpoint is no SXP/HTTP server, as it says the opposite);
* every other status is ``HTTPStatusError``.

Operations the legacy protocol lacks never reach the wire: the client raises
``UnsupportedOperation`` for them.

``limits`` are the client's decode limits (``xmlrpc.Limits``, from ``connect(limits=...)``),
read as the SXP parser's: ``max_bytes`` and ``max_depth`` as they are, ``max_string`` as
``max_atom`` and ``max_elements`` as ``max_items``; without them, the parser's defaults.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence

import anyio

from aioxend import sxp, xmlrpc
from aioxend.errors import (
    Fault,
    HTTPStatusError,
    InvalidDomain,
    LocalProtocolError,
    MethodNotSupported,
    OperationFailed,
    ProtocolError,
    UnsupportedOperation,
    fault_for,
)
from aioxend.protocols._base import (
    Backend,
    Call,
    NotSxpServer,
    chunks,
    dom_text,
    read_limited,
)
from aioxend.protocols._gc import GcHold
from aioxend.protocols._ops import OPS, Config, SxpSpec
from aioxend.transport import WHOLE_BODY_LIMIT, Request, Response, Timeouts, Transport

__all__ = ["MAX_FORM_BYTES", "SxpBackend"]

MAX_FORM_BYTES = 10_000
"""xend refuses request bodies over this size (413) and drops the connection."""

RECORD_CONCURRENCY = 8
"""Domain records fetched at once when ``domains()`` lists by name."""

_FAULT_TEXT = re.compile(r"<Fault (-?\d+): (['\"])(.*)\2>\s*$", re.DOTALL)
_SUCCESS = frozenset({200, 201, 202, 204})


def _field(value: object) -> str:
    """A Python argument as a legacy form field (xend's ``Args`` coerces the text)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Config):
        return sxp.dumps(value.expr)
    if isinstance(value, (int, float, str, uuid.UUID)):
        return str(value)
    raise LocalProtocolError(f"cannot send {type(value).__name__} as a legacy form field")


class SxpBackend(Backend):
    """Runs operations over xend's legacy S-expression/HTTP protocol."""

    protocol = "sxp"

    def __init__(
        self,
        transport: Transport,
        root: str = "/xend",
        limits: xmlrpc.Limits | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(transport)
        self.root = "/" + root.strip("/") if root.strip("/") else "/xend"
        self.limits = None if limits is None else _parser_limits(limits)
        self.headers = tuple(headers)

    def _path(self, spec: SxpSpec, call: Call) -> str:
        if spec.where == "domain":
            if call.dom is None:
                raise ValueError(f"{call.op.name} needs a domain")
            return f"{self.root}/domain/" + urllib.parse.quote(dom_text(call.dom), safe="")
        if spec.where == "domains":
            return f"{self.root}/domain"
        if spec.where == "node":
            return f"{self.root}/node"
        return f"{self.root}/node/{spec.where}"

    async def invoke(self, call: Call, hold: GcHold) -> object:
        # SXP answers are parsed whole per request; the collector is not held for them.
        spec = call.op.sxp
        if spec is None:
            raise UnsupportedOperation(call.op.name, self.protocol)
        if call.op.sxp_refuses is not None:
            refused = call.op.sxp_refuses(call.args)
            if refused is not None:
                raise UnsupportedOperation(f"{call.op.name}({refused})", self.protocol)
        if spec.special:
            if call.op.name == "domains":
                return await self._domains(call)
            if call.op.name == "restore":
                return await self._restore(call)
            if call.op.name == "dmesg_clear":
                return await self._dmesg_clear(call)
            raise AssertionError(f"no special handler for {call.op.name}")
        return await self._run(spec, call)

    def _fields(self, spec: SxpSpec, args: Mapping[str, object]) -> list[tuple[str, str]]:
        fields = []
        for name, arg, encode in spec.fields:
            value = args.get(arg)
            if value is None:
                continue
            fields.append((name, encode(value) if encode is not None else _field(value)))
        return fields

    async def _run(self, spec: SxpSpec, call: Call) -> object:
        fields = self._fields(spec, call.args)
        if spec.op is not None:
            fields.insert(0, ("op", spec.op))
        _, value, _ = await self.request(
            spec.verb,
            self._path(spec, call),
            fields,
            read=call.op.read,
            timeouts=call.timeouts,
            label=call.op.name,
            dom=call.dom_label,
            text=spec.text,
        )
        return value

    async def request(
        self,
        verb: str,
        path: str,
        fields: list[tuple[str, str]],
        *,
        read: bool = False,
        timeouts: Timeouts | None = None,
        label: str = "request",
        dom: str | None = None,
        text: bool = False,
    ) -> tuple[int, object, str | None]:
        """One legacy request; returns the status, the first expression of the body (or
        its text for ``text``; ``None`` when empty) and the ``Location`` header."""
        # xend's SXP server closes after each answer unless asked to keep the connection.
        headers = [("Accept", "application/sxp"), ("Connection", "keep-alive"), *self.headers]
        body = b""
        target = path
        if verb == "GET":
            if fields:
                target += "?" + urllib.parse.urlencode(fields)
        else:
            body = urllib.parse.urlencode(fields).encode("ascii")
            if len(body) > MAX_FORM_BYTES:
                raise LocalProtocolError(
                    f"{label}: the request is {len(body)} bytes; xend refuses more than"
                    f" {MAX_FORM_BYTES}"
                )
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        request = Request(verb, target, headers, body, timeouts=timeouts, retry_safe=read)
        async with self.transport.stream(request) as response:
            status = response.status
            content_type = (response.header("content-type") or "").lower()
            location = response.header("location")
            if status not in _SUCCESS:
                head = await read_limited(response)
                if "html" in content_type:
                    raise NotSxpServer(status, response.reason, head)
                raise _status_error(status, response.reason, head, label, dom)
            if "html" in content_type:
                head = await read_limited(response)
                raise ProtocolError(
                    f"{label}: xend answered HTML instead of S-expressions: {head[:80]!r}"
                )
            if text and "sxp" not in content_type:
                data = await response.aread(limit=WHOLE_BODY_LIMIT)
                return status, _text(data), location
            value = await _parse_first(response, self.limits)
        if isinstance(value, list) and value and value[0] == "xend.err":
            raise _xend_err(value, label, dom)
        return status, value, location

    # -- operations that take more than one request ------------------------------------

    async def _domains(self, call: Call) -> object:
        state = str(call.args.get("state", "all"))

        async def get(path: str, fields: list[tuple[str, str]], dom: str | None = None) -> object:
            _, value, _ = await self.request(
                "GET", path, fields, read=True, timeouts=call.timeouts, label="domains", dom=dom
            )
            return value

        if state.lower() == "running":
            # ``?detail=1`` lists exactly the ``running`` filter, in one request.
            return await get(f"{self.root}/domain", [("detail", "1")])
        names = await get(f"{self.root}/domain", [("state", state)])
        if names is None:
            return []
        if isinstance(names, str):
            names = [names] if names else []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProtocolError(f"domains: expected a list of names, got {names!r:.80}")
        records: list[object] = [None] * len(names)
        failures: list[Exception] = []
        limiter = anyio.CapacityLimiter(RECORD_CONCURRENCY)

        async def fetch(index: int, name: str) -> None:
            async with limiter:
                try:
                    path = f"{self.root}/domain/" + urllib.parse.quote(name, safe="")
                    records[index] = await get(path, [], name)
                except InvalidDomain:
                    pass  # gone since the listing; xend skips such a domain too
                except Exception as exc:
                    failures.append(exc)
                    tg.cancel_scope.cancel()  # the answer is lost; stop the others

        async with anyio.create_task_group() as tg:
            for index, name in enumerate(names):
                tg.start_soon(fetch, index, name)
        if failures:
            raise _first_of(failures)
        return [record for record in records if record is not None]

    async def _restore(self, call: Call) -> object:
        spec = OPS["restore"].sxp
        assert spec is not None
        fields = [("op", "restore"), *self._fields(spec, call.args)]
        _, value, location = await self.request(
            "POST", f"{self.root}/domain", fields, timeouts=call.timeouts, label="restore"
        )
        if value is not None:
            return value
        # The threaded op answers 201 with an empty body; Location names the domain.
        name = urllib.parse.unquote(urllib.parse.urlsplit(location or "").path.rstrip("/"))
        name = name.rsplit("/", 1)[-1]
        if not location or not name or name == "domain":
            raise ProtocolError("restore: xend's answer names no restored domain")
        _, value, _ = await self.request(
            "GET",
            f"{self.root}/domain/" + urllib.parse.quote(name, safe=""),
            [],
            read=True,
            timeouts=call.timeouts,
            label="restore",
            dom=name,
        )
        return value

    async def _dmesg_clear(self, call: Call) -> object:
        # xend's SXP server drops the ring ``op=clear`` returns, so read it first; a
        # message logged between the two requests is cleared unseen.
        _, text, _ = await self.request(
            "GET",
            f"{self.root}/node/dmesg",
            [],
            read=True,
            timeouts=call.timeouts,
            label="dmesg_clear",
            text=True,
        )
        await self.request(
            "POST",
            f"{self.root}/node/dmesg",
            [("op", "clear")],
            timeouts=call.timeouts,
            label="dmesg_clear",
            text=True,
        )
        return text


def _first_of(failures: Sequence[Exception]) -> Exception:
    """The first of concurrent requests' failures, itself (not an ``ExceptionGroup``),
    the others named in its notes."""
    first = failures[0]
    for other in failures[1:]:
        first.add_note(f"also failed: {type(other).__name__}: {other}")
    return first


def _parser_limits(limits: xmlrpc.Limits) -> sxp.Limits:
    """The decode limits as the SXP parser's."""
    return sxp.Limits(
        max_bytes=limits.max_bytes,
        max_depth=limits.max_depth,
        max_atom=limits.max_string,
        max_items=limits.max_elements,
    )


async def _parse_first(response: Response, limits: sxp.Limits | None) -> object:
    """The first S-expression of a streaming body, or ``None`` for an empty one."""
    parser = sxp.Parser(limits=limits)
    values: list[object] = []
    seen = False
    async for chunk in chunks(response):
        if not seen and chunk.strip():
            seen = True
        values.extend(parser.feed(chunk))
    values.extend(parser.close())
    if not seen:
        return None
    return values[0] if values else None


def _fault_in(text: str, label: str, dom: str | None) -> Fault | None:
    """The fault a ``<Fault 3: 'name'>`` text (``str()`` of xend's Fault) describes."""
    match = _FAULT_TEXT.search(text.strip())
    if match is None:
        return None
    return fault_for(int(match.group(1)), match.group(3), method=label, dom=dom)


def _xend_err(value: Sequence[object], label: str, dom: str | None) -> Fault:
    message = " ".join(str(part) for part in value[1:]) if len(value) > 1 else "xend error"
    return _fault_in(message, label, dom) or OperationFailed(2, message, method=label, dom=dom)


def _text(data: bytes) -> str:
    """A plain-text body (log, console ring): UTF-8, else latin-1, as the codecs read atoms."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _status_error(status: int, reason: str, body: bytes, label: str, dom: str | None) -> Exception:
    text = body.decode("utf-8", "replace").strip()
    if status == 404:
        fault = _fault_in(text, label, dom)
        if fault is not None:
            return fault
        if dom is not None:
            return InvalidDomain(3, dom, method=label, dom=dom)
        return HTTPStatusError(status, reason, body)
    if status == 500:
        try:
            value = sxp.loads(body) if text else None
        except ProtocolError:
            value = None
        if isinstance(value, list) and value and value[0] == "xend.err":
            return _xend_err(value, label, dom)
        return HTTPStatusError(status, reason, body)  # not xend's own 500
    if status == 501:
        if "operation not implemented" in (text + " " + reason).lower():
            return UnsupportedOperation(label, "sxp")
        return MethodNotSupported(None, text or reason, method=label, dom=dom)
    return HTTPStatusError(status, reason, body)
