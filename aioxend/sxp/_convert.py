"""XML-RPC values to S-expressions and back.

Over XML-RPC xend sends the Python structure its HTTP server would have printed: nested
arrays whose first element is the tag, with native ``int``/``double``/``boolean``/``nil``
leaves (reference section 1.4). ``from_xmlrpc`` turns each leaf into the atom xend's
printer would have written for it, so one reader serves both protocols and
``loads(text) == from_xmlrpc(value)`` for the same record. Both directions walk with an
explicit stack and stop at ``Limits.max_depth``, which also stops a cyclic structure.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from aioxend.errors import LimitExceeded, LocalProtocolError, ProtocolError
from aioxend.sxp._parser import DEFAULT_LIMITS, Expr, Limits
from aioxend.sxp._printer import py2_float_str

__all__ = ["from_xmlrpc", "to_xmlrpc"]


def _atom(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return py2_float_str(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y%m%dT%H:%M:%S")  # as xmlrpclib's DateTime prints
    text = getattr(value, "value", None)  # xmlrpc.client.DateTime keeps its text in .value
    if isinstance(text, str):
        return text
    data = getattr(value, "data", value)  # xmlrpc.client.Binary keeps its bytes in .data
    if isinstance(data, (bytes, bytearray)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(data).decode("latin-1")
    raise ProtocolError(f"cannot convert an XML-RPC {type(value).__name__} to SXP: {value!r}")


def from_xmlrpc(value: object, *, limits: Limits | None = None) -> Expr:
    """The S-expression for an XML-RPC value, leaves spelled as xend's printer spelled them.

    Arrays and tuples become lists; a struct becomes ``[[key, value], ...]`` in its
    order; ``int`` becomes ``str(int)``, ``float`` Python 2's ``str()`` (``1.0``,
    ``123.456789012``, ``1e+20``), ``bool`` ``True``/``False``, ``None`` ``None``,
    base64 bytes their UTF-8 (else latin-1) text and a dateTime xmlrpclib's
    ``20260101T00:00:00`` (xend sends neither). Other types raise ``ProtocolError``.
    """
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    holder: list[Expr] = []
    stack: list[tuple[object, list[Expr], int]] = [(value, holder, 0)]
    while stack:
        item, out, depth = stack.pop()
        if isinstance(item, (list, tuple, Mapping)):
            if depth >= max_depth:
                raise LimitExceeded("max_depth", max_depth)
            new: list[Expr] = []
            out.append(new)
            children: list[object] = (
                [[k, v] for k, v in item.items()] if isinstance(item, Mapping) else list(item)
            )
            stack.extend((child, new, depth + 1) for child in reversed(children))
        else:
            out.append(_atom(item))
    return holder[0]


def to_xmlrpc(expr: object, *, limits: Limits | None = None) -> object:
    """An expression as XML-RPC arrays, for sending a config (``xend.domain.create``).

    Atoms stay strings and lists stay lists (tuples become lists); ``int``, ``float``,
    ``bool`` and ``None`` leaves pass through for the XML-RPC encoder. Anything else
    raises ``LocalProtocolError``.
    """
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    holder: list[object] = []
    stack: list[tuple[object, list[object], int]] = [(expr, holder, 0)]
    while stack:
        item, out, depth = stack.pop()
        if isinstance(item, (list, tuple)):
            if depth >= max_depth:
                raise LocalProtocolError(f"expression nests deeper than max_depth={max_depth}")
            new: list[object] = []
            out.append(new)
            stack.extend((child, new, depth + 1) for child in reversed(item))
        elif item is None or isinstance(item, (str, int, float)):
            out.append(item)
        else:
            raise LocalProtocolError(f"cannot send a {type(item).__name__} in an SXP config")
    return holder[0]
