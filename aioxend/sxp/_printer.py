"""The SXP printer: xend's ``sxp.show`` rules, flat or in the ``xm list -l`` layout.

Atoms print bare when xend's ``atomp()`` allows and otherwise as Python 2 ``repr`` of
their UTF-8 bytes (Xen 4.4 ``tools/python/xen/xend/sxp.py`` ``show``, ``atomp``), so
``loads(dumps(x)) == x`` for every tree of ``str`` and lists. Python scalars print as xend
printed them: ``int`` with ``str()`` (quoted beyond 64 bits, as Python 2 quoted a ``long``),
``bool`` as ``True``/``False``, ``float`` with Python 2's ``str()`` (12 significant digits),
``None`` as ``'None'``. Both layouts walk the tree with an explicit stack, so depth costs
memory, not recursion.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

from aioxend.errors import LocalProtocolError
from aioxend.sxp._text import quote

__all__ = ["Printable", "dumps", "py2_float_str"]

Printable: TypeAlias = "str | int | float | bool | Sequence[Printable] | None"
"""What ``dumps`` accepts: atoms, the Python scalars xend printed, lists and tuples."""

_MAX_DEPTH = 100_000  # a bound that only a cyclic structure reaches
_WIDTH = 80
_INDENT = 4
_CLOSE = object()


def py2_float_str(value: float) -> str:
    """Python 2's ``str(float)``: ``%.12g``, with ``.0`` added when it looks integral."""
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.12g}"
    if text.lstrip("-").isdigit():
        text += ".0"
    return text


def _scalar(value: object) -> str:
    if isinstance(value, str):
        return quote(value)
    if value is None:
        return "'None'"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        text = str(value)
        return text if -(2**63) <= value < 2**63 else f"'{text}'"
    if isinstance(value, float):
        return py2_float_str(value)
    raise LocalProtocolError(f"cannot print a {type(value).__name__} as SXP: {value!r}")


def _is_list(value: object) -> bool:
    return isinstance(value, (list, tuple))


def _flat(expr: object) -> str:
    parts: list[str] = []
    stack: list[object] = [expr]
    space = False
    depth = 0
    while stack:
        item = stack.pop()
        if item is _CLOSE:
            parts.append(")")
            space = True
            depth -= 1
            continue
        if space:
            parts.append(" ")
        if isinstance(item, (list, tuple)):
            depth += 1
            if depth > _MAX_DEPTH:
                raise LocalProtocolError("expression nests too deeply (is it cyclic?)")
            parts.append("(")
            stack.append(_CLOSE)
            stack.extend(reversed(item))
            space = False
        else:
            parts.append(_scalar(item))
            space = True
    return "".join(parts)


def _pretty(expr: object) -> str:
    lines: list[str] = []
    # Work items: (expr, indent) to lay out, or a str line already finished.
    stack: list[tuple[object, int] | str] = [(expr, 0)]
    while stack:
        work = stack.pop()
        if isinstance(work, str):
            lines.append(work)
            continue
        item, indent = work
        pad = " " * indent
        flat = _flat(item)
        if (
            not isinstance(item, (list, tuple))
            or indent + len(flat) <= _WIDTH
            or not any(_is_list(child) for child in item)
        ):
            lines.append(pad + flat)
            continue
        assert isinstance(item, (list, tuple))
        if indent // _INDENT > _MAX_DEPTH:
            raise LocalProtocolError("expression nests too deeply (is it cyclic?)")
        head: list[str] = []
        rest = 0
        while rest < len(item) and not _is_list(item[rest]):
            head.append(_scalar(item[rest]))
            rest += 1
        lines.append(pad + "(" + " ".join(head))
        stack.append(pad + ")")
        stack.extend((child, indent + _INDENT) for child in reversed(item[rest:]))
    return "\n".join(lines)


def dumps(expr: Printable, *, pretty: bool = False) -> str:
    """The SXP text of ``expr``, as xend's printer would write it.

    ``pretty=True`` gives the indented layout of ``xm list -l``: a list that fits in 80
    columns (or holds no list) stays on one line, a longer one puts its leading atoms
    after the ``(``, each further element on its own line four columns in, and the ``)``
    on a line of its own.
    Anything that is not an atom, a supported scalar, a list or a tuple raises
    ``LocalProtocolError``.
    """
    return _pretty(expr) if pretty else _flat(expr)
