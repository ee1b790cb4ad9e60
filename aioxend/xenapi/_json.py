"""JSON for the JSON-RPC wire: request bodies out, answers decoded in loop-friendly slices.

Strategy. msgspec decodes: it is as fast as orjson on a 6 KB ``VM.get_record`` answer
(both ~2x the standard library) and fastest on a whole 20 MB answer, and only msgspec can
*skip* a value without building it (``msgspec.Raw``). That is what keeps a 20 MB
``VM.get_all_records`` answer from stalling the event loop: the envelope is decoded with
its members left raw, a large ``result`` object or array is split the same way into its
members, and each member is decoded on its own, yielding to the loop every
``SLICE_SECONDS``. Splitting costs one C-speed scan per level; the per-member decodes
add up to what one whole decode costs. (No worker thread: msgspec, orjson and the
standard library's C scanner all hold the GIL for a whole decode.)

xapi may send the non-finite floats bare (``NaN``, ``Infinity``, ``-Infinity``), which
JSON and msgspec refuse; a piece msgspec refuses is decoded again by the standard
library, which reads them, in a worker thread when it is large (with a Python hook per
object, so the thread gives the GIL back to the loop every switch interval).
Anything neither accepts is a ``ProtocolError``.

Requests: msgspec encodes, after datetimes become xapi's ``20240420T12:00:00Z`` text.
msgspec would write a non-finite float as ``null``, so a request holding one goes
through the standard library, which writes the bare token xapi reads back.
"""

from __future__ import annotations

import datetime
import json
import math
import time
from collections.abc import Mapping
from typing import Any, Final

import anyio.lowlevel
import anyio.to_thread
import msgspec

from aioxend.errors import ProtocolError
from aioxend.protocols._gc import GC_STEP_BYTES, GcHold
from aioxend.protocols._stream import SLICE_SECONDS

__all__ = ["SPLIT_BYTES", "decode", "encode_request", "xapi_datetime"]

SPLIT_BYTES: Final = 128 * 1024
"""A value larger than this is split into its members, each decoded on its own."""

_MAX_SPLIT_DEPTH: Final = 4


class _Envelope(msgspec.Struct):
    """A JSON-RPC answer whose result object or array is kept as raw members: one scan
    of the body splits it down to the records of a ``get_all_records``."""

    jsonrpc: object = msgspec.UNSET
    id: object = msgspec.UNSET
    error: object = msgspec.UNSET
    result: dict[str, msgspec.Raw] | list[msgspec.Raw] | msgspec.UnsetType | None = msgspec.UNSET


_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)
_ANY: Final = msgspec.json.Decoder()
_RAW_MAP: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_LIST: Final = msgspec.json.Decoder(list[msgspec.Raw])
_ENCODE: Final = msgspec.json.Encoder().encode
_PLAIN: Final = frozenset({str, int, bool})


def xapi_datetime(value: datetime.datetime) -> str:
    """A datetime as xapi writes one: ``20240420T12:00:00Z`` (UTC) when it is aware."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
        return value.strftime("%Y%m%dT%H:%M:%SZ")
    return value.strftime("%Y%m%dT%H:%M:%S")


def _wire_value(value: object, found: list[bool]) -> object:
    """``value`` with datetimes as text and sets/tuples as lists; marks a non-finite float."""
    if isinstance(value, datetime.datetime):
        return xapi_datetime(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            found[0] = True
        return value
    if isinstance(value, Mapping):
        return {k: _wire_value(v, found) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_wire_value(v, found) for v in value]
    return value


def encode_request(method: str, params: tuple[object, ...], ident: int) -> bytes:
    """The JSON-RPC 2.0 request body for one call."""
    if not all(type(p) in _PLAIN for p in params):
        found = [False]
        params = tuple(_wire_value(p, found) for p in params)
        if found[0]:
            message = {"jsonrpc": "2.0", "method": method, "params": params, "id": ident}
            return json.dumps(message, separators=(",", ":")).encode()
    try:
        return _ENCODE({"jsonrpc": "2.0", "method": method, "params": params, "id": ident})
    except (TypeError, ValueError, OverflowError) as exc:
        raise ProtocolError(f"cannot encode the params of {method} as JSON: {exc}") from None


def _std_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(pairs)


def _std_loads(data: bytes) -> object:
    return json.loads(data, object_pairs_hook=_std_pairs)


class _Slicer:
    """One answer's decode: the clock for yielding and the collector hold."""

    def __init__(self, size: int, hold: GcHold) -> None:
        self.until = time.perf_counter() + SLICE_SECONDS
        self.hold = hold
        self.done = 0
        if size > hold.due:  # a large answer: the collector is held from the start
            hold.advance(size)
            hold.due = GC_STEP_BYTES

    async def tick(self, size: int) -> None:
        """Count ``size`` decoded bytes; yield to the loop when the slice is used up."""
        self.done += size
        if self.done > self.hold.due:
            self.hold.advance(self.done)
        if time.perf_counter() >= self.until:
            await anyio.lowlevel.checkpoint()
            self.until = time.perf_counter() + SLICE_SECONDS

    async def whole(self, data: bytes | msgspec.Raw) -> object:
        """One piece decoded at once: msgspec, else the standard library (bare NaN...)."""
        try:
            value = _ANY.decode(data)
        except (msgspec.DecodeError, RecursionError):
            raw = bytes(data)
            try:
                if len(raw) > SPLIT_BYTES:
                    value = await anyio.to_thread.run_sync(_std_loads, raw)
                else:
                    value = _std_loads(raw)
            except (ValueError, RecursionError) as exc:
                raise ProtocolError(f"the answer is not JSON ({exc})") from None
        await self.tick(len(data))
        return value

    async def sliced(self, data: bytes | msgspec.Raw, depth: int = 0) -> object:
        """``data`` decoded, a large object or array member by member."""
        if len(data) <= SPLIT_BYTES or depth >= _MAX_SPLIT_DEPTH:
            return await self.whole(data)
        head = bytes(memoryview(data)[:1])
        try:
            if head == b"{":
                members = _RAW_MAP.decode(data)
            elif head == b"[":
                items = _RAW_LIST.decode(data)
                return [await self.sliced(item, depth + 1) for item in items]
            else:
                return await self.whole(data)
        except (msgspec.DecodeError, RecursionError):
            return await self.whole(data)
        return {key: await self.sliced(raw, depth + 1) for key, raw in members.items()}

    async def envelope(self, body: bytes) -> object:
        """The answer's top level: an object's members decoded, ``result`` sliced.

        A result object or array is split in the same scan as the envelope
        (``_Envelope``); any other large result by a second scan (``sliced``).
        """
        if len(body) <= SPLIT_BYTES:
            return await self.whole(body)
        try:
            split = _ENVELOPE.decode(body)
        except (msgspec.DecodeError, RecursionError):
            pass
        else:
            await self.tick(0)
            out = {
                name: getattr(split, name)
                for name in ("jsonrpc", "id", "error")
                if getattr(split, name) is not msgspec.UNSET
            }
            result = split.result
            if isinstance(result, dict):
                out["result"] = {key: await self.sliced(raw, 2) for key, raw in result.items()}
            elif isinstance(result, list):
                out["result"] = [await self.sliced(raw, 2) for raw in result]
            elif result is None:
                out["result"] = None
            return out
        try:
            members = _RAW_MAP.decode(body)
        except (msgspec.DecodeError, RecursionError):
            return await self.whole(body)
        await self.tick(0)
        out = {}
        for key, raw in members.items():
            out[key] = await (self.sliced(raw, 1) if key == "result" else self.whole(raw))
        return out


async def decode(body: bytes) -> object:
    """A JSON-RPC answer body decoded, yielding to the loop while it is large.

    Raises ``ProtocolError`` for anything that is not JSON.
    """
    async with GcHold() as hold:
        return await _Slicer(len(body), hold).envelope(body)
