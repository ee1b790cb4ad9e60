"""Decoders from Xen-API wire values to typed Python values, for both wires and both dialects.

The client hands the typed layer what its wire decoded: XML-RPC gives ints as strings and
datetimes as ``dateTime.iso8601`` values (a ``datetime``, naive or aware, or an
``xmlrpc.client.DateTime``); JSON-RPC gives ints as numbers, floats possibly as
``Infinity``/``NaN`` (bare or in strings, ``"+Infinity"``) and datetimes as strings in several
forms (``20240420T12:00:00Z``, without ``Z``, ``2024-04-20T12:00:00Z``, epoch seconds as text
``"1627478400."``). Each decoder here takes any of those forms and returns one typed value, so a
record read over either wire compares equal; anything else raises ``ProtocolError`` saying what
was expected and what came (the record and method code adds where).

Decoders are plain functions ``(object) -> T``; the compound ones (``list_of``, ``map_of``,
``enum_of``, ``optional``) are built once per type at import of a generated module.
A record is decoded by its generated module's ``_plain_...`` function when every field is
there in the type xapi sends it in (``decode_record``'s fast path: whole columns checked by
``only_str`` and ``ints`` in C, not a decoder call per field), by these decoders otherwise.
A result that can be large (a map or set of records: ``VM.get_all_records`` of a big pool
is 20 MB) goes through ``result_sliced``, which runs the same decoder over slices of it
and yields to the event loop between them.
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Final, Generic, Self, TypeVar, cast

import anyio.lowlevel

from aioxend.errors import ProtocolError
from aioxend.protocols._gc import GcHold
from aioxend.protocols._stream import SLICE_SECONDS

__all__ = [
    "EPOCH",
    "Decoder",
    "Fields",
    "OpenEnum",
    "boolean",
    "decode_record",
    "enum_of",
    "floating",
    "integer",
    "ints",
    "list_of",
    "map_of",
    "members",
    "only_str",
    "optional",
    "plain",
    "raw",
    "record_to_wire",
    "ref",
    "result",
    "result_sliced",
    "string",
    "timestamp",
    "void",
]

T = TypeVar("T")
K = TypeVar("K")
E = TypeVar("E", bound="OpenEnum")
R = TypeVar("R")

Decoder = Callable[[object], T]
Fields = tuple[tuple[str, str, Decoder[object]], ...]
"""A record's field table: attribute name, wire key, decoder."""

# At most 20 digits: xapi's ints are 64-bit, and int() of a huge string is slow.
_INT_TEXT: Final = re.compile(r"[-+]?[0-9]{1,20}\Z")
# A decimal float as OCaml's string_of_float writes it ("1.", "0.5", "1e+10") and JSON does.
_FLOAT_TEXT: Final = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\Z")
_FLOAT_WORDS: Final = {
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
    "nan": math.nan,
    "+nan": math.nan,
    "-nan": math.nan,
}
# ISO 8601 basic or extended: 20240420T12:00:00Z (xapi's XML-RPC and JSON), 2024-04-20T12:00:00Z,
# 20240420T120000; fraction and zone optional, no zone meaning UTC (xapi's clock is UTC).
_DATETIME_TEXT: Final = re.compile(
    r"(?P<year>[0-9]{4})(?P<ds>-?)(?P<month>[0-9]{2})(?P=ds)(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2})(?P<ts>:?)(?P<minute>[0-9]{2})(?P=ts)(?P<second>[0-9]{2})"
    r"(?:[.,](?P<fraction>[0-9]{1,9}))?(?P<zone>Z|[-+][0-9]{2}(?::?[0-9]{2})?)?\Z"
)
# Epoch seconds as text, as OCaml's string_of_float writes them for xapi ("1627478400.",
# "1627478400.25"): the point is required, so a bare date ("20240420") is not taken for one.
_EPOCH_TEXT: Final = re.compile(r"[-+]?[0-9]+\.[0-9]*\Z")
_STR_ONLY: Final = frozenset({str})
_INT_ONLY: Final = frozenset({int})
# Ints as _INT_TEXT takes them, joined by commas: a record's int fields checked at once.
_INTS_TEXT: Final = re.compile(r"(?:[-+]?[0-9]{1,20},)*[-+]?[0-9]{1,20}")
_OPEN_MEMBERS: Final = 64
SLICE_ITEMS: Final = 8
"""Items of a large result decoded between two looks at the clock (``result_sliced``)."""
EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _bad(expected: str, value: object) -> ProtocolError:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return ProtocolError(f"expected {expected}, got {type(value).__name__} {text}")


def string(value: object) -> str:
    """A ``string``: the same on both wires."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise _bad("a string", value)


def ref(kind: Callable[[str], R]) -> Decoder[R]:
    """A decoder for one class's reference type (``VMRef``): a string, typed as ``kind``.

    A ``NewType`` is the identity at run time, so the string decoder itself serves.
    """
    del kind
    return string  # type: ignore[return-value]


def integer(value: object) -> int:
    """An ``int``: a decimal string over XML-RPC, a number over JSON-RPC."""
    if type(value) is int:
        return value
    if isinstance(value, str):
        if value.isascii() and value.isdigit() and len(value) <= 20:  # the common case, fast
            return int(value)
        if _INT_TEXT.match(value):
            return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _bad("an int", value)


def floating(value: object) -> float:
    """A ``float``: a number, or a string holding one or Infinity/-Infinity/NaN."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if _FLOAT_TEXT.match(value):
            return float(value)
        word = _FLOAT_WORDS.get(value.lower())
        if word is not None:
            return word
    raise _bad("a float", value)


def boolean(value: object) -> bool:
    """A ``bool``: a boolean on both wires."""
    if value is True or value is False:
        return value
    raise _bad("a bool", value)


def timestamp(value: object) -> datetime.datetime:
    """A ``datetime`` in any form either wire uses, as an aware UTC ``datetime``.

    A text is parsed once: the last ``_TIMES_KEPT`` read are remembered (records share
    their times, and JSON-RPC sends every one as text).
    """
    if type(value) is str:
        known = _TIMES.get(value)
        if known is not None:
            return known
    elif type(value) is datetime.datetime and value.tzinfo is datetime.UTC:
        return value  # what the XML-RPC decoder gives for xapi's times
    if isinstance(value, datetime.datetime):
        return _to_utc(value)
    # xmlrpc.client is not imported for this (it pulls in http.client and email): if it is
    # not loaded, none of its DateTime values can exist.
    client = sys.modules.get("xmlrpc.client")
    if client is not None and isinstance(value, client.DateTime):
        value = value.value
    if isinstance(value, str):
        match = _DATETIME_TEXT.match(value)
        if match is not None:
            return _remember(value, _from_match(match, value))
        if _EPOCH_TEXT.match(value):
            return _remember(value, _from_epoch(float(value), value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_epoch(float(value), value)
    raise _bad("a datetime", value)


def _remember(text: str, when: datetime.datetime) -> datetime.datetime:
    if type(text) is str:  # a str subclass may hash or compare unlike its text
        if len(_TIMES) >= _TIMES_KEPT:
            _TIMES.clear()
        _TIMES[text] = when
    return when


_TIMES: dict[str, datetime.datetime] = {}
_TIMES_KEPT: Final = 1024


def _to_utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise _bad("a datetime within years 1-9999", value) from None


def _from_match(match: re.Match[str], text: str) -> datetime.datetime:
    year, month, day, hour, minute, second, fraction, zone = match.group(
        "year", "month", "day", "hour", "minute", "second", "fraction", "zone"
    )
    offset = datetime.timedelta()
    if zone is not None and zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[-2:]) if len(zone) > 3 else 0
        if hours > 23 or minutes > 59:
            raise _bad("a datetime", text)
        offset = datetime.timedelta(hours=hours, minutes=minutes)
        if zone[0] == "-":
            offset = -offset
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro
        )
        return (local - offset).replace(tzinfo=datetime.UTC)
    except (ValueError, OverflowError):
        raise _bad("a datetime", text) from None


def _from_epoch(seconds: float, value: object) -> datetime.datetime:
    try:
        return EPOCH + datetime.timedelta(seconds=seconds)
    except (ValueError, OverflowError):
        raise _bad("a datetime as epoch seconds", value) from None


class OpenEnum(StrEnum):
    """A ``StrEnum`` that also takes the values it does not list.

    A newer server may send a value this datamodel lacks (a new power state, a new
    operation); ``Kind("new-value")`` then gives a member made on the spot, with that value
    and name, outside iteration and not cached, instead of a ``ValueError``. So a field
    stays typed as its enum, and an unknown value compares equal to its string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Self | None:
        return cls._open(value) if isinstance(value, str) else None

    @classmethod
    def _open(cls, value: str) -> Self:
        """A member made for ``value``, which the enum does not list (what ``Kind(value)``
        gives then, without its search of the members first)."""
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member


_MEMBERS: dict[type[OpenEnum], dict[str, OpenEnum]] = {}


def members(kind: type[E]) -> dict[str, E]:
    """The members of ``kind`` by value: the dict its decoder and the generated records'
    fast paths look values up in, and in which the decoder keeps the open members it
    makes for values the enum does not list."""
    found = _MEMBERS.get(kind)
    if found is None:
        found = _MEMBERS[kind] = {member.value: member for member in kind}
    return cast("dict[str, E]", found)


def enum_of(kind: type[E]) -> Decoder[E]:
    """A decoder for one enum: its member, or an open member for a value it does not know.

    Open members are made once per value and kept (at most ``_OPEN_MEMBERS`` per enum, so a
    server sending endless new values cannot grow it without bound).
    """
    known = members(kind)
    limit = len(kind) + _OPEN_MEMBERS

    def decode(value: object) -> E:
        member = known.get(value) if type(value) is str else None
        if member is not None:
            return member
        if isinstance(value, str):
            # A str subclass may be equal to a listed value: Kind() finds its member.
            member = kind._open(value) if type(value) is str else kind(value)
            if len(known) < limit:
                known[value] = member
            return member
        raise _bad(f"a {kind.__name__} value", value)

    _ENUM_DECODERS[id(decode)] = (decode, cast("dict[str, OpenEnum]", known))
    return decode


# Each enum decoder (kept, so its id names no other object) and its members dict, for the
# sets and maps of an enum to look their values up at once.
_ENUM_DECODERS: dict[int, tuple[Callable[[object], object], dict[str, OpenEnum]]] = {}


def _enum_members(decoder: Callable[[object], object]) -> dict[str, OpenEnum] | None:
    """The members dict of ``decoder`` if ``enum_of`` made it, else ``None``."""
    entry = _ENUM_DECODERS.get(id(decoder))
    return entry[1] if entry is not None and entry[0] is decoder else None


def _all_str(values: Iterable[object]) -> bool:
    """Whether every item is a plain ``str`` (the type check runs in C, not per item in Python)."""
    return _STR_ONLY.issuperset(map(type, values))


def only_str(*values: object) -> bool:
    """Whether every value is a plain ``str``: a record's strings, references and the items
    of its string sets and maps, checked in one call."""
    return _all_str(values)


def ints(*values: object) -> tuple[int, ...] | None:
    """A record's int fields as ints, checked in one call: all numbers (JSON-RPC) are
    themselves, all decimal texts (XML-RPC) are converted; ``None`` for anything else,
    which ``integer`` decides field by field."""
    kinds = set(map(type, values))
    if kinds <= _INT_ONLY:
        return cast("tuple[int, ...]", values)
    if kinds <= _STR_ONLY and _INTS_TEXT.fullmatch(",".join(cast("tuple[str, ...]", values))):
        return tuple(map(int, cast("tuple[str, ...]", values)))
    return None


def list_of(item: Decoder[T]) -> Decoder[list[T]]:
    """A decoder for a ``set``: a list on both wires, each item decoded.

    A list of plain strings (string and reference sets, the most common) is copied whole;
    a list of an enum's values is looked up at once (a value it does not list, or anything
    else, goes item by item through ``item``).
    """
    strings = item is string
    known = _enum_members(item)

    def decode(value: object) -> list[T]:
        if type(value) is list:
            if strings and _all_str(value):
                return value.copy()
            if known is not None:
                try:
                    return cast("list[T]", [*map(known.__getitem__, value)])
                except (KeyError, TypeError):
                    pass
            return [item(x) for x in value]
        if isinstance(value, (list, tuple)):
            return [item(x) for x in value]
        raise _bad("a list", value)

    return decode


def map_of(key: Decoder[K], item: Decoder[T]) -> Decoder[dict[K, T]]:
    """A decoder for a ``map``: a struct or object (keys always strings), both sides decoded.

    String keys are checked at once; a map of strings to strings is copied whole, and an
    enum's values on either side of a map with strings on the other are looked up at once.
    """
    string_keys = key is string
    strings = string_keys and item is string
    items = _enum_members(item) if string_keys else None
    keys = _enum_members(key) if item is string else None

    def decode(value: object) -> dict[K, T]:
        if type(value) is dict:
            if string_keys and _all_str(value):
                if strings and _all_str(value.values()):
                    return value.copy()
                if items is not None:
                    try:
                        values = cast("Iterable[T]", map(items.__getitem__, value.values()))
                        return dict(zip(value, values, strict=True))
                    except (KeyError, TypeError):
                        pass
                return dict(zip(value, map(item, value.values()), strict=True))
            if keys is not None and _all_str(value.values()):
                try:
                    members = cast("Iterable[K]", map(keys.__getitem__, value))
                    return dict(zip(members, value.values(), strict=True))
                except (KeyError, TypeError):
                    pass
            return {key(k): item(v) for k, v in value.items()}
        if isinstance(value, Mapping):
            return {key(k): item(v) for k, v in value.items()}
        raise _bad("a map", value)

    return decode


class optional(Generic[T]):
    """A decoder for an ``option``: null, an empty list, a one-item list, or the value bare.

    xapi (rpc-light) writes ``None`` as an empty list and ``Some x`` as ``[x]``; ``to_wire``
    does the same for a record's ``to_wire``.
    """

    __slots__ = ("_item",)

    def __init__(self, item: Decoder[T]) -> None:
        self._item = item

    def __call__(self, value: object) -> T | None:
        if value is None:
            return None
        if isinstance(value, (list, tuple)) and len(value) <= 1:
            return self._item(value[0]) if value else None
        return self._item(value)

    @staticmethod
    def to_wire(value: object) -> object:
        return [] if value is None else [plain(value)]


def raw(value: object) -> object:
    """A value whose type the datamodel leaves open (an event's snapshot): kept as it came."""
    return value


def void(value: object) -> None:
    """A ``void`` result: xapi sends an empty string, xend sometimes nothing; both ignored."""
    del value


def decode_record(
    make: type[R],
    name: str,
    fields: Fields,
    wire: object,
    plain: Callable[[dict[str, object], bool], dict[str, object] | None] | None = None,
    *,
    own: bool = False,
) -> R:
    """Build a record from a wire struct with ``fields`` (attribute, key, decoder) each.

    A field the struct lacks is left to the record's default (the datamodel's); keys the
    table lacks go to ``extra`` unchanged. ``plain`` is the record type's fast path (its
    generated ``_plain_...``): the attributes of a struct with every field in its plain
    type, else ``None``; then a struct with every field takes one comprehension of the
    decoders. Either way the record's ``__dict__`` is filled at once instead of a frozen
    ``__init__`` setting 90 attributes one by one. ``own``: the struct is the caller's to
    give away (an answer the client decoded), so the fast path converts it in place and it
    becomes the record's ``__dict__``, its lists and dicts not copied.
    """
    if type(wire) is dict:
        values = None if plain is None else plain(wire, own)
        if values is not None:
            if own:  # values is wire, with the attributes' names and values
                extra = {} if len(wire) == len(fields) else _take_extra(fields, wire)
            else:  # a new dict, whose last key is "extra", left None
                extra = {} if len(values) - 1 == len(wire) else _extra(fields, wire)
            values["extra"] = extra
            record = object.__new__(make)
            object.__setattr__(record, "__dict__", values)  # the values' dict is the record's
            return record
    elif not isinstance(wire, Mapping):
        raise ProtocolError(f"{name}: {_bad('a struct', wire)}")
    try:
        values = {attr: decode(wire[key]) for attr, key, decode in fields}
    except KeyError:
        return _decode_partial(make, name, fields, wire)
    except ProtocolError:
        return _decode_partial(make, name, fields, wire)  # which names the field
    values["extra"] = {} if len(values) == len(wire) else _extra(fields, wire)
    record = object.__new__(make)
    record.__dict__.update(values)
    return record


def _decode_partial(make: type[R], name: str, fields: Fields, wire: Mapping[str, object]) -> R:
    """``decode_record`` for a struct that lacks fields (xend's, an older xapi's)."""
    get = wire.get
    values: dict[str, object] = {}
    key = ""
    try:
        for attr, key, decode in fields:
            value = get(key, _MISSING)
            if value is not _MISSING:
                values[attr] = decode(value)
    except ProtocolError as exc:
        raise ProtocolError(f"{name} field {key!r}: {exc}") from None
    if len(values) != len(wire):
        values["extra"] = _extra(fields, wire)
    return make(**values)


def _extra(fields: Fields, wire: Mapping[str, object]) -> dict[str, object]:
    """The fields of ``wire`` the table does not know."""
    return {k: wire[k] for k in wire.keys() - _names(fields)[0]}


def _take_extra(fields: Fields, wire: dict[str, object]) -> dict[str, object]:
    """The fields of ``wire`` that are not the table's attributes, taken out of it."""
    return {k: wire.pop(k) for k in wire.keys() - _names(fields)[1]}


def _names(fields: Fields) -> tuple[frozenset[str], frozenset[str]]:
    """A table's wire keys and attribute names, gathered at its first use (a table is a
    module constant, kept with them so its id stays its own)."""
    entry = _NAMES.get(id(fields))
    if entry is None:
        keys = frozenset(key for _, key, _ in fields)
        entry = _NAMES[id(fields)] = (fields, keys, frozenset(attr for attr, _, _ in fields))
    return entry[1], entry[2]


_NAMES: dict[int, tuple[Fields, frozenset[str], frozenset[str]]] = {}


def record_to_wire(record: object, fields: Fields) -> dict[str, object]:
    """A record as a wire struct of plain values, its ``extra`` fields included."""
    wire: dict[str, object] = dict(getattr(record, "extra", {}))
    for attr, key, decode in fields:
        wire[key] = getattr(decode, "to_wire", plain)(getattr(record, attr))
    return wire


def plain(value: object) -> object:
    """A value as the client's wire expects it: enums as ``str``, records as dicts, sets as
    lists, maps as dicts, all the way down."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    if isinstance(value, Mapping):
        return {plain(k): plain(v) for k, v in value.items()}
    to_wire = getattr(value, "to_wire", None)
    if to_wire is not None:
        return to_wire()
    return value


def result(method: str, decode: Decoder[T], value: object) -> T:
    """Decode the value ``method`` returned; a bad one is a ``ProtocolError`` naming it."""
    try:
        return decode(value)
    except ProtocolError as exc:
        raise ProtocolError(f"{method} returned a bad value: {exc}") from None


async def result_sliced(method: str, decode: Decoder[T], value: object) -> T:
    """``result`` for a method whose answer can be large (a map or set of records): a
    list or dict of more than ``SLICE_ITEMS`` items is decoded ``SLICE_ITEMS`` at a time by
    the same ``decode``, yielding to the event loop whenever ``SLICE_SECONDS`` have passed,
    so a 20 MB ``VM.get_all_records`` stalls no other task for long (nor does the garbage
    collector, held meanwhile). Smaller answers, and any other shape (which ``decode``
    refuses), take ``result`` directly."""
    if not isinstance(value, (dict, list)) or len(value) <= SLICE_ITEMS:
        return result(method, decode, value)
    parts: list[object] = []
    clock = time.perf_counter
    until = clock() + SLICE_SECONDS
    # Building thousands of records would set off full collections over the whole heap
    # (80-90 ms each with a 20 MB answer alive): the collector is held as for a large
    # answer's decode (``protocols._gc``), stepped at each yield, and released at the end.
    async with GcHold() as hold:
        hold.advance(hold.due)
        for part in _slices(value):
            parts.append(result(method, decode, part))
            if clock() >= until:
                hold.advance(hold.due)
                await anyio.lowlevel.checkpoint()
                until = clock() + SLICE_SECONDS
    if isinstance(value, list):
        return cast(T, list(itertools.chain.from_iterable(cast("list[list[object]]", parts))))
    joined: dict[object, object] = {}
    for mapping in cast("list[dict[object, object]]", parts):
        joined.update(mapping)
    return cast(T, joined)


def _slices(value: dict[object, object] | list[object]) -> Iterable[object]:
    """``value`` cut into pieces of ``SLICE_ITEMS`` items, of its own type."""
    if isinstance(value, list):
        return (value[i : i + SLICE_ITEMS] for i in range(0, len(value), SLICE_ITEMS))
    items = iter(value.items())
    return iter(lambda: dict(itertools.islice(items, SLICE_ITEMS)), {})


_MISSING: Final = object()
