"""Protocol backends: xend's XML-RPC API and its legacy S-expression/HTTP protocol.

Both turn the operations of one table (``OPS``) into requests on a transport and bring
the answers to one shape, so ``aioxend.XendClient`` returns the same typed result over
either. Applications use the client; this package is its engine.

The public names load on first use (PEP 562), so importing a submodule that needs none
of them (``_gc``, ``_stream``, ``_xmlbody``, as the Xen-API client does) loads neither
the operation table, nor the models, nor SXP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aioxend._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
    from aioxend.protocols._base import (
        Backend,
        Call,
        NotSxpServer,
        NotXmlRpcServer,
        WrongServer,
        dom_text,
    )
    from aioxend.protocols._ops import OPS, Config, Op, SxpSpec
    from aioxend.protocols._results import (
        Credit2Params,
        CreditParams,
        DeviceRef,
        PciDevice,
        SedfParams,
    )
    from aioxend.protocols._sxp import SxpBackend
    from aioxend.protocols._xmlrpc import XmlRpcBackend

__all__ = [
    "OPS",
    "Backend",
    "Call",
    "Config",
    "Credit2Params",
    "CreditParams",
    "DeviceRef",
    "NotSxpServer",
    "NotXmlRpcServer",
    "Op",
    "PciDevice",
    "SedfParams",
    "SxpBackend",
    "SxpSpec",
    "WrongServer",
    "XmlRpcBackend",
    "dom_text",
]

_HOMES = {
    "Backend": "._base",
    "Call": "._base",
    "NotSxpServer": "._base",
    "NotXmlRpcServer": "._base",
    "WrongServer": "._base",
    "dom_text": "._base",
    "OPS": "._ops",
    "Config": "._ops",
    "Op": "._ops",
    "SxpSpec": "._ops",
    "Credit2Params": "._results",
    "CreditParams": "._results",
    "DeviceRef": "._results",
    "PciDevice": "._results",
    "SedfParams": "._results",
    "SxpBackend": "._sxp",
    "XmlRpcBackend": "._xmlrpc",
}


__getattr__, __dir__ = _lazy_names(__name__, _HOMES)
