"""The emulated host's records: a domain, its devices, a CPU pool, and their states.

A domain has a Xen-API power ``status`` (0 halted, 1 paused, 2 running, 3 suspended,
4 shutting down, 5 crashed) and, while it has a domid, the six-letter ``state`` string
derived from it (``r-----``/``-b----`` running, ``--p---`` paused, ``---s--`` shut down,
``----c-`` crashed). ``cpu_time`` grows with wall time while a domain runs. ``sxpr()``
gives the record as xend's ``XendDomainInfo.sxpr`` did (Xen 4.4
``tools/python/xen/xend/XendConfig.py`` ``XendConfig.to_sxp`` with ``legacy_only=True``).
"""

from __future__ import annotations

import copy
import random
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from aioxend.emulator._py2 import Long, dict_order

__all__ = [
    "CRASHED",
    "HALTED",
    "MAX_VCPUS",
    "PAUSED",
    "POWER_STATE_NAMES",
    "RUNNING",
    "SHUTDOWN",
    "SUSPENDED",
    "UNKNOWN",
    "CpuPool",
    "Device",
    "Domain",
    "Sxpr",
    "image_sxpr",
    "rand_uuid",
    "random_mac",
]

HALTED, PAUSED, RUNNING, SUSPENDED, SHUTDOWN, CRASHED, UNKNOWN = range(7)
POWER_STATE_NAMES = {
    HALTED: "Halted",
    PAUSED: "Paused",
    RUNNING: "Running",
    SUSPENDED: "Suspended",
    SHUTDOWN: "Halted",  # xend reports "shutting down" as halted
    CRASHED: "Crashed",
    UNKNOWN: "Unknown",
}
MAX_VCPUS = 128  # Xen 4.4's limit; the hypervisor refused more with EINVAL

Sxpr = list[object]


@dataclass
class Device:
    """One configured device: class, devid and its ``[key, value]`` configuration."""

    cls: str
    devid: int
    config: list[list[object]]

    def get(self, key: str, default: object = None) -> object:
        """The first value configured under ``key``."""
        for item in self.config:
            if item and item[0] == key:
                return item[1] if len(item) > 1 else default
        return default

    def set(self, key: str, value: object) -> None:
        """Replace (or append) the value under ``key``."""
        for item in self.config:
            if item and item[0] == key:
                item[1:] = [value]
                return
        self.config.append([key, value])

    def sxpr(self) -> Sxpr:
        """``[class, [key, value], ...]``, as inside a ``(device ...)`` entry."""
        return [self.cls, *copy.deepcopy(self.config)]


@dataclass
class Domain:
    """A guest (or Domain-0) as xend knows it. Attributes are the record's fields."""

    name: str
    uuid: str
    memory: int
    maxmem: int
    vcpus: int
    image: Sxpr
    domid: int | None = None
    status: int = HALTED
    run_flag: str = "b"
    online_vcpus: int = 1
    cpu_weight: int = 256
    cpu_cap: int = 0
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "restart"
    bootloader: str = ""
    bootloader_args: str = ""
    description: str = ""
    pool_name: str = "Pool-0"
    shadow_memory: int = 0
    features: str = ""
    on_xend_start: str = "ignore"
    on_xend_stop: str = "ignore"
    start_time: float = 0.0
    cpu_rate: float = 0.05
    devices: list[Device] = field(default_factory=list)
    cpus: list[list[int]] = field(default_factory=list)
    managed: bool = False
    store_mfn: int = 0
    console_mfn: int = 0
    paused_by_admin: object = False
    restart_count: int = 0
    sysrq_keys: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    ioports: list[tuple[int, int, bool]] = field(default_factory=list)
    usb: list[str] = field(default_factory=list)
    sedf: dict[str, int] = field(default_factory=dict)
    _cpu_base: float = 0.0
    _cpu_since: float | None = None

    # -- derived state -------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the domain exists in the hypervisor (it has a domid)."""
        return self.domid is not None

    @property
    def is_hvm(self) -> bool:
        """True for a fully virtualised guest (``(image (hvm ...))``)."""
        return bool(self.image) and self.image[0] == "hvm"

    @property
    def state_string(self) -> str:
        """The six-letter state of ``xm list``; ``------`` when not active."""
        if not self.active:
            return "------"
        return {
            RUNNING: "r-----" if self.run_flag == "r" else "-b----",
            PAUSED: "--p---",
            SHUTDOWN: "---s--",
            CRASHED: "----c-",
        }.get(self.status, "------")

    @property
    def state_name(self) -> str:
        """The Xen-API power state name (``Running``, ``Paused``, ``Halted``...)."""
        return POWER_STATE_NAMES[self.status]

    @property
    def cpu_time(self) -> float:
        """Seconds of CPU used; grows with wall time while running."""
        total = self._cpu_base
        if self._cpu_since is not None:
            total += (time.monotonic() - self._cpu_since) * self.cpu_rate
        return round(total, 9)

    @property
    def vcpu_avail(self) -> int:
        """The bitmap of online VCPUs (a Python 2 long in xend)."""
        return (1 << self.online_vcpus) - 1

    def set_status(self, status: int) -> None:
        """Move to ``status``, keeping the CPU-time clock in step."""
        if self._cpu_since is not None:
            self._cpu_base += (time.monotonic() - self._cpu_since) * self.cpu_rate
            self._cpu_since = None
        self.status = status
        if status == RUNNING:
            self._cpu_since = time.monotonic()

    def reset_clock(self) -> None:
        """A fresh boot: CPU time back to zero, start time now."""
        self._cpu_base = 0.0
        self._cpu_since = time.monotonic() if self.status == RUNNING else None
        self.start_time = round(time.time(), 2)

    def image_value(self, key: str) -> object:
        """A value from the ``image`` section (``usb``, ``kernel``...)."""
        for item in self.image[1:]:
            if isinstance(item, list) and item and item[0] == key:
                return item[1] if len(item) > 1 else None
        return None

    # -- the record ----------------------------------------------------------------
    def sxpr(self, full: bool = True) -> Sxpr:
        """The domain record, in ``XendConfig.to_sxp``'s key order; devices when ``full``."""
        rec: Sxpr = ["domain"]
        if self.active:
            rec.append(["domid", self.domid])
        rec += [["cpu_weight", self.cpu_weight], ["cpu_cap", self.cpu_cap]]
        rec += [
            ["on_crash", self.on_crash],
            ["uuid", self.uuid],
            ["bootloader_args", self.bootloader_args],
            ["vcpus", self.vcpus],
            ["name", self.name],
            ["cpus", [list(c) for c in self.cpus]],
            ["on_poweroff", self.on_poweroff],
            ["on_reboot", self.on_reboot],
            ["bootloader", self.bootloader],
            ["description", self.description],
            ["pool_name", self.pool_name],
        ]
        rec += [["maxmem", self.maxmem], ["memory", self.memory]]
        rec += [
            ["shadow_memory", self.shadow_memory],
            ["vcpu_avail", Long(self.vcpu_avail)],
            ["features", self.features],
            ["on_xend_start", self.on_xend_start],
            ["on_xend_stop", self.on_xend_stop],
        ]
        if self.active:
            rec += [
                ["start_time", self.start_time],
                ["cpu_time", self.cpu_time],
                ["online_vcpus", self.online_vcpus],
            ]
        rec.append(["image", image_sxpr(self.image)])
        rec.append(["status", self.status])
        if self.active:
            rec.append(["state", self.state_string])
            rec += [["store_mfn", self.store_mfn], ["console_mfn", self.console_mfn]]
        if full:
            rec += [["device", dev.sxpr()] for dev in self.devices]
        return rec

    def __str__(self) -> str:
        return (
            f"<domain id={self.domid} name={self.name} memory={self.memory} "
            f"state={self.state_name.lower()}>"
        )


@dataclass
class CpuPool:
    """A CPU pool (Xen 4.1+)."""

    uuid: str
    name: str
    sched_policy: str = "credit"
    ncpu: int = 1
    cpus: list[int] = field(default_factory=list)
    activated: bool = False
    auto_power_on: bool = False
    description: str = ""
    proposed: list[int] = field(default_factory=list)


def rand_uuid(rng: random.Random) -> str:
    """A version-4 UUID drawn from ``rng`` (so a seed gives the same host)."""
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def random_mac(rng: random.Random) -> str:
    """A MAC address in Xen's ``00:16:3e`` range, as ``randomMAC`` made them."""
    return "00:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def image_sxpr(image: Sxpr) -> Sxpr:
    """The ``(image ...)`` section as ``XendConfig.image_sxpr`` gave it back.

    Its ``notes`` come from a dict through ``XendConfig.notes_sxp``, which applies
    ``str()`` to every value (``SUSPEND_CANCEL`` is ``"1"``) in Python 2 dict order.
    """
    out = copy.deepcopy(image)
    for i, item in enumerate(out):
        if isinstance(item, list) and item and item[0] == "notes":
            notes = {str(n[0]): n[1] for n in item[1:] if isinstance(n, list) and len(n) > 1}
            out[i] = ["notes", *[[k, str(notes[k])] for k in dict_order(notes)]]
    return out
