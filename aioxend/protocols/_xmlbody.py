"""The body of an XML-RPC request, built directly for the calls nearly every xend and
xapi request is (a method and a few plain strings, small ints and bools), else by the
encoder; shared by xend's backend (``_xmlrpc``) and the Xen-API XML-RPC wire, and kept
apart from both so the Xen-API client loads neither the operation table nor SXP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aioxend import xmlrpc

__all__ = ["request_body"]

_PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>\n<methodCall><methodName>'
_STRING_PARAM = "<param><value><string>{}</string></value></param>"
_INT_PARAM = "<param><value><int>{}</int></value></param>"
_BOOL_PARAMS = (
    "<param><value><boolean>0</boolean></value></param>",
    "<param><value><boolean>1</boolean></value></param>",
)
_INT32 = range(-(2**31), 2**31)
_heads: dict[str, str] = {}


def _plain(text: str) -> bool:
    """Whether ``text`` goes into XML as it is: printable ASCII without ``&<>``."""
    return text.isascii() and text.isprintable() and not ("&" in text or "<" in text or ">" in text)


def request_body(method: str, params: Sequence[object]) -> bytes:
    """``xmlrpc.dumps(tuple(params), method)``, built directly when every param is a
    plain printable ASCII string (no ``&<>``), a 32-bit int or a bool, as nearly all of
    xend's calls are; anything else goes through the encoder."""
    head = _heads.get(method)
    if head is None:
        if not method or not _plain(method):
            return xmlrpc.dumps(tuple(params), method, allow_none=True)
        head = f"{_PROLOGUE}{method}</methodName><params>"
        if len(_heads) < 1024:
            _heads[method] = head
    pieces = [head]
    for param in params:
        kind = type(param)
        if kind is str:
            text = cast(str, param)
            if not _plain(text):
                return xmlrpc.dumps(tuple(params), method, allow_none=True)
            pieces.append(_STRING_PARAM.format(text))
        elif kind is int and param in _INT32:
            pieces.append(_INT_PARAM.format(param))
        elif kind is bool:
            pieces.append(_BOOL_PARAMS[1] if param else _BOOL_PARAMS[0])
        else:
            return xmlrpc.dumps(tuple(params), method, allow_none=True)
    pieces.append("</params></methodCall>\n")
    return "".join(pieces).encode("ascii")
