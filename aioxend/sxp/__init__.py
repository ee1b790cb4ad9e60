"""S-expressions as xend writes them (SXP): reader, printer, XML-RPC converter, queries.

Data model, xend's own (Xen 4.4 ``tools/python/xen/xend/sxp.py`` ``Parser``): an atom is a
``str`` and a list is a ``list``; there are no numbers, symbols or ``None``. ``(memory
512)`` reads as ``['memory', '512']`` and stays text until a typed reader (``as_int``,
``as_float``, ``as_bool``) converts it, so nothing is lost or guessed (``010`` stays
``"010"``).

Text follows xend's Python 2 byte semantics: escapes in quoted atoms give bytes, and each
atom is decoded as UTF-8, or latin-1 when that fails, so ``'caf\\xc3\\xa9'`` reads as
``café`` and ``dumps`` writes it back the same way.

One reader serves both protocols: ``from_xmlrpc`` turns xend's XML-RPC arrays into the
expression its HTTP server would have printed, so::

    dom = loads("(domain (domid 5) (name rhel5) (image (linux (kernel /boot/vmlinuz))))")
    lookup(dom, "domain/image/linux/kernel")   # ['kernel', '/boot/vmlinuz']
    value(dom, "domain/name")                   # 'rhel5'
    as_int(value(dom, "domain/domid"))          # 5
    dumps(dom, pretty=True)                     # the xm list -l layout

This package is sans-IO and imports nothing of aioxend but ``aioxend.errors``.
Malformed input raises ``ProtocolError`` (with ``offset``); a crossed ``Limits`` bound
raises ``LimitExceeded``; a typed reader given text that is not a number raises
``SXPValueError`` (a ``ProtocolError`` and a ``ValueError``).
"""

from aioxend.sxp._convert import from_xmlrpc, to_xmlrpc
from aioxend.sxp._interop import from_sexpdata, to_sexpdata
from aioxend.sxp._parser import DEFAULT_LIMITS, Expr, Limits, Parser, loads, loads_all
from aioxend.sxp._printer import Printable, dumps, py2_float_str
from aioxend.sxp._query import (
    SXPValueError,
    as_bool,
    as_float,
    as_int,
    children,
    lookup,
    value,
)
from aioxend.sxp._text import is_bare, unescape

__all__ = [
    "DEFAULT_LIMITS",
    "Expr",
    "Limits",
    "Parser",
    "Printable",
    "SXPValueError",
    "as_bool",
    "as_float",
    "as_int",
    "children",
    "dumps",
    "from_sexpdata",
    "from_xmlrpc",
    "is_bare",
    "loads",
    "loads_all",
    "lookup",
    "py2_float_str",
    "to_sexpdata",
    "to_xmlrpc",
    "unescape",
    "value",
]
