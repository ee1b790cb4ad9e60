"""The two wires of Xen-API: one call as an HTTP request, one answer as a value or an error.

* **JSON-RPC 2.0** (xapi only): ``POST /jsonrpc``, ``application/json``. The answer is
  ``{"jsonrpc": "2.0", "id": n, "result": v}`` or ``"error": {"code", "message",
  "data"}``; xapi puts its error code in ``message`` and the parameters in ``data`` (a
  list, or a single value). Version 1.0 answers (``"error": null`` beside the result)
  are read too. Decoding is ``_json``'s (msgspec, in slices).
* **XML-RPC** (xend and xapi): ``POST /`` (the URL's path over TCP), ``text/xml``. The
  answer is the struct ``{"Status": "Success", "Value": v}`` or ``{"Status": "Failure",
  "ErrorDescription": [code, *params]}``; XML-RPC faults are not used for API errors.
  Encoded by aioxend's own encoder with ints as decimal strings (xapi's 64-bit ints and
  xend's alike, xapi's ``ocaml/doc/wire-protocol.md``), decoded by aioxend's streaming decoder
  fed a slice at a time, yielding to the loop every few milliseconds.

What comes back: the envelope's value, or ``aioxend.xenapi.errors.from_description``'s
``XenAPIError`` for a failure, a ``ProtocolError`` naming the method and the URL for an
envelope of the wrong shape, ``JsonRpcError`` for a JSON-RPC error that is not a xapi
error (a proxy's), ``HTTPStatusError`` for an HTTP status other than 200, and the
transport's ``TransportError`` tree for the rest. The secrets a call names (its session
reference, a login's password) are replaced by ``<redacted>`` in an error's parameters,
so they reach no message.
"""

from __future__ import annotations

import abc
import datetime
import itertools
import re
import time
from collections.abc import Mapping, Sequence
from typing import ClassVar, Final

import anyio.lowlevel

from aioxend import xmlrpc
from aioxend._log import redact
from aioxend.errors import Fault, HTTPStatusError, LimitExceeded, ProtocolError, XendError
from aioxend.protocols._gc import GcHold
from aioxend.protocols._stream import SLICE_SECONDS, chunks, read_limited
from aioxend.protocols._xmlbody import request_body
from aioxend.transport import Request, Response, Timeouts, Transport
from aioxend.xenapi import _json

__all__ = ["XENAPI_LIMITS", "JsonRpcError", "JsonRpcWire", "Wire", "XmlRpcWire"]

_XAPI_CODE = re.compile(r"[A-Z][A-Z0-9_]*")
_JSON_HEADERS: Final = (("Content-Type", "application/json"), ("Accept", "application/json"))
_XML_HEADERS: Final = (("Content-Type", "text/xml"), ("Accept", "text/xml"))
# What a server that has no JSON-RPC answers on /jsonrpc (old xapi: 404; others refuse).
_NO_JSONRPC_STATUSES: Final = frozenset({400, 404, 405, 406, 415, 501})
FEED_BYTES: Final = 128 * 1024
"""The most an XML-RPC answer's decoder is fed at once, between looks at the clock: about
2 ms of decoding xapi's compact XML here (each feed has a cost of its own: decoding 1,000
VM records fed 16 KiB at a time took 20% longer than 128 KiB at a time)."""
XENAPI_LIMITS: Final = xmlrpc.Limits(max_bytes=256 * 1024 * 1024, max_elements=20_000_000)
"""What one XML-RPC answer may make the client decode by default: the transport's bound on
a body (256 MiB), and values enough for it (``VM.get_all_records`` of a 10,000-VM pool is
about 110 MB and 2.2 million values), above the legacy client's limits, which suit xend."""


class JsonRpcError(XendError):
    """A JSON-RPC error that is not a xapi error, e.g. code 500 from a proxy in between.

    ``code`` and ``text`` are the error object's; the message names the method and URL.
    """

    def __init__(self, code: int, text: str, *, method: str, url: str) -> None:
        self.code = code
        self.text = text
        self.method = method
        super().__init__(f"{method} at {url}: JSON-RPC error {code}: {text}")


def _xenapi_error(method: str, description: list[str]) -> XendError:
    from aioxend.xenapi.errors import from_description

    return from_description(method, description)


class Wire(abc.ABC):
    """One wire on one transport: encodes a call, decodes its answer."""

    protocol: ClassVar[str]

    def __init__(
        self, transport: Transport, url: str, headers: Sequence[tuple[str, str]], target: str
    ) -> None:
        self.transport = transport
        self.url = url
        self.target = target
        self._headers = tuple(headers)

    @abc.abstractmethod
    def body(self, method: str, params: tuple[object, ...]) -> tuple[bytes, int]:
        """The request body and the id to check the answer against."""

    @abc.abstractmethod
    async def answer(
        self, response: Response, method: str, ident: int, hidden: Sequence[str]
    ) -> object:
        """The value of a 200 answer, or the error it carries."""

    async def call(
        self,
        method: str,
        params: tuple[object, ...],
        *,
        timeouts: Timeouts | None,
        read: bool,
        hidden: Sequence[str],
    ) -> object:
        """Send one call and return its value; the ``hidden`` texts are kept out of errors."""
        body, ident = self.body(method, params)
        request = Request(
            "POST", self.target, self._headers, body, timeouts=timeouts, retry_safe=read
        )
        response = await self.transport.send(request)
        try:  # as ``async with response`` would, without its two awaits
            if response.status != 200:
                raise await self.status_error(response, method, ident, hidden)
            return await self.answer(response, method, ident, hidden)
        finally:
            await response.aclose()

    async def status_error(
        self, response: Response, method: str, ident: int, hidden: Sequence[str]
    ) -> XendError:
        """The error an answer with a status other than 200 stands for."""
        head = await read_limited(response)
        return HTTPStatusError(response.status, f"{response.reason} ({method} at {self.url})", head)

    def protocol_error(self, method: str, why: str) -> ProtocolError:
        """A malformed answer, naming the method and the URL."""
        return ProtocolError(f"{method} at {self.url}: {why}")


class JsonRpcWire(Wire):
    """JSON-RPC 2.0 on ``POST /jsonrpc``."""

    protocol = "jsonrpc"

    def __init__(
        self, transport: Transport, url: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(transport, url, (*_JSON_HEADERS, *headers), "/jsonrpc")
        self._ids = itertools.count(1)

    def body(self, method: str, params: tuple[object, ...]) -> tuple[bytes, int]:
        ident = next(self._ids)
        return _json.encode_request(method, params, ident), ident

    async def answer(
        self, response: Response, method: str, ident: int, hidden: Sequence[str]
    ) -> object:
        if not _is_json(response):
            kind = response.header("content-type") or "no Content-Type"
            raise self.protocol_error(method, f"the answer is not JSON ({kind})")
        body = b"".join([chunk async for chunk in chunks(response)])
        return self.unwrap(await self.decoded(body, method), method, ident, hidden)

    async def status_error(
        self, response: Response, method: str, ident: int, hidden: Sequence[str]
    ) -> XendError:
        if _is_json(response):  # a proxy's or xapi's JSON-RPC error, on a 500
            head = await read_limited(response)
            try:
                self.unwrap(await _json.decode(head), method, None, hidden)
            except ProtocolError:
                pass
            except XendError as exc:
                return exc
            return HTTPStatusError(response.status, f"{response.reason} ({method})", head)
        return await super().status_error(response, method, ident, hidden)

    async def decoded(self, body: bytes, method: str) -> object:
        """The body decoded, or a ``ProtocolError`` naming the method and URL."""
        try:
            return await _json.decode(body)
        except ProtocolError as exc:
            raise self.protocol_error(method, str(exc)) from None

    def unwrap(
        self, envelope: object, method: str, ident: int | None, hidden: Sequence[str]
    ) -> object:
        """The result of a decoded JSON-RPC answer, or the error it carries."""
        if not isinstance(envelope, dict):
            raise self.protocol_error(method, "the answer is not a JSON-RPC object")
        version = envelope.get("jsonrpc", "1.0")
        if version not in ("2.0", "1.0", "1.1"):
            raise self.protocol_error(method, f"unknown JSON-RPC version {version!r}")
        error = envelope.get("error")
        if error is not None:
            if envelope.get("result") is not None:
                raise self.protocol_error(method, "the answer has both a result and an error")
            raise self._error(error, method, hidden)
        if "result" not in envelope:
            raise self.protocol_error(method, "the answer has neither a result nor an error")
        got = envelope.get("id")
        if ident is not None and (type(got) is not int or got != ident):
            raise self.protocol_error(method, f"the answer's id {got!r} is not {ident}")
        return envelope["result"]

    def _error(self, error: object, method: str, hidden: Sequence[str]) -> XendError:
        if not isinstance(error, dict):
            raise self.protocol_error(method, "the error is not a JSON-RPC error object")
        code = error.get("code")
        text = error.get("message")
        if type(code) is not int or not isinstance(text, str):
            raise self.protocol_error(method, "the error object has no int code and text message")
        if not _XAPI_CODE.fullmatch(text):
            return JsonRpcError(code, text, method=method, url=self.url)
        data = error.get("data")
        params = data if isinstance(data, list) else [] if data is None else [data]
        return _xenapi_error(method, [text, *(redact(str(p), hidden) for p in params)])

    async def probe(self, timeouts: Timeouts | None) -> bool:
        """Whether the server speaks JSON-RPC, asked with a harmless read.

        ``session.get_this_host`` with the null session changes nothing anywhere: xapi
        answers a JSON-RPC error (``SESSION_INVALID``); a server without JSON-RPC
        answers 404 (old xapi), or XML or HTML (xend's XML-RPC server parses the body
        as XML and answers a fault). Any well-formed JSON-RPC answer means yes.
        """
        null = "OpaqueRef:NULL"
        body, ident = self.body("session.get_this_host", (null, null))
        request = Request(
            "POST", self.target, self._headers, body, timeouts=timeouts, retry_safe=True
        )
        async with await self.transport.send(request) as response:
            if response.status in _NO_JSONRPC_STATUSES or not _is_json(response):
                return False
            head = await read_limited(response)
        try:
            self.unwrap(await _json.decode(head), "session.get_this_host", ident, ())
        except ProtocolError:
            return False
        except XendError:
            pass
        return True


def _is_json(response: Response) -> bool:
    """Whether the answer may be JSON: its Content-Type says so, or it has none."""
    kind = response.header("content-type")
    return kind is None or "json" in kind.lower()


def _xml_value(value: object) -> object:
    """A parameter as Xen-API's XML-RPC carries it: ints (not bools) as decimal strings,
    aware datetimes in UTC, sets and tuples as arrays, map keys as strings."""
    kind = type(value)
    if kind is str or kind is bool:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, Mapping):
        return {str(k): _xml_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_xml_value(v) for v in value]
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


class XmlRpcWire(Wire):
    """XML-RPC with the Status/Value envelope, on ``POST /`` (or the URL's path)."""

    protocol = "xmlrpc"

    def __init__(
        self,
        transport: Transport,
        url: str,
        headers: Sequence[tuple[str, str]] = (),
        target: str = "/",
        limits: xmlrpc.Limits = XENAPI_LIMITS,
    ) -> None:
        super().__init__(transport, url, (*_XML_HEADERS, *headers), target)
        self._limits = limits

    def body(self, method: str, params: tuple[object, ...]) -> tuple[bytes, int]:
        return request_body(method, [_xml_value(p) for p in params]), 0

    async def answer(
        self, response: Response, method: str, ident: int, hidden: Sequence[str]
    ) -> object:
        try:
            value = await self._decode(response)
        except LimitExceeded as exc:
            exc.add_note(f"while reading {method} from {self.url}")
            raise
        except Fault as fault:
            raise self.protocol_error(
                method, f"XML-RPC fault {fault.code}: {fault.string}"
            ) from None
        except ProtocolError as exc:
            raise self.protocol_error(method, str(exc)) from None
        return self.unwrap(value, method, hidden)

    async def _decode(self, response: Response) -> object:
        """The one param of the answer, fed to the decoder in slices as it streams in.

        The decoder gets ``FEED_BYTES`` at a time and the loop a turn whenever
        ``SLICE_SECONDS`` have passed (a turn per feed would be too many on a fast
        machine, too few on a slow one); a large answer holds the collector off and
        steps it (``GcHold``).
        """
        decoder = xmlrpc.Decoder(self._limits)
        fed = 0
        clock = time.perf_counter
        until = clock() + SLICE_SECONDS
        hold = GcHold()
        try:
            async for chunk in response.aiter_bytes():
                # A chunk that fits is fed as it is (its one slice is itself), a larger one
                # by views of it: no copy here either way.
                view = chunk if len(chunk) <= FEED_BYTES else memoryview(chunk)
                for start in range(0, len(view), FEED_BYTES):
                    piece = view[start : start + FEED_BYTES]
                    decoder.feed(piece)
                    fed += len(piece)
                    if fed > hold.due:
                        hold.advance(fed)
                    if clock() >= until:
                        await anyio.lowlevel.checkpoint()
                        until = clock() + SLICE_SECONDS
            params, _ = decoder.close()
        finally:
            if hold.held:  # as leaving ``async with GcHold()`` would, without its two awaits
                await hold.end()
        if len(params) != 1:
            raise ProtocolError(f"the answer carries {len(params)} values, not one")
        return params[0]

    def unwrap(self, value: object, method: str, hidden: Sequence[str]) -> object:
        """The ``Value`` of a Success struct, or the error of a Failure struct."""
        if not isinstance(value, dict):
            raise self.protocol_error(method, "the answer is not a Status struct")
        status = value.get("Status")
        if status == "Success":
            if "Value" not in value:
                raise self.protocol_error(method, "a Success struct without a Value")
            return value["Value"]
        if status == "Failure":
            description = value.get("ErrorDescription")
            if not isinstance(description, list):
                raise self.protocol_error(method, "the ErrorDescription is not a list")
            if not description or not isinstance(description[0], str) or not description[0]:
                raise self.protocol_error(method, "the ErrorDescription has no error code")
            params = (redact(str(p), hidden) for p in description[1:])
            raise _xenapi_error(method, [description[0], *params])
        raise self.protocol_error(method, f"unknown Status {status!r}")
