"""The datamodel's type strings, parsed; defaults and call parameters turned into values.

A type string (``string``, ``int``, ``VM ref``, ``enum vm_power_state``, ``string set``,
``(string -> VM ref) map``, ``VM record``, ``string option``) parses once into a small
tree. Values inside the emulator are plain Python: ``str``, ``int``, ``float``, ``bool``,
aware ``datetime``, lists for sets, dicts for maps; references are strings in the
dialect's form. Defaults are the datamodel's OCaml-ish text (``""``, ``{}``, ``0.``,
``OpaqueRef:NULL``, ``19700101T00:00:00Z``, ``{"address" -> "localhost"}``), as
``ocaml/idl/datamodel_values.ml`` prints them.
"""

from __future__ import annotations

import functools
import json
import re
import xmlrpc.client
from dataclasses import dataclass
from datetime import UTC, datetime

from aioxend.emulator.xenapi._failure import Failure

# An int as text: ASCII decimal digits and a sign, XML's blanks around them; not the
# underscores, Unicode digits and other spaces Python's int() would also take.
INT_TEXT = re.compile(r"[ \t\r\n]*[-+]?[0-9]+[ \t\r\n]*", re.ASCII)

__all__ = ["EPOCH", "Type", "coerce", "parse_default", "parse_type", "zero"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Type:
    """A parsed type: ``kind`` is a scalar name, ``ref``, ``enum``, ``set``, ``map``,
    ``record`` or ``option``; ``name`` the class or enum; ``args`` the inner types."""

    kind: str
    name: str = ""
    args: tuple[Type, ...] = ()


def _split_arrow(text: str) -> tuple[str, str]:
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and text.startswith(" -> ", i):
            return text[:i], text[i + 4 :]
    raise ValueError(f"not a map type: {text!r}")


@functools.cache
def parse_type(text: str) -> Type:
    """Parse a datamodel type string."""
    if text.endswith(" set"):
        return Type("set", args=(parse_type(text[:-4]),))
    if text.endswith(" option"):
        return Type("option", args=(parse_type(text[:-7]),))
    if text.endswith(" map"):
        key, value = _split_arrow(text[:-4].strip()[1:-1])
        return Type("map", args=(parse_type(key), parse_type(value)))
    if text.endswith(" ref"):
        return Type("ref", text[:-4])
    if text.endswith(" record"):
        return Type("record", text[:-7])
    if text.startswith("enum "):
        return Type("enum", text[5:])
    if text in ("string", "int", "float", "bool", "datetime"):
        return Type(text)
    raise ValueError(f"unknown datamodel type {text!r}")


def zero(kind: Type, enums: dict[str, tuple[str, ...]], null_ref: str) -> object:
    """The value of a field the datamodel gives no default: empty, zero or NULL."""
    if kind.kind in ("set", "option"):
        return []
    if kind.kind in ("map", "record"):
        return {}
    if kind.kind == "enum":
        values = enums.get(kind.name, ())
        return values[0] if values else ""
    if kind.kind == "ref":
        return null_ref
    return {"string": "", "int": 0, "float": 0.0, "bool": False, "datetime": EPOCH}[kind.kind]


def _items(text: str) -> list[str]:
    """The elements of ``{a, b}`` (quoted strings may hold commas)."""
    inner = text.strip()[1:-1].strip()
    if not inner:
        return []
    out: list[str] = []
    start, quoted = 0, False
    for i, ch in enumerate(inner):
        if ch == '"' and (i == 0 or inner[i - 1] != "\\"):
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(inner[start:i].strip())
            start = i + 1
    out.append(inner[start:].strip())
    return out


def parse_default(kind: Type, text: str, null_ref: str) -> object:
    """The value of a datamodel default text for a field of type ``kind``."""
    if kind.kind == "set":
        return [parse_default(kind.args[0], item, null_ref) for item in _items(text)]
    if kind.kind == "map":
        pairs = (_split_arrow(item) for item in _items(text))
        return {
            parse_default(kind.args[0], k, null_ref): parse_default(kind.args[1], v, null_ref)
            for k, v in pairs
        }
    if kind.kind == "ref":
        return null_ref if text in ("OpaqueRef:NULL", "Null") else text
    if kind.kind == "string":
        return json.loads(text) if text.startswith('"') else text
    if kind.kind == "int":
        return int(text)
    if kind.kind == "float":
        return float(text)
    if kind.kind == "bool":
        return text == "true"
    if kind.kind == "datetime":
        return parse_datetime(text)
    return text


def parse_datetime(text: str) -> datetime:
    """``20240420T12:00:00Z`` (also without ``Z``, or with dashes) as aware UTC."""
    digits = text.rstrip("Z").replace("-", "")
    return datetime.strptime(digits, "%Y%m%dT%H:%M:%S").replace(tzinfo=UTC)


def coerce(kind: Type, value: object, name: str) -> object:
    """A call parameter as the emulator stores it; ``FIELD_TYPE_ERROR [name]`` if wrong.

    XML-RPC carries ints as decimal strings and datetimes as ``dateTime.iso8601``; JSON
    carries ints as numbers and datetimes as strings: both are accepted, as xapi does.
    """
    try:
        return _coerce(kind, value, name)
    except (ValueError, TypeError):
        raise Failure("FIELD_TYPE_ERROR", name) from None


def _coerce(kind: Type, value: object, name: str) -> object:
    k = kind.kind
    if k in ("string", "ref", "enum"):
        if not isinstance(value, str):
            raise TypeError(name)
        return value
    if k == "int":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(name)
        if isinstance(value, str) and not INT_TEXT.fullmatch(value):
            raise ValueError(name)
        return int(value)
    if k == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise TypeError(name)
        return float(value)
    if k == "bool":
        if not isinstance(value, bool):
            raise TypeError(name)
        return value
    if k == "datetime":
        if isinstance(value, xmlrpc.client.DateTime):
            return parse_datetime(value.value)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str):
            return parse_datetime(value)
        raise TypeError(name)
    if k in ("set", "option"):
        if not isinstance(value, list):
            raise TypeError(name)
        return [_coerce(kind.args[0], v, name) for v in value]
    if k in ("map", "record"):
        if not isinstance(value, dict):
            raise TypeError(name)
        if k == "record":
            return dict(value)
        return {
            _coerce(kind.args[0], key, name): _coerce(kind.args[1], v, name)
            for key, v in value.items()
        }
    raise TypeError(name)
