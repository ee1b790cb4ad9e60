"""A port of xend's S-expression printer (``xen.xend.sxp.show``, Xen 4.1+).

Deliberately independent of ``aioxend.sxp``: the client's parser is tested against
this printer, so they must not share code. Rules (Xen 4.4 ``tools/python/xen/xend/sxp.py``
``show``): lists print as ``(`` items joined by one space ``)``; ints and floats with Python
2's ``str()`` (so floats keep 12 significant digits and ``True``/``False`` print as such); a
string made only of ASCII letters, digits and ``. - _ : / ~`` (or ``@`` alone) prints bare;
anything else, the empty string included, prints as Python 2's ``repr()`` of its UTF-8
bytes; a long, None or any other object prints as the repr of its ``str()``.
"""

from __future__ import annotations

import string

from aioxend.emulator._py2 import Long, dict_order, float_str, repr_text

__all__ = ["MIME_TYPE", "atomp", "show"]

MIME_TYPE = "application/sxp"
_ATOM_CHARS = frozenset(string.ascii_letters + string.digits + ".-_:/~")


def atomp(text: str) -> bool:
    """xend's ``atomp``: may ``text`` be printed without quotes?"""
    if text == "@":
        return True
    return bool(text) and all(c in _ATOM_CHARS for c in text)


def _str(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return float_str(value)
    return str(value)


def _show(value: object, out: list[str]) -> None:
    if isinstance(value, (list, tuple)):
        out.append("(")
        for i, item in enumerate(value):
            if i:
                out.append(" ")
            _show(item, out)
        out.append(")")
    elif isinstance(value, str):
        out.append(value if atomp(value) else repr_text(value))
    elif isinstance(value, Long):
        out.append(repr_text(str(int(value))))
    elif isinstance(value, (int, float)):
        out.append(_str(value))
    elif isinstance(value, dict):
        # repr(str(d)) of a Python 2 dict; keys and values shown with Python 2's repr
        parts = []
        for key in dict_order(value):
            item = value[key]
            shown_key = repr_text(key) if isinstance(key, str) else _str(key)
            shown = repr_text(item) if isinstance(item, str) else _str(item)
            parts.append(f"{shown_key}: {shown}")
        out.append(repr_text("{" + ", ".join(parts) + "}"))
    else:
        out.append(repr_text(_str(value)))


def show(value: object) -> str:
    """The text ``sxp.show(value)`` wrote."""
    out: list[str] = []
    _show(value, out)
    return "".join(out)
