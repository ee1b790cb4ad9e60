"""xend's own exception classes, as the emulated daemon raises them.

These are server-side: the XML-RPC listener turns them into faults and the SXP listener
into ``(xend.err ...)`` bodies, exactly as xend did (Xen 4.4
``tools/python/xen/xend/XendError.py``; ``tools/python/xen/util/xmlrpclib2.py``
``TCPXMLRPCServer._marshaled_dispatch``; ``tools/python/xen/web/SrvBase.py`` ``perform``).
In xend 3.0.2+ ``XendError`` and ``XendInvalidDomain`` are ``xmlrpclib.Fault`` subclasses:
the fault string is the raw constructor value, while ``str()`` (used by the SXP side)
differs between the two. Anything else a handler raises is a Python error, which becomes
fault code 1 with ``str(exc)``.
"""

from __future__ import annotations

from aioxend.emulator._py2 import repr_text

__all__ = [
    "ArgError",
    "VmError",
    "XendError",
    "XendFault",
    "XendInvalidDomain",
]


class XendFault(Exception):
    """An ``xmlrpclib.Fault`` raised inside xend: ``code`` and the raw ``value``."""

    code = 1

    def __init__(self, value: str | list[object]) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        # xmlrpclib.Fault.__repr__/__str__: "<Fault 3: 'vm9'>"
        value = self.value
        shown = repr_text(value) if isinstance(value, str) else repr(value)
        return f"<Fault {self.code}: {shown}>"


class XendError(XendFault):
    """``XendError`` (code 2) and its subclasses; ``str()`` is the bare message."""

    code = 2

    def __str__(self) -> str:
        return str(self.value)


class VmError(XendError):
    """``VmError``, ``VMBadState``, ``XendConfigError``: all code 2 on the wire."""


class XendInvalidDomain(XendFault):
    """``XendInvalidDomain`` (code 3): the value is the domain as the caller gave it."""

    code = 3


class ArgError(Exception):
    """``xen.xend.Args.ArgError``: a form parameter missing or of the wrong type."""
