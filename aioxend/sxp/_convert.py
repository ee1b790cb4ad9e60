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
from collections.abc import Iterator, Mapping
from typing import Any

from aioxend.errors import LimitExceeded, LocalProtocolError, ProtocolError
from aioxend.sxp._parser import DEFAULT_LIMITS, Expr, Limits
from aioxend.sxp._printer import py2_float_str
from aioxend.sxp._text import _from_bytes

__all__ = ["convert_at", "convert_leaf", "convert_owned", "from_xmlrpc", "to_xmlrpc"]


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


def convert_leaf(value: object) -> Expr:
    """``from_xmlrpc`` of a value the XML-RPC decoder places in an array (its ``leaf``
    hook): an int or other scalar becomes its atom, a struct its list of pairs.

    A struct converted here adds one level of nesting that ``Limits.max_depth`` does not
    count; the decoder's own depth limit still bounds the whole.
    """
    if type(value) is int:
        return str(value)
    return convert_at(value, DEFAULT_LIMITS.max_depth, 0)


def from_xmlrpc(value: object, *, limits: Limits | None = None) -> Expr:
    """The S-expression for an XML-RPC value, leaves spelled as xend's printer spelled them.

    Arrays and tuples become lists; a struct becomes ``[[key, value], ...]`` in its
    order; ``int`` becomes ``str(int)``, ``float`` Python 2's ``str()`` (``1.0``,
    ``123.456789012``, ``1e+20``), ``bool`` ``True``/``False``, ``None`` ``None``,
    base64 bytes their UTF-8 (else latin-1) text and a dateTime xmlrpclib's
    ``20260101T00:00:00`` (xend sends neither). Other types raise ``ProtocolError``.
    """
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    return convert_at(value, max_depth, 0)


def _children(item: object) -> Iterator[object] | None:
    """An iterator over a container's children (a struct's as ``[key, value]`` pairs),
    or ``None`` for a leaf."""
    if isinstance(item, (list, tuple)):
        return iter(item)
    if isinstance(item, Mapping):
        return iter([[k, v] for k, v in item.items()])
    return None


def convert_at(value: object, max_depth: int, depth: int) -> Expr:
    """``from_xmlrpc`` of a value found ``depth`` levels down in a larger one.

    Exact ``str``/``int``/``list`` are dispatched on ``type()`` first (they are nearly
    every value xend sends); one frame per open list, each an iterator the loop resumes.
    """
    children = _children(value)
    if children is None:
        return _atom(value)
    if depth >= max_depth:
        raise LimitExceeded("max_depth", max_depth)
    root: list[Expr] = []
    stack: list[tuple[Iterator[object], list[Expr], int]] = [(children, root, depth + 1)]
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


def convert_owned(value: object, max_depth: int, depth: int = 0) -> Expr:
    """``from_xmlrpc`` that reuses the lists of ``value``, converting its leaves in place.

    For a value the caller owns outright, such as one just decoded: no list is copied, so
    a 20 MB answer does not briefly exist twice (half the allocations, and the garbage
    collector's passes have half the objects to visit). Tuples and structs are still
    replaced by new lists. ``value`` must not be shared with anyone else.
    """
    if type(value) is not list:
        return convert_at(value, max_depth, depth)
    if depth >= max_depth:
        raise LimitExceeded("max_depth", max_depth)
    stack: list[tuple[list[Any], int]] = [(value, depth + 1)]
    pop, push = stack.pop, stack.append
    while stack:
        items, level = pop()
        for index, child in enumerate(items):
            kind = type(child)
            if kind is str:
                continue
            if kind is int:
                items[index] = str(child)
            elif kind is list:
                if level >= max_depth:
                    raise LimitExceeded("max_depth", max_depth)
                if len(child) == 2 and type(child[0]) is str:
                    # ``[key, leaf]``, most of a record: done here, without a frame.
                    leaf = child[1]
                    kind = type(leaf)
                    if kind is str:
                        continue
                    if kind is int:
                        child[1] = str(leaf)
                        continue
                push((child, level + 1))
            elif _children(child) is None:
                items[index] = _atom(child)
            else:
                items[index] = convert_at(child, max_depth, level)
    return value


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
