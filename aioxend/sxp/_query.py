"""Reading records: path lookups in the style of libvirt's helpers, and typed atoms.

A record is ``[tag, child, ...]`` and a child is usually ``[key, value...]``. Paths are
``/``-separated tags; the first names the record itself (``"domain/image/linux/kernel"``),
each further one the first child list with that head, as libvirt's ``sexpr_lookup`` did.

Numbers stay text until read. The typed readers refuse what is not a number, where
libvirt returned 0, raising ``SXPValueError`` (a ``ProtocolError`` and a ``ValueError``,
so either ``except`` catches it).

The integer rule, for every integer read from xend (records, the node, the typed
results of ``aioxend.protocols``): xend writes numbers with Python's ``str()``
(Xen 4.4 ``tools/python/xen/xend/sxp.py`` ``show``; over XML-RPC as native ints and doubles, which
``from_xmlrpc`` spells the same way). So an integer is an optional sign and decimal
digits; a leading zero does not mean octal (libvirt's base 0 read ``010`` as 8). A few
integer fields were floats in some xend versions (3.0's ``cpu_weight`` is ``1.0``
style), so a decimal float with an integral value (``256.0``, ``1e3``) is read as that
integer. Nothing else is: not ``1.5``, not ``inf``, not blanks around the digits, and not
``0x`` hex, which xend never writes for a number (``pciinfo``'s ``0x0000`` fields are
text and stay text).
"""

from __future__ import annotations

import math
import re
from typing import overload

from aioxend.errors import ProtocolError
from aioxend.sxp._parser import Expr

__all__ = [
    "SXPValueError",
    "as_bool",
    "as_float",
    "as_int",
    "children",
    "lookup",
    "value",
]

_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SPECIAL_FLOATS = {"inf", "+inf", "-inf", "nan", "+nan", "-nan", "infinity", "-infinity"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SXPValueError(ProtocolError, ValueError):
    """An atom read as a number or a flag is not one (or a list stands where an atom should)."""


def lookup(expr: Expr, path: str) -> list[Expr] | None:
    """The list at ``path`` (tag included), or ``None`` when any step is missing.

    ``lookup(dom, "domain/image")`` returns ``['image', ['linux', ...]]``, itself a record
    that further lookups and ``children`` accept. The first match wins at each step; use
    ``children`` for repeated keys such as ``device``.
    """
    keys = [key for key in path.split("/") if key]
    if not keys or not isinstance(expr, list) or not expr or expr[0] != keys[0]:
        return None
    node = expr
    for key in keys[1:]:
        for child in node:
            if isinstance(child, list) and child and child[0] == key:
                node = child
                break
        else:
            return None
    return node


@overload
def value(expr: Expr, path: str, default: str) -> str: ...
@overload
def value(expr: Expr, path: str, default: None = None) -> str | None: ...
def value(expr: Expr, path: str, default: str | None = None) -> str | None:
    """The first value at ``path`` when it is an atom, else ``default``.

    ``(memory 512)`` gives ``"512"``; a key with no value, such as ``(bootloader )``, or
    whose first value is a list gives ``default``.
    """
    node = lookup(expr, path)
    if node is None or len(node) < 2 or not isinstance(node[1], str):
        return default
    return node[1]


def children(expr: Expr, tag: str) -> list[list[Expr]]:
    """Every child list of ``expr`` whose head is ``tag``, in order (e.g. each device)."""
    if not isinstance(expr, list):
        return []
    return [c for c in expr if isinstance(c, list) and c and c[0] == tag]


def _atom_text(text: object, what: str) -> str:
    if isinstance(text, str):
        return text
    kind = "a list" if isinstance(text, list) else type(text).__name__
    raise SXPValueError(f"expected {what}, got {kind}: {text!r:.80}")


@overload
def as_int(text: None) -> None: ...
@overload
def as_int(text: Expr) -> int: ...
def as_int(text: Expr | None) -> int | None:
    """An atom as an integer, by the module's integer rule (decimal digits, or a float
    with an integral value); ``None`` passes."""
    if type(text) is str and text.isdigit() and text.isascii() and len(text) < 256:
        return int(text)  # nearly every number xend sends
    if text is None:
        return None
    atom = _atom_text(text, "an integer")
    if _INT.fullmatch(atom) is not None:
        try:
            return int(atom, 10)
        except ValueError:  # beyond sys.get_int_max_str_digits()
            raise SXPValueError(f"not an integer Python reads: {len(atom)} digits") from None
    if _FLOAT.fullmatch(atom) is not None:
        number = float(atom)
        if number.is_integer():
            return int(number)
    raise SXPValueError(f"not an integer: {atom!r:.80}")


@overload
def as_float(text: None) -> None: ...
@overload
def as_float(text: Expr) -> float: ...
def as_float(text: Expr | None) -> float | None:
    """An atom as a float (also integers, ``inf`` and ``nan``); ``None`` passes."""
    if text is None:
        return None
    atom = _atom_text(text, "a number")
    if _FLOAT.fullmatch(atom) is not None or atom.lower() in _SPECIAL_FLOATS:
        result = float(atom)
        if math.isinf(result) and atom.lower().lstrip("+-") not in ("inf", "infinity"):
            raise SXPValueError(f"number out of range: {atom!r:.80}")
        return result
    raise SXPValueError(f"not a number: {atom!r:.80}")


@overload
def as_bool(text: None) -> None: ...
@overload
def as_bool(text: Expr) -> bool: ...
def as_bool(text: Expr | None) -> bool | None:
    """An atom as a flag: ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case), or
    any integer (non-zero is true); ``None`` passes."""
    if text is None:
        return None
    atom = _atom_text(text, "a flag").lower()
    if atom in _TRUE:
        return True
    if atom in _FALSE:
        return False
    if _INT.fullmatch(atom) is not None:
        return as_int(atom) != 0
    raise SXPValueError(f"not a flag: {atom!r:.80}")
