"""Small typed results of operations that return neither a domain nor the node.

xend answers these as XML-RPC structs, nested arrays or S-expressions depending on the
protocol; the converters in ``_ops`` read every shape into the same record here, so a
caller gets one type whichever protocol the client speaks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Credit2Params", "CreditParams", "DeviceRef", "PciDevice", "SedfParams"]


@dataclass(frozen=True)
class CreditParams:
    """Credit-scheduler settings of a domain: ``weight`` (1-65535) and ``cap`` (0 = none)."""

    weight: int
    cap: int


@dataclass(frozen=True)
class Credit2Params:
    """Credit2-scheduler settings of a domain."""

    weight: int


@dataclass(frozen=True)
class SedfParams:
    """SEDF-scheduler settings of a domain, as ``cpu_sedf_get`` reports them."""

    period: int
    slice: int
    latency: int
    extratime: int
    weight: int


@dataclass(frozen=True)
class DeviceRef:
    """The device ``device_create`` made: its class (``vbd``, ``vif``...), domain and id."""

    dev_class: str
    domid: int | None
    devid: int | str | None


@dataclass(frozen=True)
class PciDevice:
    """One host PCI device from ``pci_info``, its address fields as xend wrote them."""

    domain: str
    bus: str
    slot: str
    func: str
