"""Protocol backends: xend's XML-RPC API and its legacy S-expression/HTTP protocol.

Both turn the operations of one table (``OPS``) into requests on a transport and bring
the answers to one shape, so ``aioxend.XendClient`` returns the same typed result over
either. Applications use the client; this package is its engine.
"""

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
