"""XML-RPC values to S-expressions and back.

Over XML-RPC xend sends the Python structure its HTTP server would have printed: nested
arrays whose first element is the tag, with native ``int``/``double``/``boolean``/``nil``
leaves (Xen 4.4 ``tools/python/xen/xend/server/XMLRPCServer.py`` ``fixup_sxpr``).
``from_xmlrpc`` turns each leaf into the atom xend's printer would have written for it, so
one reader serves both protocols and ``loads(text) == from_xmlrpc(value)`` for the same
record. Both directions walk with an explicit stack and stop at ``Limits.max_depth``, which
also stops a cyclic structure. ``from_xmlrpc`` is the only way an XML-RPC value becomes SXP:
the XML-RPC backend hands it to the decoder as its ``leaf`` hook, so answers convert while
they decode.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Mapping

from aioxend.errors import LimitExceeded, LocalProtocolError, ProtocolError
from aioxend.sxp._parser import DEFAULT_LIMITS, Expr, Limits
from aioxend.sxp._printer import py2_float_str
from aioxend.sxp._text import _from_bytes

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
        return _from_bytes(bytes(data))
    raise ProtocolError(f"cannot convert an XML-RPC {type(value).__name__} to SXP: {value!r}")


def from_xmlrpc(value: object, *, limits: Limits | None = None) -> Expr:
    """The S-expression for an XML-RPC value, leaves spelled as xend's printer spelled them.

    Arrays and tuples become lists; a struct becomes ``[[key, value], ...]`` in its
    order; ``int`` becomes ``str(int)``, ``float`` Python 2's ``str()`` (``1.0``,
    ``123.456789012``, ``1e+20``), ``bool`` ``True``/``False``, ``None`` ``None``,
    base64 bytes their UTF-8 (else latin-1) text and a dateTime xmlrpclib's
    ``20260101T00:00:00`` (xend sends neither). Other types raise ``ProtocolError``.

    This is the one conversion, and it is also the XML-RPC decoder's ``leaf`` hook: the
    XML-RPC backend has every value placed in an array converted as it decodes, so an
    answer is never walked twice. A struct converted there adds one level of nesting
    that ``max_depth`` does not count; the decoder's own depth limit bounds the whole.
    """
    if type(value) is int:  # nearly every leaf the decoder hands over
        return str(value)
    if type(value) is float:  # a record's times
        return py2_float_str(value)
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    return _walk(value, max_depth)


def _children(item: object) -> Iterator[object] | None:
    """An iterator over a container's children (a struct's as ``[key, value]`` pairs),
    or ``None`` for a leaf."""
    if isinstance(item, (list, tuple)):
        return iter(item)
    if isinstance(item, Mapping):
        return iter([[k, v] for k, v in item.items()])
    return None


def _walk(value: object, max_depth: int) -> Expr:
    """``from_xmlrpc`` of a container, or of a leaf other than an int.

    Exact ``str``/``int``/``list`` are dispatched on ``type()`` first (they are nearly
    every value xend sends); one frame per open list, each an iterator the loop resumes.
    """
    children = _children(value)
    if children is None:
        return _atom(value)
    root: list[Expr] = []
    stack: list[tuple[Iterator[object], list[Expr], int]] = [(children, root, 1)]
    while stack:
        items, out, level = stack[-1]
        append = out.append
        for child in items:
            kind = type(child)
            if kind is str:
                append(child)  # type: ignore[arg-type]
            elif kind is int:
                append(str(child))
            else:
                inner = iter(child) if kind is list else _children(child)  # type: ignore[call-overload]
                if inner is None:
                    append(_atom(child))
                    continue
                if level >= max_depth:
                    raise LimitExceeded("max_depth", max_depth)
                new: list[Expr] = []
                append(new)
                stack.append((inner, new, level + 1))
                break
        else:
            stack.pop()
    return root


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
