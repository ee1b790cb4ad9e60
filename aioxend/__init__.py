"""aioxend: an async client SDK for the Xen management daemon, xend.

The legacy client's names (``XendClient``, ``connect``, the models, ``Fleet``) are imported
on first use (PEP 562), so ``import aioxend.xenapi`` does not load the legacy client, its
SXP layer and its models; the exception tree is imported at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aioxend._lazy import lazy_names as _lazy_names
from aioxend.errors import (
    ConnectError,
    ConnectTimeout,
    Fault,
    HTTPStatusError,
    InternalError,
    InvalidDomain,
    LimitExceeded,
    LocalProtocolError,
    MethodNotSupported,
    OperationFailed,
    PoolTimeout,
    ProtocolError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Timeout,
    TransportError,
    UnsupportedOperation,
    WriteError,
    WriteTimeout,
    XenAPIError,
    XendError,
)

if TYPE_CHECKING:
    from aioxend._log import configure_logging
    from aioxend.client import XendClient, connect
    from aioxend.events import Event
    from aioxend.fleet import Fleet, FleetResults, HostResult
    from aioxend.models import Device, DomainInfo, DomainState, NodeInfo, PowerState, VcpuInfo
    from aioxend.protocols import Credit2Params, CreditParams, DeviceRef, PciDevice, SedfParams

_LAZY = {
    "XendClient": "aioxend.client",
    "connect": "aioxend.client",
    "Event": "aioxend.events",
    "Fleet": "aioxend.fleet",
    "FleetResults": "aioxend.fleet",
    "HostResult": "aioxend.fleet",
    "Device": "aioxend.models",
    "DomainInfo": "aioxend.models",
    "DomainState": "aioxend.models",
    "NodeInfo": "aioxend.models",
    "PowerState": "aioxend.models",
    "VcpuInfo": "aioxend.models",
    "Credit2Params": "aioxend.protocols",
    "CreditParams": "aioxend.protocols",
    "DeviceRef": "aioxend.protocols",
    "PciDevice": "aioxend.protocols",
    "SedfParams": "aioxend.protocols",
    "configure_logging": "aioxend._log",
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY)

__version__ = "0.1.0"

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "Credit2Params",
    "CreditParams",
    "Device",
    "DeviceRef",
    "DomainInfo",
    "DomainState",
    "Event",
    "Fault",
    "Fleet",
    "FleetResults",
    "HTTPStatusError",
    "HostResult",
    "InternalError",
    "InvalidDomain",
    "LimitExceeded",
    "LocalProtocolError",
    "MethodNotSupported",
    "NodeInfo",
    "OperationFailed",
    "PciDevice",
    "PoolTimeout",
    "PowerState",
    "ProtocolError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "SedfParams",
    "Timeout",
    "TransportError",
    "UnsupportedOperation",
    "VcpuInfo",
    "WriteError",
    "WriteTimeout",
    "XenAPIError",
    "XendClient",
    "XendError",
    "__version__",
    "configure_logging",
    "connect",
]
