"""What xend's Python 2 runtime put on the wire, reproduced on Python 3.

xend ran on Python 2, and several things clients see are artefacts of that runtime rather
than of xend's own code: ``repr()`` of a byte string (the top-level string trick of the
XML-RPC server, and the S-expression printer's quoting), ``str()`` of a float (12
significant digits), the iteration order of a ``dict`` (the member order of every struct,
the fault struct included), and the ``TypeError`` text for a call with the wrong number of
arguments (a fault string). Each is rebuilt here from the CPython 2.7 algorithm, so that
the emulator answers byte for byte as xend would, independently of Python 3's choices.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = [
    "Long",
    "arity_error",
    "dict_order",
    "float_str",
    "ordered_dict",
    "repr_bytes",
    "repr_text",
    "type_name",
]

_MASK64 = (1 << 64) - 1
_K = TypeVar("_K")
_V = TypeVar("_V")


class Long(int):
    """An int that was a Python 2 ``long`` in xend (``vcpu_avail``): printed quoted."""

    __slots__ = ()


def repr_bytes(data: bytes) -> str:
    """Python 2 ``repr()`` of a byte string, quotes included.

    Single quotes unless the text holds a ``'`` and no ``"``; ``\\t \\n \\r``, the quote
    and the backslash escaped; any other byte below 0x20 or from 0x7f up as ``\\xNN``.
    """
    quote = '"' if b"'" in data and b'"' not in data else "'"
    out = [quote]
    for byte in data:
        char = chr(byte)
        if char == quote or char == "\\":
            out.append("\\" + char)
        elif char == "\t":
            out.append("\\t")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif byte < 0x20 or byte >= 0x7F:
            out.append(f"\\x{byte:02x}")
        else:
            out.append(char)
    out.append(quote)
    return "".join(out)


def repr_text(text: str) -> str:
    """Python 2 ``repr()`` of ``text`` held, as xend held it, as UTF-8 bytes."""
    return repr_bytes(text.encode("utf-8", "surrogateescape"))


def float_str(value: float) -> str:
    """Python 2 ``str(float)``: ``%.12g``, with ``.0`` added when it reads as an integer."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.12g}"
    if all(c.isdigit() or c == "-" for c in text):
        text += ".0"
    return text


def _str_hash(data: bytes) -> int:
    """CPython 2.7 (64-bit, no hash randomisation) hash of a byte string, as unsigned."""
    if not data:
        return 0
    x = (data[0] << 7) & _MASK64
    for byte in data:
        x = ((1000003 * x) ^ byte) & _MASK64
    x ^= len(data)
    if x == _MASK64:  # -1 is reserved for errors
        x = _MASK64 - 1
    return x


def _hash(key: object) -> int:
    if isinstance(key, str):
        return _str_hash(key.encode("utf-8"))
    if isinstance(key, bytes):
        return _str_hash(key)
    if isinstance(key, int):
        value = -2 if key == -1 else key
        return value & _MASK64
    raise TypeError(f"no Python 2 hash for {type(key).__name__}")


def _insert(table: list[Any], key: object) -> None:
    mask = len(table) - 1
    h = _hash(key)
    i = h & mask
    perturb = h
    while table[i & mask] is not None:
        i = (i << 2) + i + perturb + 1
        perturb >>= 5
    table[i & mask] = key


def dict_order(keys: Iterable[_K]) -> list[_K]:
    """The order a Python 2.7 dict built by inserting ``keys`` would iterate them in.

    Open addressing with CPython's probe sequence, starting from 8 slots and resizing
    (re-inserting in slot order) when two thirds are filled, as ``dictresize`` did.
    """
    table: list[Any] = [None] * 8
    used = 0
    for key in keys:
        if key in table:
            continue
        _insert(table, key)
        used += 1
        if used * 3 >= len(table) * 2:
            size = 8
            while size <= 4 * used:
                size <<= 1
            old = [k for k in table if k is not None]
            table = [None] * size
            for k in old:
                _insert(table, k)
    return [k for k in table if k is not None]


def ordered_dict(items: dict[_K, _V]) -> dict[_K, _V]:
    """A copy of ``items`` whose iteration order is the Python 2 dict order."""
    return {k: items[k] for k in dict_order(items)}


def arity_error(name: str, required: int, maximum: int | None, given: int) -> str | None:
    """Python 2's ``TypeError`` text for a call with ``given`` positional arguments.

    ``required`` and ``maximum`` count every parameter, ``self`` included (``maximum``
    None means ``*args``). Returns None when the count is acceptable.
    """
    if given >= required and (maximum is None or given <= maximum):
        return None
    if maximum is not None and required == maximum:
        how, count = "exactly", required
    elif given < required:
        how, count = "at least", required
    else:
        how, count = "at most", maximum if maximum is not None else required
    plural = "" if count == 1 else "s"
    return f"{name}() takes {how} {count} argument{plural} ({given} given)"


_TYPE_NAMES = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    bytes: "str",
    list: "list",
    tuple: "tuple",
    dict: "dict",
    type(None): "NoneType",
}


def type_name(value: object) -> str:
    """The Python 2 type name of a value xmlrpclib would have decoded."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)
