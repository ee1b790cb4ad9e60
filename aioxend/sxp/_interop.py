"""Interop with sexpdata, which reads Lisp rather than xend's SXP.

sexpdata cannot stand in for this parser (it reads ``'`` as a Lisp quote and turns the
atom ``010`` into the number 10), but its structures are common currency. Atoms map to
``sexpdata.Symbol`` (a ``str`` subclass), lists to lists. sexpdata is an optional extra
(``pip install 'aioxend[sexpdata]'``), imported on first use, so ``aioxend.sxp`` loads
without it; without it these two functions raise ``ModuleNotFoundError`` naming the extra.
"""

from __future__ import annotations

from typing import Any

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.sxp._parser import DEFAULT_LIMITS, Expr, Limits
from aioxend.sxp._printer import py2_float_str

__all__ = ["from_sexpdata", "to_sexpdata"]


def _sexpdata() -> Any:
    """The sexpdata module, or a ``ModuleNotFoundError`` saying which extra brings it."""
    try:
        import sexpdata
    except ModuleNotFoundError as exc:
        if exc.name != "sexpdata":
            raise
        raise ModuleNotFoundError(
            "aioxend.sxp's sexpdata interop needs sexpdata, which is not installed: "
            "pip install 'aioxend[sexpdata]'",
            name="sexpdata",
        ) from None
    return sexpdata


def to_sexpdata(expr: Expr, *, limits: Limits | None = None) -> Any:
    """``expr`` with every atom as a ``sexpdata.Symbol``, ready for ``sexpdata.dumps``."""
    sexpdata = _sexpdata()
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    holder: list[Any] = []
    stack: list[tuple[Expr, list[Any], int]] = [(expr, holder, 0)]
    while stack:
        item, out, depth = stack.pop()
        if isinstance(item, list):
            if depth >= max_depth:
                raise LimitExceeded("max_depth", max_depth)
            new: list[Any] = []
            out.append(new)
            stack.extend((child, new, depth + 1) for child in reversed(item))
        elif isinstance(item, str):
            out.append(sexpdata.Symbol(item))
        else:
            raise ProtocolError(f"not an S-expression: {type(item).__name__}")
    return holder[0]


def from_sexpdata(obj: Any, *, limits: Limits | None = None) -> Expr:
    """An expression from what ``sexpdata.loads`` returned.

    Symbols and strings become atoms; numbers their text (``int`` with ``str()``,
    ``float`` as xend would print it); ``True``/``False`` become ``t``/``nil`` (how
    sexpdata read them); ``Quoted(x)`` becomes ``['quote', x]``; brackets their items.
    Anything else raises ``ProtocolError``.
    """
    sexpdata = _sexpdata()
    max_depth = (limits if limits is not None else DEFAULT_LIMITS).max_depth
    holder: list[Expr] = []
    stack: list[tuple[Any, list[Expr], int]] = [(obj, holder, 0)]
    while stack:
        item, out, depth = stack.pop()
        if isinstance(item, sexpdata.Quoted):
            item = [sexpdata.Symbol("quote"), item.x]
        elif isinstance(item, sexpdata.Brackets):
            item = list(item.I)
        if isinstance(item, (list, tuple)):
            if depth >= max_depth:
                raise LimitExceeded("max_depth", max_depth)
            new: list[Expr] = []
            out.append(new)
            stack.extend((child, new, depth + 1) for child in reversed(item))
        elif isinstance(item, str):
            out.append(str(item))
        elif isinstance(item, bool):
            out.append("t" if item else "nil")
        elif isinstance(item, int):
            out.append(str(item))
        elif isinstance(item, float):
            out.append(py2_float_str(item))
        else:
            raise ProtocolError(f"cannot convert a sexpdata {type(item).__name__}")
    return holder[0]
