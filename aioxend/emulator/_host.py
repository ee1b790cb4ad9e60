"""The emulated Xen host: Domain-0, guests, their state machine, and the node.

Strategy: one ``Host`` object holds everything xend kept (running domains by domid,
managed domains, saved images, CPU pools, the console ring, the xend log). Its methods
are xend's own operations, named after ``XendDomain.domain_*``, ``XendDomainInfo`` and
``XendNode``, with xend's checks in xend's order and xend's error strings, so both
listeners (XML-RPC and legacy SXP/HTTP) share one behaviour. Nothing here does I/O.

State: a domain has a Xen-API power ``status`` (0 halted, 1 paused, 2 running,
3 suspended, 4 shutting down, 5 crashed) and, while it has a domid, the six-letter
``state`` string derived from it (``r-----``/``-b----`` running, ``--p---`` paused,
``---s--`` shut down, ``----c-`` crashed). Shutdown requests take effect at once: the
guest "obeys" immediately and its ``on_poweroff``/``on_reboot``/``on_crash`` action runs.
``cpu_time`` grows with wall time while a domain runs.

Threads: every public method expects ``Host.lock`` to be held; the listeners hold it
around each request, and ``domain()``/``domains()`` take it themselves, so tests may
inspect the host from another thread.
"""

from __future__ import annotations

import copy
import random
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field

from aioxend.emulator._errors import VmError, XendError, XendInvalidDomain
from aioxend.emulator._py2 import Long, type_name

__all__ = [
    "CRASHED",
    "HALTED",
    "PAUSED",
    "POWER_STATE_NAMES",
    "RUNNING",
    "SHUTDOWN",
    "SUSPENDED",
    "Device",
    "Domain",
    "Host",
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
SHUTDOWN_REASONS = ("poweroff", "reboot", "suspend", "crash", "halt")
TRIGGERS = ("nmi", "reset", "init", "s3resume", "power")
VALID_DEVICES = (
    "console",
    "ioports",
    "irq",
    "pci",
    "tap",
    "tap2",
    "vbd",
    "vfb",
    "vif",
    "vkbd",
    "vscsi",
    "vtpm",
    "vusb",
)
BLOCK_CLASSES = ("vbd", "tap", "tap2")
MAX_VCPUS = 128  # Xen 4.4's limit; the hypervisor refused more with EINVAL
DOM0_UUID = "00000000-0000-0000-0000-000000000000"
DOM0_NAME = "Domain-0"
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-\.\:\+]+$")
_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$", re.I)
_INT_KEYS = (
    "memory",
    "maxmem",
    "vcpus",
    "cpu_weight",
    "cpu_cap",
    "shadow_memory",
)
_STR_KEYS = (
    "on_poweroff",
    "on_reboot",
    "on_crash",
    "bootloader",
    "bootloader_args",
    "description",
    "on_xend_start",
    "on_xend_stop",
    "features",
    "pool_name",
)

Sxpr = list[object]


def blkdev_number(name: object) -> int | None:
    """xend's ``blkif_name_to_number``: ``xvdb`` → 51728, ``hda`` → 768, ``sdb`` → 2064."""
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    text = str(name).split(":")[0]
    if text.isdigit():
        return int(text)
    match = re.fullmatch(r"(xvd|sd|hd)([a-z]+)(\d*)", text)
    if not match:
        return None
    kind, letters, part = match.groups()
    index = 0
    for letter in letters:
        index = index * 26 + (ord(letter) - ord("a") + 1)
    index -= 1
    partition = int(part) if part else 0
    if kind == "xvd":
        return (202 << 8) | (index << 4) | partition
    if kind == "sd":
        return (8 << 8) | (index << 4) | partition
    majors = (3, 22, 33, 34, 56, 57, 88, 89, 90, 91)
    if index >= 2 * len(majors):
        return None
    return (majors[index // 2] << 8) | ((index % 2) << 6) | partition


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
        """The domain record (protocol reference section 4.4); devices when ``full``."""
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
        rec.append(["image", copy.deepcopy(self.image)])
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


def _rand_uuid(rng: random.Random) -> str:
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def _mac(rng: random.Random) -> str:
    return "00:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def _pairs(config: Sxpr) -> list[list[object]]:
    return [list(item) for item in config[1:] if isinstance(item, list) and item]


def _to_int(key: str, value: object) -> int:
    try:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        return int(str(value), 0) if str(value).startswith("0x") else int(str(value))
    except ValueError:
        raise VmError(f"Invalid configuration: {key} {value!s}") from None


class Host:
    """The emulated xend host. See the module docstring for the locking rule."""

    total_memory = 16383
    nr_cpus = 8
    cpu_mhz = 2394

    def __init__(self, *, domains: int = 3, seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.seed = seed
        self.scheduler = "credit"
        self.domains_by_id: dict[int, Domain] = {}
        self.managed: dict[str, Domain] = {}
        self.saved: dict[str, Domain] = {}
        self.core_dumps: list[tuple[str, str]] = []
        self.migrations: list[tuple[str, str, int, bool]] = []
        self.debug_keys: list[str] = []
        self.vnets: dict[str, Sxpr] = {}
        self.tmem: dict[int, dict[str, int]] = {}
        self.pools: dict[str, CpuPool] = {}
        self.pci_assignable = [(0, 3, 0, 0), (0, 3, 0, 1), (0, 4, 0, 0)]
        self.booted = time.time()
        self._next_domid = 1
        self._log: list[str] = []
        self._dmesg: list[str] = []
        self._seed_dmesg()
        dom0 = Domain(
            name=DOM0_NAME,
            uuid=DOM0_UUID,
            memory=2048,
            maxmem=2048,
            vcpus=self.nr_cpus,
            online_vcpus=self.nr_cpus,
            image=["linux", ["kernel", ""], ["superpages", 0], ["nomigrate", 0]],
            domid=0,
            run_flag="r",
            cpu_rate=0.31,
            store_mfn=0,
            console_mfn=0,
            cpus=[[] for _ in range(self.nr_cpus)],
        )
        dom0.set_status(RUNNING)
        dom0.start_time = round(self.booted - 86400.0 - self.rng.randrange(86400), 2)
        dom0._cpu_base = round(self.rng.uniform(2000.0, 9000.0), 9)
        self.domains_by_id[0] = dom0
        self.pools["Pool-0"] = CpuPool(
            uuid=_rand_uuid(self.rng),
            name="Pool-0",
            ncpu=self.nr_cpus,
            cpus=list(range(self.nr_cpus)),
            activated=True,
            auto_power_on=True,
        )
        for i in range(1, domains + 1):
            self._add_domain(self._seed_guest(i))
        self.log("INFO", "SrvDaemon", f"Xend started with {domains} guests (seed {seed}).")

    # -- seeding -------------------------------------------------------------------
    def _seed_dmesg(self) -> None:
        self._dmesg = [
            " Xen 4.4.0\n",
            "(XEN) Xen version 4.4.0 (emulator@aioxend) (gcc (Debian 4.7.2-5) 4.7.2) "
            "debug=n Mon Mar 10 14:17:55 UTC 2014\n",
            "(XEN) Command line: placeholder dom0_mem=2048M,max:2048M\n",
            "(XEN) Video information:\n",
            "(XEN)  VGA is text mode 80x25, font 8x16\n",
            f"(XEN) System RAM: {self.total_memory}MB ({self.total_memory * 1024}kB)\n",
            f"(XEN) Brought up {self.nr_cpus} CPUs\n",
            "(XEN) Using scheduler: SMP Credit Scheduler (credit)\n",
            "(XEN) *** LOADING DOMAIN 0 ***\n",
            "(XEN) Scrubbing Free RAM: .done.\n",
            "(XEN) Std. Loglevel: Errors and warnings\n",
            "(XEN) Freed 268kB init memory.\n",
        ]

    def _seed_guest(self, i: int) -> Domain:
        rng = self.rng
        hvm = i % 3 == 0
        name = f"vm{i}"
        memory = rng.choice([256, 512, 1024, 2048])
        vcpus = rng.choice([1, 1, 2, 4])
        dom = Domain(
            name=name,
            uuid=_rand_uuid(rng),
            memory=memory,
            maxmem=memory,
            vcpus=vcpus,
            online_vcpus=vcpus,
            image=[],
            domid=i,
            run_flag=rng.choice(["r", "b", "b"]),
            cpu_rate=round(rng.uniform(0.01, 0.6), 3),
            on_crash=rng.choice(["restart", "destroy", "preserve"]),
            description=f"seeded guest {i}",
            shadow_memory=8 if hvm else 0,
            store_mfn=rng.randrange(100000, 900000),
            console_mfn=rng.randrange(100000, 900000),
            cpus=[[] for _ in range(vcpus)],
            managed=i % 2 == 0,
            on_xend_start="start" if i % 2 == 0 else "ignore",
        )
        if hvm:
            dom.image = [
                "hvm",
                ["kernel", ""],
                ["boot", "c"],
                ["device_model", "/usr/lib/xen-4.4/bin/qemu-dm"],
                ["loader", "/usr/lib/xen-4.4/boot/hvmloader"],
                ["acpi", 1],
                ["apic", 1],
                ["pae", 1],
                ["hpet", 0],
                ["localtime", 0],
                ["serial", "pty"],
                ["usb", 1],
                ["usbdevice", "tablet"],
                ["vnc", 1],
                ["vncunused", 1],
                ["keymap", "en-us"],
                ["notes", ["SUSPEND_CANCEL", 1]],
            ]
        else:
            dom.image = [
                "linux",
                ["kernel", "/boot/vmlinuz-3.2.0-4-amd64"],
                ["ramdisk", "/boot/initrd.img-3.2.0-4-amd64"],
                ["args", "root=/dev/xvda1 ro console=hvc0"],
                ["superpages", 0],
                ["nomigrate", 0],
                ["tsc_mode", 0],
                ["device_model", "/usr/lib/xen-4.4/bin/qemu-dm"],
                [
                    "notes",
                    ["FEATURES", "!writable_page_tables|pae_pgdir_above_4gb"],
                    ["VIRT_BASE", "18446744071562067968"],
                    ["GUEST_OS", "linux"],
                    ["HYPERCALL_PAGE", "18446744071578882048"],
                    ["LOADER", "generic"],
                    ["SUSPEND_CANCEL", 1],
                    ["XEN_VERSION", "xen-3.0"],
                ],
            ]
        disk = "hda:disk" if hvm else "xvda:disk"
        self._attach(
            dom,
            "vbd",
            [
                ["uname", f"phy:/dev/vg0/{name}-disk"],
                ["dev", disk],
                ["mode", "w"],
                ["bootable", 1],
            ],
        )
        if hvm:
            self._attach(
                dom,
                "vbd",
                [
                    ["uname", "file:/srv/iso/debian-7.4.0-amd64-netinst.iso"],
                    ["dev", "hdc:cdrom"],
                    ["mode", "r"],
                    ["bootable", 0],
                ],
            )
        vif: list[list[object]] = [
            ["bridge", "xenbr0"],
            ["mac", _mac(rng)],
            ["script", "/etc/xen/scripts/vif-bridge"],
        ]
        if hvm:
            vif += [["type", "ioemu"], ["model", "e1000"]]
        self._attach(dom, "vif", vif)
        self._attach(dom, "console", [["protocol", "vt100"], ["location", str(i + 1)]])
        if hvm or i % 2 == 0:
            self._attach(dom, "vkbd", [])
            self._attach(
                dom,
                "vfb",
                [["vncunused", 1], ["vnc", 1], ["location", f"127.0.0.1:{5900 + i}"]],
            )
        dom.set_status(RUNNING)
        dom.start_time = round(self.booted - rng.randrange(60, 86400), 2)
        dom._cpu_base = round(rng.uniform(5.0, 5000.0), 9)
        self._next_domid = max(self._next_domid, i + 1)
        return dom

    def _add_domain(self, dom: Domain) -> None:
        if dom.domid is not None:
            self.domains_by_id[dom.domid] = dom
        if dom.managed:
            self.managed[dom.uuid] = dom

    # -- inspection (safe from any thread) -----------------------------------------
    def domain(self, dom: object) -> Domain:
        """The domain named, numbered or identified by ``dom``; KeyError if none."""
        with self.lock:
            found = self.lookup_nr(dom)
        if found is None:
            raise KeyError(dom)
        return found

    def domains(self) -> list[Domain]:
        """Every domain, active and managed-inactive, sorted by name."""
        with self.lock:
            return self.list_sorted("all")

    def log(self, level: str, where: str, message: str) -> None:
        """Append a line to the emulated ``xend.log``."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        self._log.append(f"[{stamp} 4242] {level} ({where}) {message}\n")

    def xend_log(self) -> str:
        """The whole emulated ``/var/log/xen/xend.log``."""
        with self.lock:
            return "".join(self._log)

    def append_dmesg(self, text: str) -> None:
        """Add text to the hypervisor console ring (``xm dmesg``)."""
        with self.lock:
            self._dmesg.append(text)

    # -- lookup --------------------------------------------------------------------
    def _active(self) -> list[Domain]:
        return list(self.domains_by_id.values())

    def lookup_nr(self, domid: object) -> Domain | None:
        """``XendDomain.domain_lookup_nr``: name, managed name, domid, uuid, managed uuid."""
        for dom in self._active():
            if dom.name == domid:
                return dom
        for dom in self.managed.values():
            if dom.name == domid:
                return dom
        if domid is None or isinstance(domid, (list, dict)):
            # Python 2's int() on these raised TypeError, which xend did not catch
            raise TypeError(
                f"int() argument must be a string or a number, not '{type_name(domid)}'"
            )
        try:
            number = int(domid)  # type: ignore[call-overload]
        except (ValueError, TypeError):
            number = None
        if number is not None and number in self.domains_by_id:
            return self.domains_by_id[number]
        for dom in self._active():
            if dom.uuid == domid:
                return dom
        if isinstance(domid, str) and domid in self.managed:
            return self.managed[domid]
        return None

    def lookup(self, domid: object) -> Domain:
        """``XendDomain.domain_lookup``: as ``lookup_nr`` but Fault 3 when missing."""
        dom = self.lookup_nr(domid)
        if dom is None:
            raise XendInvalidDomain(str(domid))
        return dom

    def list_domains(self, state: object = "running") -> list[Domain]:
        """``XendDomain.list``: active then inactive managed domains in ``state``."""
        if type(state) is int:
            state = POWER_STATE_NAMES[state]
        if not isinstance(state, str):
            raise AttributeError(f"'{type(state).__name__}' object has no attribute 'lower'")
        state = state.lower()
        active = self._active()
        uuids = {d.uuid for d in active}
        doms = active + [d for u, d in self.managed.items() if u not in uuids]
        if state == "all":
            return doms
        return [d for d in doms if POWER_STATE_NAMES[d.status].lower() == state]

    def list_sorted(self, state: object = "running") -> list[Domain]:
        """``list`` sorted by name (byte order, as Python 2 compared str)."""
        return sorted(self.list_domains(state), key=lambda d: d.name.encode())

    def list_names(self, state: object = "running") -> list[str]:
        """Names of ``list_sorted(state)``."""
        return [d.name for d in self.list_sorted(state)]

    # -- creation ------------------------------------------------------------------
    def check_name(self, dom: Domain, name: object) -> None:
        """``XendDomainInfo._checkName``."""
        if name is None or name == "":
            raise VmError("Missing VM Name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise VmError("Invalid VM Name")
        other = self.lookup_nr(name)
        if other is not None and other.uuid != dom.uuid:
            where = f" as domain {other.domid}" if other.domid is not None else ""
            raise VmError(f"VM name '{name}' already exists{where}")

    def _alloc_domid(self) -> int:
        domid = self._next_domid
        self._next_domid += 1
        return domid

    def free_memory(self) -> int:
        """MiB not given to any active domain."""
        used = sum(d.memory for d in self._active())
        return max(self.total_memory - used, 0)

    def _from_config(self, config: object) -> Domain:
        """Build a (halted) domain from a ``(vm ...)`` configuration, as XendConfig did."""
        if not isinstance(config, list) or not config:
            raise VmError(f"Invalid configuration: {config!s}")
        pairs = _pairs(config)
        values: dict[str, object] = {}
        devices: list[Sxpr] = []
        image: Sxpr | None = None
        for item in pairs:
            key = item[0]
            value = item[1] if len(item) > 1 else ""
            if key == "device" and isinstance(value, list):
                devices.append(value)
            elif key == "image" and isinstance(value, list):
                image = copy.deepcopy(value)
            elif isinstance(key, str) and key not in values:
                values[key] = value
        uuid = values.get("uuid")
        memory = _to_int("memory", values.get("memory", 128))
        maxmem = _to_int("maxmem", values.get("maxmem", memory))
        vcpus = _to_int("vcpus", values.get("vcpus", 1))
        if memory <= 0 or maxmem < memory:
            raise VmError("memory_dynamic_max must be less than or equal to memory_static_max")
        if vcpus <= 0:
            raise VmError("Zero or less VCPUs is invalid")
        if vcpus > MAX_VCPUS:
            raise VmError("(22, 'Invalid argument')")
        dom = Domain(
            name=str(values.get("name", "")),
            uuid=str(uuid) if uuid else _rand_uuid(self.rng),
            memory=memory,
            maxmem=maxmem,
            vcpus=vcpus,
            online_vcpus=vcpus,
            image=image if image else ["linux", ["kernel", ""]],
            cpus=[[] for _ in range(vcpus)],
            cpu_rate=round(self.rng.uniform(0.01, 0.6), 3),
            run_flag=self.rng.choice(["r", "b"]),
        )
        for key in _INT_KEYS:
            if key in values and key not in ("memory", "maxmem", "vcpus"):
                setattr(dom, key, _to_int(key, values[key]))
        for key in _STR_KEYS:
            if key in values:
                setattr(dom, key, str(values[key]))
        if "name" not in values:
            raise VmError("Missing VM Name")
        self.check_name(dom, dom.name)
        for dev in devices:
            self._device_from_config(dom, dev)
        return dom

    def _boot(self, dom: Domain, paused: bool) -> None:
        if dom.memory > self.free_memory():
            raise VmError(
                f"I need {dom.memory * 1024} KiB, but only {self.free_memory() * 1024} KiB are free"
            )
        dom.domid = self._alloc_domid()
        dom.store_mfn = self.rng.randrange(100000, 900000)
        dom.console_mfn = self.rng.randrange(100000, 900000)
        dom.set_status(PAUSED if paused else RUNNING)
        dom.reset_clock()
        self.domains_by_id[dom.domid] = dom

    def _take_down(self, dom: Domain) -> None:
        """The domain leaves the hypervisor: gone, or halted if managed."""
        if dom.domid is not None:
            self.domains_by_id.pop(dom.domid, None)
        dom.domid = None
        dom.set_status(HALTED)
        dom.online_vcpus = dom.vcpus

    def domain_create(self, config: object) -> Domain:
        """``XendDomain.domain_create``: a new domain, left paused (xm unpauses later)."""
        dom = self._from_config(config)
        self._boot(dom, paused=True)
        self.log("INFO", "XendDomainInfo", f"Created domain {dom.name} ({dom.domid}).")
        return dom

    def domain_create_from_dict(self, config: object) -> Domain:
        """``domain_create_from_dict``: as create, from a Xen-API style dict."""
        if not isinstance(config, dict):
            raise AttributeError(f"'{type(config).__name__}' object has no attribute 'keys'")
        sxp: Sxpr = ["vm"]
        for key, value in config.items():
            sxp.append(["name" if key == "name_label" else key, value])
        return self.domain_create(sxp)

    def domain_new(self, config: object) -> None:
        """``XendDomain.domain_new``: define (or redefine, same uuid) a managed domain."""
        try:
            dom = self._from_config(config)
        except XendError:
            raise
        except Exception as exc:
            raise XendError(str(exc)) from None
        existing = next((d for d in self.list_domains("all") if d.uuid == dom.uuid), None)
        if existing is not None:
            for key in ("memory", "maxmem", "vcpus", "cpu_weight", "cpu_cap", *_STR_KEYS):
                setattr(existing, key, getattr(dom, key))
            existing.managed = True
            self.managed[existing.uuid] = existing
            if not existing.active:
                existing.name = dom.name
                existing.image = dom.image
                existing.devices = dom.devices
                existing.online_vcpus = existing.vcpus
                existing.cpus = [[] for _ in range(existing.vcpus)]
            return None
        dom.managed = True
        self.managed[dom.uuid] = dom
        self.log("DEBUG", "XendDomain", f"Creating new managed domain: {dom.name}")
        return None

    def domain_start(self, domid: object, start_paused: object = True) -> None:
        """``XendDomain.domain_start``: boot a halted managed domain (paused by default)."""
        dom = self.lookup(domid)
        if dom.status != HALTED:
            raise VmError("Domain is already running")
        self._boot(dom, paused=True)
        if not start_paused:
            dom.set_status(RUNNING)
        self.log("INFO", "XendDomain", f"Domain {dom.name} ({dom.domid}) started.")

    def domain_delete(self, domid: object) -> None:
        """``XendDomain.domain_delete``: forget a halted managed domain."""
        try:
            dom = self.lookup(domid)
            if dom.status != HALTED:
                raise VmError("Domain is not halted.")
            self.managed.pop(dom.uuid, None)
            dom.managed = False
        except Exception as exc:
            raise XendError(str(exc)) from None

    # -- lifecycle -----------------------------------------------------------------
    def domain_pause(self, domid: object, state: object = False) -> int | None:
        """``XendDomain.domain_pause``; returns the previous status when ``state``."""
        try:
            dom = self.lookup(domid)
            if dom.domid == 0:
                raise XendError(f"Cannot pause privileged domain {domid}")
            ds = dom.status
            if ds not in (RUNNING, PAUSED, CRASHED):
                raise VmError(f"Domain '{domid}' is not started")
            if ds == RUNNING:
                dom.set_status(PAUSED)
            self.log("INFO", "XendDomain", f"Domain {dom.name} ({dom.domid}) paused.")
            return ds if state else None
        except XendInvalidDomain:
            raise
        except Exception as exc:
            raise XendError(str(exc)) from None

    def domain_unpause(self, domid: object) -> None:
        """``XendDomain.domain_unpause``."""
        try:
            dom = self.lookup(domid)
            if dom.domid == 0:
                raise XendError(f"Cannot unpause privileged domain {domid}")
            if dom.status not in (PAUSED, RUNNING):
                raise VmError(f"Domain '{domid}' is not started")
            dom.set_status(RUNNING)
            self.log("INFO", "XendDomain", f"Domain {dom.name} ({dom.domid}) unpaused.")
        except XendInvalidDomain:
            raise
        except Exception as exc:
            raise XendError(str(exc)) from None

    def domain_destroy(self, domid: object) -> None:
        """``XendDomain.domain_destroy``: the domain is gone (or halted, if managed)."""
        dom = self.lookup_nr(domid)
        if dom is not None and dom.domid == 0:
            raise XendError(f"Cannot destroy privileged domain {domid}")
        if dom is None:
            try:
                number = int(domid)  # type: ignore[call-overload]
            except (ValueError, TypeError):
                raise XendInvalidDomain(domid if isinstance(domid, str) else str(domid)) from None
            raise XendError("(3, 'No such process')" if number >= 0 else "(22, 'Invalid argument')")
        self._destroy(dom)

    def _destroy(self, dom: Domain) -> None:
        self.log("INFO", "XendDomainInfo", f"Destroying domain {dom.name} ({dom.domid}).")
        self._take_down(dom)

    def domain_reset(self, domid: object) -> None:
        """``XendDomain.domain_reset``: destroy and boot again (a new domid)."""
        dom = self.lookup(domid)
        if dom.domid == 0:
            raise XendError(f"Cannot reset privileged domain {domid}")
        if dom.status not in (RUNNING, PAUSED):
            raise VmError(f"Domain '{domid}' is not started")
        self._restart(dom)

    def _restart(self, dom: Domain) -> None:
        self._take_down(dom)
        self._boot(dom, paused=False)
        dom.restart_count += 1

    def shutdown(self, dom: Domain, reason: object) -> None:
        """``XendDomainInfo.shutdown``: the guest obeys at once."""
        if dom.status in (SHUTDOWN, HALTED):
            raise XendError("Domain cannot be shutdown")
        if dom.domid == 0:
            raise XendError("Domain 0 cannot be shutdown")
        if reason not in SHUTDOWN_REASONS:
            raise XendError(f"Invalid reason: {reason}")
        self.log("DEBUG", "XendDomainInfo", f"XendDomainInfo.shutdown({reason})")
        if reason == "suspend":
            dom.set_status(SHUTDOWN)
            return
        action = {"reboot": dom.on_reboot, "crash": dom.on_crash}.get(str(reason), dom.on_poweroff)
        if action in ("restart", "rename-restart"):
            self._restart(dom)
        elif action == "preserve":
            dom.set_status(CRASHED if reason == "crash" else SHUTDOWN)
        else:
            self._destroy(dom)

    # -- save, restore, suspend, resume, migrate, dump -----------------------------
    def domain_save(self, domid: object, dst: object, checkpoint: object = False) -> None:
        """``XendDomain.domain_save``: the image is recorded under ``dst``."""
        dom = self.lookup(domid)
        if dom.domid == 0:
            raise XendError(f"Cannot save privileged domain {domid}")
        if dom.status != RUNNING:
            raise VmError("Domain is not running")
        path = str(dst)
        if not path or path.endswith("/"):
            raise XendError(f"can't write guest state file {path}: Is a directory")
        self.saved[path] = copy.deepcopy(dom)
        self.log("INFO", "XendCheckpoint", f"Saving domain {dom.name} to {path}")
        if not checkpoint:
            self._take_down(dom)

    def domain_restore(self, src: object, paused: object = False) -> Domain:
        """``XendDomain.domain_restore``: bring back a domain saved to ``src``."""
        path = str(src)
        image = self.saved.get(path)
        if image is None:
            raise XendError(f"can't read guest state file {path}: No such file or directory")
        existing = next((d for d in self.list_domains("all") if d.uuid == image.uuid), None)
        if existing is not None and existing.active:
            raise VmError(f"VM name '{existing.name}' already exists as domain {existing.domid}")
        if existing is not None:
            dom = existing
        else:
            dom = copy.deepcopy(image)
            self.check_name(dom, dom.name)
        base = image._cpu_base if image._cpu_since is None else image.cpu_time
        self._boot(dom, paused=bool(paused))
        dom._cpu_base = base
        self.log("INFO", "XendCheckpoint", f"Restored domain {dom.name} from {path}")
        return dom

    def domain_restore_fd(
        self, fd: object, paused: object = False, relocating: object = False
    ) -> None:
        """``domain_restore_fd``: needs a file descriptor in xend's own process."""
        raise XendError("Restore failed")

    def domain_suspend(self, domname: object) -> None:
        """``XendDomain.domain_suspend``: managed domains only."""
        dom = self.lookup(domname)
        if dom.domid == 0:
            raise XendError(f"Cannot suspend privileged domain {domname}")
        if dom.status != RUNNING:
            raise VmError("Domain is not running")
        if not dom.managed:
            raise XendError("Domain is not managed by Xend lifecycle support.")
        self._take_down(dom)
        dom.set_status(SUSPENDED)

    def domain_resume(self, domname: object, start_paused: object = False) -> None:
        """``XendDomain.domain_resume``: every failure is wrapped, as xend did."""
        try:
            dom = self.lookup(domname)
            if dom.domid == 0:
                raise XendError(f"Cannot resume privileged domain {domname}")
            if dom.status != SUSPENDED:
                raise XendError("Cannot resume domain that is not suspended.")
            self._boot(dom, paused=bool(start_paused))
        except Exception as exc:
            raise XendError(f"Error occurred when resuming: {exc!s}") from None

    def domain_migrate(
        self,
        domid: object,
        dst: object,
        live: object = False,
        port: object = 0,
        node: object = -1,
        ssl: object = None,
        chs: object = False,
    ) -> None:
        """``XendDomain.domain_migrate``: the domain leaves for ``dst`` (recorded)."""
        dom = self.lookup(domid)
        if dom.domid == 0:
            raise XendError(f"Cannot migrate privileged domain {domid}")
        if dom.status != RUNNING:
            raise VmError("Domain is not running")
        if chs and not dom.managed:
            raise XendError("Domain is not a managed domain")
        dest = str(dst)
        if not dest:
            raise XendError("can't connect: [Errno -2] Name or service not known")
        real_port = int(port) if port else (8003 if ssl else 8002)  # type: ignore[call-overload]
        self.migrations.append((dom.name, dest, real_port, bool(live)))
        self.log("INFO", "XendCheckpoint", f"Migrating {dom.name} to {dest}:{real_port}")
        self._take_down(dom)
        if chs:
            self.managed.pop(dom.uuid, None)
            dom.managed = False

    def domain_dump(
        self,
        domid: object,
        filename: object = None,
        live: object = False,
        crash: object = False,
        reset: object = False,
    ) -> None:
        """``XendDomain.domain_dump``: the core file is recorded."""
        dom = self.lookup(domid)
        if dom.domid == 0:
            raise XendError(f"Cannot dump core for privileged domain {domid}")
        if dom.status not in (PAUSED, RUNNING, CRASHED):
            raise VmError(f"Domain '{domid}' is not started")
        path = str(filename) if filename else f"/var/xen/dump/{dom.name}.{dom.domid}.core"
        self.core_dumps.append((dom.name, path))
        if crash:
            self._destroy(dom)
        elif reset:
            self._restart(dom)

    # -- settings ------------------------------------------------------------------
    def setName(self, dom: Domain, name: object, to_store: object = True) -> None:
        """``XendDomainInfo.setName``."""
        self.check_name(dom, name)
        dom.name = str(name)

    def setMemoryTarget(self, dom: Domain, target: object) -> None:
        """``XendDomainInfo.setMemoryTarget`` (MiB)."""
        value = _arg_int(target)
        if value > dom.maxmem:
            raise XendError("memory_dynamic_max must be less than or equal to memory_static_max")
        if value <= 0:
            raise XendError("memory_dynamic_min must be greater than or equal to memory_static_min")
        dom.memory = value

    def setMemoryMaximum(self, dom: Domain, limit: object) -> int | None:
        """``XendDomainInfo.setMemoryMaximum`` (MiB); 0 from xc when active."""
        value = _arg_int(limit)
        if value < dom.memory:
            raise XendError("memory_dynamic_max must be less than or equal to memory_static_max")
        dom.maxmem = value
        return 0 if dom.active else None

    def setVCpuCount(self, dom: Domain, vcpus: object) -> None:
        """``XendDomainInfo.setVCpuCount``."""
        value = _arg_int(vcpus)
        if value <= 0:
            raise XendError("Zero or less VCPUs is invalid")
        if value > MAX_VCPUS:
            raise XendError("(22, 'Invalid argument')")
        if dom.active and value > dom.vcpus:
            raise XendError("Cannot set vcpus greater than max vcpus on running domain")
        if dom.active:
            dom.online_vcpus = value
        else:
            if value < dom.vcpus:
                del dom.cpus[value:]
            else:
                dom.cpus += [[] for _ in range(value - dom.vcpus)]
            dom.vcpus = value
            dom.online_vcpus = value

    def send_sysrq(self, dom: Domain, key: object) -> None:
        """``XendDomainInfo.send_sysrq``: a one-character string or a char code."""
        if dom.status not in (RUNNING, PAUSED):
            raise XendError(f"Domain '{dom.name}' is not started")
        if isinstance(key, bool) or not (
            isinstance(key, int) or (isinstance(key, str) and len(key) == 1)
        ):
            raise AssertionError(f"{key} is not convertible to a character")
        if isinstance(key, int):
            if not 0 <= key < 256:
                raise OverflowError("unsigned byte integer is greater than maximum")
            key = chr(key)
        dom.sysrq_keys.append(key)

    def getVCPUInfo(self, dom: Domain) -> Sxpr:
        """``XendDomainInfo.getVCPUInfo``."""
        rec: Sxpr = [
            "domain",
            ["domid", dom.domid],
            ["name", dom.name],
            ["vcpu_count", dom.vcpus],
        ]
        total = dom.cpu_time
        online = max(dom.online_vcpus, 1)
        for i in range(dom.vcpus):
            pinned = dom.cpus[i] if i < len(dom.cpus) else []
            if dom.active:
                is_online = i < dom.online_vcpus
                running = dom.status == RUNNING and dom.run_flag == "r" and is_online
                blocked = dom.status == RUNNING and dom.run_flag == "b" and is_online
                share = round(total / online, 9) if is_online else 0.0
                cpumap = pinned or list(range(self.nr_cpus))
                rec.append(
                    [
                        "vcpu",
                        ["number", i],
                        ["online", int(is_online)],
                        ["blocked", int(blocked)],
                        ["running", int(running)],
                        ["cpu_time", share],
                        ["cpu", cpumap[i % len(cpumap)] if is_online else -1],
                        ["cpumap", cpumap],
                    ]
                )
            else:
                rec.append(
                    [
                        "vcpu",
                        ["number", i],
                        ["online", 0],
                        ["blocked", 0],
                        ["running", 0],
                        ["cpu_time", 0.0],
                        ["cpu", -1],
                        ["cpumap", pinned or list(range(64))],
                    ]
                )
        return rec

    def getRestartCount(self, dom: Domain) -> str | None:
        """``XendDomainInfo.getRestartCount``: a xenstore string, or None."""
        return str(dom.restart_count) if dom.restart_count else None

    def waitForDevices(self, dom: Domain) -> None:
        """``XendDomainInfo.waitForDevices``: the emulated backends are always ready."""
        return None

    # -- devices -------------------------------------------------------------------
    def _attach(self, dom: Domain, cls: str, config: list[list[object]]) -> Device:
        config = [list(item) for item in config]
        keys = {item[0] for item in config if item}
        if cls in BLOCK_CLASSES:
            devid = blkdev_number(next((i[1] for i in config if i[0] == "dev"), None))
            if devid is None:
                raise VmError("Block device must have virtual details specified")
        elif cls in ("console", "vfb", "vkbd", "pci", "vusb", "vscsi", "vtpm"):
            devid = 0
            taken = {d.devid for d in dom.devices if d.cls == cls}
            while devid in taken:
                devid += 1
        else:
            taken = {d.devid for d in dom.devices if d.cls == cls}
            devid = 0
            while devid in taken:
                devid += 1
        if any(d.devid == devid and d.cls in (cls, *BLOCK_CLASSES) for d in dom.devices) and (
            cls in BLOCK_CLASSES
        ):
            raise VmError(f"Device {devid} is already connected.")
        if cls == "vif" and "mac" not in keys:
            config.append(["mac", _mac(self.rng)])
        if "uuid" not in keys and cls not in ("vkbd",):
            config.append(["uuid", _rand_uuid(self.rng)])
        if "backend" not in keys:
            config.append(["backend", 0])
        device = Device(cls, devid, config)
        dom.devices.append(device)
        return device

    def _device_from_config(self, dom: Domain, dev_config: object) -> Device:
        if not isinstance(dev_config, list) or not dev_config:
            raise VmError(f"Invalid device configuration: {dev_config!s}")
        dev_type = dev_config[0]
        if dev_type not in VALID_DEVICES:
            raise VmError(f"XendConfig: {dev_type} not a valid device type")
        config = _pairs(dev_config)
        if dev_type == "vif":
            for item in config:
                if item[0] == "mac" and (len(item) < 2 or not _MAC_RE.match(str(item[1]))):
                    raise VmError(
                        "Cannot create a new virtual network interface - MAC address is not valid!"
                    )
        if dev_type == "pci":
            self._check_pci(dom, config)
        return self._attach(dom, str(dev_type), config)

    def _pci_bdfs(self, config: list[list[object]]) -> list[tuple[int, int, int, int]]:
        found = []
        for item in config:
            if item[0] != "dev":
                continue
            fields = {str(p[0]): p[1] for p in item[1:] if isinstance(p, list) and len(p) > 1}
            try:
                found.append(
                    (
                        int(str(fields.get("domain", "0")), 16),
                        int(str(fields["bus"]), 16),
                        int(str(fields["slot"]), 16),
                        int(str(fields["func"]), 16),
                    )
                )
            except (KeyError, ValueError):
                raise VmError("pci: failed to parse the device description") from None
        return found

    def _assigned_pci(self) -> set[tuple[int, int, int, int]]:
        assigned: set[tuple[int, int, int, int]] = set()
        for d in self.list_domains("all"):
            for dev in d.devices:
                if dev.cls == "pci":
                    assigned.update(self._pci_bdfs(dev.config))
        return assigned

    def _check_pci(self, dom: Domain, config: list[list[object]]) -> None:
        for bdf in self._pci_bdfs(config):
            name = "{:04x}:{:02x}:{:02x}.{:x}".format(*bdf)
            if bdf not in self.pci_assignable:
                raise VmError(f"pci: PCI Backend and pci-stub don't own device {name}")
            if bdf in self._assigned_pci():
                raise VmError(
                    f"failed to assign device {name} that has already been assigned to "
                    "other domain."
                )

    def device_create(self, dom: Domain, dev_config: object) -> Sxpr:
        """``XendDomainInfo.device_create``: ``[class, ['dom', domid, 'id', devid]]``."""
        device = self._device_from_config(dom, dev_config)
        devid = device.devid if dom.active else None
        return [device.cls, ["dom", dom.domid, "id", devid]]

    def _find_device(self, dom: Domain, cls: object, devid: object) -> Device | None:
        number = blkdev_number(devid) if cls in BLOCK_CLASSES else None
        if number is None:
            try:
                number = int(str(devid))
            except ValueError:
                number = None
        for dev in dom.devices:
            if dev.cls != cls and not (cls in BLOCK_CLASSES and dev.cls in BLOCK_CLASSES):
                continue
            if number is not None and dev.devid == number:
                return dev
            if cls == "vif" and dev.get("mac") == devid:
                return dev
        return None

    def device_configure(self, dom: Domain, dev_sxp: object, devid: object = None) -> bool:
        """``XendDomainInfo.device_configure``: change a device's settings (CD media...)."""
        if not isinstance(dev_sxp, list) or not dev_sxp:
            raise VmError(f"Invalid device configuration: {dev_sxp!s}")
        cls = dev_sxp[0]
        config = _pairs(dev_sxp)
        if devid is None:
            devid = next((i[1] for i in config if i[0] == "dev" and len(i) > 1), None)
        if cls == "pci":
            state = next((i[1] for i in config if i[0] == "state" and len(i) > 1), None)
            if state == "Closing":
                for dev in list(dom.devices):
                    if dev.cls == "pci" and set(self._pci_bdfs(dev.config)) & set(
                        self._pci_bdfs(config)
                    ):
                        dom.devices.remove(dev)
                        return True
                raise VmError("pci: device is not attached to the domain")
            self._device_from_config(dom, dev_sxp)
            return True
        device = self._find_device(dom, cls, devid)
        if device is None:
            raise VmError(f"Device {devid} not connected")
        for item in config:
            if len(item) > 1 and item[0] not in ("uuid", "backend"):
                device.set(str(item[0]), item[1])
        return True

    def destroyDevice(
        self, dom: Domain, cls: object, devid: object, force: object = False, rm_cfg: object = False
    ) -> None:
        """``XendDomainInfo.destroyDevice``: detach (and forget) the device."""
        if cls not in VALID_DEVICES:
            raise XendError(f"Unknown device type: {cls}")
        device = self._find_device(dom, cls, devid)
        if device is None:
            raise VmError(f"Device {devid} not connected")
        dom.devices.remove(device)
        return None

    def getDeviceSxprs(self, dom: Domain, cls: object) -> list[object]:
        """``XendDomainInfo.getDeviceSxprs``: xenstore frontends, or the config if halted."""
        if cls not in VALID_DEVICES:
            raise XendError(f"Unknown device type: {cls}")
        devices = [d for d in dom.devices if d.cls == cls]
        if not dom.active:
            return [[n, dev.sxpr()] for n, dev in enumerate(devices)]
        out: list[object] = []
        for dev in devices:
            backend = f"/local/domain/0/backend/{cls}/{dom.domid}/{dev.devid}"
            front: list[object] = [
                ["backend-id", "0"],
                ["state", "4"],
                ["backend", backend],
            ]
            if cls in BLOCK_CLASSES:
                kind = str(dev.get("dev", "")).partition(":")[2] or "disk"
                front += [
                    ["virtual-device", str(dev.devid)],
                    ["device-type", kind],
                    ["ring-ref", str(8 + dev.devid % 7)],
                    ["event-channel", str(10 + dev.devid % 5)],
                    ["protocol", "x86_64-abi"],
                ]
            elif cls == "vif":
                front += [
                    ["mac", str(dev.get("mac", ""))],
                    ["handle", str(dev.devid)],
                    ["tx-ring-ref", str(768 + dev.devid)],
                    ["rx-ring-ref", str(769 + dev.devid)],
                    ["event-channel", str(12 + dev.devid)],
                    ["request-rx-copy", "1"],
                    ["feature-rx-notify", "1"],
                ]
            out.append([dev.devid, front])
        return out

    def getBlockDeviceClass(self, dom: Domain, devid: object) -> str | None:
        """``XendDomainInfo.getBlockDeviceClass``: ``vbd``, ``tap`` or ``tap2``."""
        number = blkdev_number(devid)
        for dev in dom.devices:
            if dev.cls in BLOCK_CLASSES and dev.devid == number:
                return dev.cls
        return None

    # -- scheduling and the rest of XendDomain -------------------------------------
    def domain_pincpu(self, domid: object, vcpu: object, cpumap: object) -> int:
        """``XendDomain.domain_pincpu``: ``vcpu`` an int or ``'all'``, cpumap ``"0,2"``."""
        dom = self.lookup(domid)
        vcpus = list(range(dom.vcpus)) if str(vcpu).lower() == "all" else [int(str(vcpu))]
        cpus = [int(c) for c in str(cpumap).split(",")]
        for v in vcpus:
            if not 0 <= v < dom.vcpus or any(not 0 <= c < self.nr_cpus for c in cpus):
                raise XendError(f"Cannot pin vcpu: {v} to cpu: {cpus} - (22, 'Invalid argument')")
            dom.cpus[v] = cpus
        return 0

    def _sched(self, name: str) -> None:
        if self.scheduler != name:
            raise XendError("(22, 'Invalid argument')")

    def domain_cpu_sedf_set(
        self,
        domid: object,
        period: object,
        slice_: object,
        latency: object,
        extratime: object,
        weight: object,
    ) -> int:
        """``domain_cpu_sedf_set``: only when the host runs the sedf scheduler."""
        dom = self.lookup(domid)
        self._sched("sedf")
        dom.sedf = {
            "period": _arg_int(period),
            "slice": _arg_int(slice_),
            "latency": _arg_int(latency),
            "extratime": _arg_int(extratime),
            "weight": _arg_int(weight),
        }
        return 0

    def domain_cpu_sedf_get(self, domid: object) -> Sxpr:
        """``domain_cpu_sedf_get``: the ``(sedf ...)`` record."""
        dom = self.lookup(domid)
        self._sched("sedf")
        s = dom.sedf or {
            "period": 100000000,
            "slice": 0,
            "latency": 0,
            "extratime": 1,
            "weight": 0,
        }
        return [
            "sedf",
            ["domid", dom.domid],
            ["period", s["period"]],
            ["slice", s["slice"]],
            ["latency", s["latency"]],
            ["extratime", s["extratime"]],
            ["weight", s["weight"]],
        ]

    def domain_sched_credit_get(self, domid: object) -> dict[str, int]:
        """``domain_sched_credit_get``: ``{'weight': w, 'cap': c}``."""
        dom = self.lookup(domid)
        if dom.status in (RUNNING, PAUSED):
            self._sched("credit")
        return {"weight": dom.cpu_weight, "cap": dom.cpu_cap}

    def domain_sched_credit_set(
        self, domid: object, weight: object = None, cap: object = None
    ) -> int:
        """``domain_sched_credit_set`` with xend's range checks."""
        dom = self.lookup(domid)
        try:
            if weight is not None and (weight < 1 or weight > 65535):  # type: ignore[operator]
                raise XendError(
                    "Cpu weight out of range, valid values are within range from 1 to 65535"
                )
            if cap is not None and (cap < 0 or cap > dom.vcpus * 100):  # type: ignore[operator]
                raise XendError(
                    "Cpu cap out of range, valid range is from 0 to "
                    f"{dom.vcpus * 100} for specified number of vcpus"
                )
            if dom.status in (RUNNING, PAUSED):
                self._sched("credit")
            if weight is not None:
                dom.cpu_weight = int(weight)  # type: ignore[call-overload]
            if cap is not None:
                dom.cpu_cap = int(cap)  # type: ignore[call-overload]
            return 0
        except XendError:
            raise
        except Exception as exc:
            raise XendError(str(exc)) from None

    def domain_sched_credit2_get(self, domid: object) -> dict[str, int]:
        """``domain_sched_credit2_get``: ``{'weight': w}``."""
        dom = self.lookup(domid)
        if dom.status in (RUNNING, PAUSED):
            self._sched("credit2")
        return {"weight": dom.cpu_weight}

    def domain_sched_credit2_set(self, domid: object, weight: object = None) -> int:
        """``domain_sched_credit2_set``."""
        dom = self.lookup(domid)
        try:
            if weight is not None and (weight < 1 or weight > 65535):  # type: ignore[operator]
                raise XendError("weight is out of range")
            if dom.status in (RUNNING, PAUSED):
                self._sched("credit2")
            if weight is not None:
                dom.cpu_weight = int(weight)  # type: ignore[call-overload]
            return 0
        except XendError:
            raise
        except Exception as exc:
            raise XendError(str(exc)) from None

    def domain_maxmem_set(self, domid: object, mem: object) -> int | None:
        """``domain_maxmem_set`` (MiB)."""
        return self.setMemoryMaximum(self.lookup(domid), mem)

    def domain_shadow_control(self, domid: object, op: object) -> int:
        """``domain_shadow_control``."""
        self.lookup(domid)
        return 0

    def domain_shadow_mem_get(self, domid: object) -> int:
        """``domain_shadow_mem_get``: MiB."""
        return self.lookup(domid).shadow_memory

    def domain_shadow_mem_set(self, domid: object, mb: object) -> int:
        """``domain_shadow_mem_set``: returns the new allocation in MiB."""
        dom = self.lookup(domid)
        dom.shadow_memory = _arg_int(mb)
        return dom.shadow_memory

    def domain_ioport_range_enable(self, domid: object, first: object, last: object) -> int:
        """``domain_ioport_range_enable``."""
        dom = self.lookup(domid)
        dom.ioports.append((_arg_int(first), _arg_int(last), True))
        return 0

    def domain_ioport_range_disable(self, domid: object, first: object, last: object) -> int:
        """``domain_ioport_range_disable``."""
        dom = self.lookup(domid)
        dom.ioports.append((_arg_int(first), _arg_int(last), False))
        return 0

    def domain_send_trigger(
        self, domid: object, trigger_name: object, vcpu: object = 0
    ) -> int | None:
        """``domain_send_trigger``: nmi, reset, init, s3resume or power."""
        dom = self.lookup(domid)
        if dom.status not in (RUNNING, PAUSED):
            raise VmError(f"Domain '{domid}' is not started")
        name = str(trigger_name).lower()
        if name not in TRIGGERS:
            raise XendError(f"Invalid trigger: {trigger_name}")
        dom.triggers.append(name)
        if name == "s3resume":
            return None
        if name == "reset":
            self._restart(dom)
        elif name == "power" and dom.is_hvm:
            self.shutdown(dom, "poweroff")
        return 0

    def domain_usb_add(self, domid: object, dev_id: object) -> None:
        """``domain_usb_add``: HVM guests with ``usb`` set only."""
        dom = self.lookup(domid)
        if not dom.image_value("usb"):
            raise XendError("Can't add usb device to a guest with usb disabled in configure file")
        if not dom.is_hvm:
            raise XendError("Can't add usb device to a non-hvm guest")
        if dom.status != HALTED:
            dom.usb.append(str(dev_id))

    def domain_usb_del(self, domid: object, dev_id: object) -> None:
        """``domain_usb_del``."""
        dom = self.lookup(domid)
        if not dom.image_value("usb"):
            raise XendError("Can't add usb device to a guest with usb disabled in configure file")
        if not dom.is_hvm:
            raise XendError("Can't del usb to a non-hvm guest")
        if str(dev_id) in dom.usb:
            dom.usb.remove(str(dev_id))

    def domain_setpauseflag(self, dom: object, flag: object = False) -> None:
        """``domain_setpauseflag``: errors are only logged."""
        found = self.lookup_nr(dom)
        if found is not None:
            found.paused_by_admin = flag

    def domain_getpauseflag(self, dom: object) -> object:
        """``domain_getpauseflag``: None for an unknown domain."""
        found = self.lookup_nr(dom)
        return found.paused_by_admin if found is not None else None

    def domain_configure(self, config: object) -> None:
        """``domain_configure``: never implemented in xend."""
        raise XendError("Unsupported")

    # -- node ----------------------------------------------------------------------
    def node_info(self, show_numa: object = 1) -> list[list[object]]:
        """``XendNode.info``: ``[key, value]`` pairs, no head tag (section 1.4 order)."""
        info: list[list[object]] = [
            ["system", "Linux"],
            ["host", "xenhost"],
            ["release", "3.2.0-4-amd64"],
            ["version", "#1 SMP Debian 3.2.57-3"],
            ["machine", "x86_64"],
            ["nr_cpus", self.nr_cpus],
            ["nr_nodes", 1],
            ["cores_per_socket", 4],
            ["threads_per_core", 2],
            ["cpu_mhz", self.cpu_mhz],
            ["hw_caps", "bfebfbff:28100800:00000000:00003f40:17bae3ff:00000000:00000001:00000000"],
            ["virt_caps", "hvm hvm_directio"],
            ["total_memory", self.total_memory],
            ["free_memory", self.free_memory()],
            ["free_cpus", self.nr_cpus - sum(len(p.cpus) for p in self.pools.values())],
        ]
        if show_numa:
            topo = "cpu:    core    socket     node\n" + "".join(
                f"  {c:>2}:     {c // 2:>2}        0        0\n" for c in range(self.nr_cpus)
            )
            numa = (
                "node:    memsize    memfree    distances\n"
                f"   0:     {self.total_memory + 1:>6}     {self.free_memory():>6}      10\n"
            )
            info += [["cpu_topology", topo], ["numa_info", numa]]
        info += [
            ["xen_major", 4],
            ["xen_minor", 4],
            ["xen_extra", ".0"],
            [
                "xen_caps",
                "xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64",
            ],
            ["xen_scheduler", self.scheduler],
            ["xen_pagesize", 4096],
            ["platform_params", "virt_start=0xffff800000000000"],
            ["xen_changeset", "unavailable"],
            ["xen_commandline", "placeholder dom0_mem=2048M,max:2048M"],
            ["cc_compiler", "gcc (Debian 4.7.2-5) 4.7.2"],
            ["cc_compile_by", "emulator"],
            ["cc_compile_domain", "aioxend.invalid"],
            ["cc_compile_date", "Mon Mar 10 14:17:55 UTC 2014"],
            ["xend_config_format", 4],
        ]
        return info

    def pciinfo(self) -> list[object]:
        """``XendNode.pciinfo``: assignable devices not given to a guest."""
        assigned = self._assigned_pci()
        return [
            [
                "dev",
                ["domain", f"0x{d:04x}"],
                ["bus", f"0x{b:02x}"],
                ["slot", f"0x{s:02x}"],
                ["func", f"0x{f:x}"],
            ]
            for (d, b, s, f) in self.pci_assignable
            if (d, b, s, f) not in assigned
        ]

    def send_debug_keys(self, keys: object) -> int:
        """``XendNode.send_debug_keys``: each key is echoed on the console ring."""
        text = str(keys)
        self.debug_keys.append(text)
        for key in text:
            self._dmesg.append(f"(XEN) '{key}' pressed -> debug key handler\n")
        return 0

    def dmesg_info(self) -> str:
        """``XendDmesg.info``: the console ring."""
        return "".join(self._dmesg)

    def dmesg_clear(self) -> str:
        """``XendDmesg.clear``: the ring, then emptied."""
        text = "".join(self._dmesg)
        self._dmesg = []
        return text

    # tmem: a client table; the ops return xc's 0 (or text for list)
    def tmem_list(self, cli_id: object, use_long: object) -> str:
        """``XendNode.tmem_list``: one line per tmem client."""
        rows = []
        for cid, vals in sorted(self.tmem.items()):
            if cli_id in (-1, cid):
                body = ",".join(f"{k}:{v}" for k, v in vals.items())
                rows.append(f"C=CI:{cid},{body}\n")
        return "G=Tt:0,Te:0,Cf:0,Af:0,Pf:0,Ta:0,Lm:0,Et:0,Ea:0,Rt:0,Ra:0,Rx:0,Fp:0\n" + "".join(
            rows
        )

    def _tmem_set(self, cli_id: object, key: str, value: int) -> int:
        cid = _arg_int(cli_id)
        targets = list(self.tmem) if cid == -1 else [cid]
        for t in targets:
            self.tmem.setdefault(t, {"ww": 0, "ca": 0, "co": 0, "fr": 0})[key] = value
        return 0

    def tmem_freeze(self, cli_id: object) -> int:
        """``tmem_freeze``."""
        return self._tmem_set(cli_id, "fr", 1)

    def tmem_thaw(self, cli_id: object) -> int:
        """``tmem_thaw``."""
        return self._tmem_set(cli_id, "fr", 0)

    def tmem_flush(self, cli_id: object, pages: object) -> int:
        """``tmem_flush``: pages flushed (none are held)."""
        _arg_int(cli_id)
        _arg_int(pages)
        return 0

    def tmem_destroy(self, cli_id: object) -> int:
        """``tmem_destroy``."""
        self.tmem.pop(_arg_int(cli_id), None)
        return 0

    def tmem_set_weight(self, cli_id: object, value: object) -> int:
        """``tmem_set_weight``."""
        return self._tmem_set(cli_id, "ww", _arg_int(value))

    def tmem_set_cap(self, cli_id: object, value: object) -> int:
        """``tmem_set_cap``."""
        return self._tmem_set(cli_id, "ca", _arg_int(value))

    def tmem_set_compress(self, cli_id: object, value: object) -> int:
        """``tmem_set_compress``."""
        return self._tmem_set(cli_id, "co", _arg_int(value))

    def tmem_query_freeable_mb(self) -> int:
        """``tmem_query_freeable_mb``."""
        return 0

    def tmem_shared_auth(self, cli_id: object, uuid_str: object, auth: object) -> int:
        """``tmem_shared_auth``."""
        _arg_int(cli_id)
        try:
            uuidlib.UUID(str(uuid_str))
        except ValueError:
            raise XendError(f"Invalid uuid: {uuid_str}") from None
        return 0

    # -- CPU pools (faults with a list string, as XendCPUPool raised them) ---------
    def _pool(self, name: object) -> CpuPool:
        pool = self.pools.get(str(name))
        if pool is None:
            raise VmError(f"unknown pool {name}")
        return pool

    def pool_new(self, config: object) -> str:
        """``XendCPUPool.pool_new``: define a pool; returns its uuid."""
        if not isinstance(config, list):
            raise VmError(["INVALID_CONFIG", str(config)])
        values = {str(p[0]): p[1] for p in _pairs(config) if len(p) > 1}
        name = str(values.get("name_label", values.get("name", "")))
        if not name:
            raise VmError(["INVALID_NAME", name])
        if name in self.pools:
            raise VmError(["POOL_BAD_STATE", "pool name already exists"])
        proposed = values.get("proposed_CPUs", [])
        if not isinstance(proposed, list):
            proposed = [proposed]
        pool = CpuPool(
            uuid=_rand_uuid(self.rng),
            name=name,
            sched_policy=str(values.get("sched_policy", values.get("sched", "credit"))),
            ncpu=_arg_int(values.get("ncpu", max(len(proposed), 1))),
            description=str(values.get("name_description", "")),
            auto_power_on=bool(_arg_int(values.get("auto_power_on", 0))),
        )
        try:
            pool.proposed = [int(str(c)) for c in proposed]
        except ValueError:
            raise VmError(["INVALID_CPU", str(proposed)]) from None
        self.pools[name] = pool
        return pool.uuid

    def pool_start(self, name: object) -> None:
        """``XendCPUPool.pool_start``: take free CPUs and activate."""
        pool = self._pool(name)
        if pool.activated:
            raise VmError(["POOL_BAD_STATE", "activated"])
        free = [c for c in range(self.nr_cpus) if not any(c in p.cpus for p in self.pools.values())]
        wanted = pool.proposed or free[: pool.ncpu]
        if len(wanted) < pool.ncpu or any(c not in free for c in wanted):
            raise VmError(["INSUFFICIENT_CPUS", str(pool.ncpu)])
        pool.cpus = sorted(wanted)
        pool.activated = True

    def pool_create(self, config: object) -> None:
        """``XendCPUPool.pool_create``: new and start."""
        uuid = self.pool_new(config)
        name = next(p.name for p in self.pools.values() if p.uuid == uuid)
        try:
            self.pool_start(name)
        except XendError:
            del self.pools[name]
            raise

    def pool_list(self, names: object) -> list[object]:
        """``XendCPUPool.pool_list``: ``[[uuid, [key, value], ...], ...]``."""
        wanted = [str(n) for n in names] if isinstance(names, list) else []
        out: list[object] = []
        for pool in self.pools.values():
            if wanted and pool.name not in wanted:
                continue
            vms = sorted(d.name for d in self._active() if d.pool_name == pool.name)
            out.append(
                [
                    pool.uuid,
                    ["name_label", pool.name],
                    ["name_description", pool.description],
                    ["auto_power_on", int(pool.auto_power_on)],
                    ["activated", pool.activated],
                    ["ncpu", pool.ncpu],
                    ["sched_policy", pool.sched_policy],
                    ["host_CPU_numbers", list(pool.cpus)],
                    ["started_VM_names", vms],
                    ["proposed_CPUs", [str(c) for c in pool.cpus]],
                ]
            )
        return out

    def pool_destroy(self, name: object) -> None:
        """``XendCPUPool.pool_destroy``: deactivate an empty pool."""
        pool = self._pool(name)
        if pool.name == "Pool-0":
            raise VmError(["POOL_BAD_STATE", "Pool-0 can not be destroyed"])
        if not pool.activated:
            raise VmError(["POOL_BAD_STATE", "deactivated"])
        if any(d.pool_name == pool.name for d in self._active()):
            raise VmError(["POOL_BAD_STATE", "pool has active domains"])
        pool.cpus = []
        pool.activated = False

    def pool_delete(self, name: object) -> None:
        """``XendCPUPool.pool_delete``: forget an inactive pool."""
        pool = self._pool(name)
        if pool.activated:
            raise VmError(["POOL_BAD_STATE", "activated"])
        del self.pools[pool.name]

    def pool_cpu_add(self, name: object, cpu: object) -> None:
        """``XendCPUPool.pool_cpu_add``: a free CPU joins the pool."""
        pool = self._pool(name)
        number = _arg_int(cpu)
        if not pool.activated:
            raise VmError(["POOL_BAD_STATE", "deactivated"])
        if not 0 <= number < self.nr_cpus:
            raise VmError(["INVALID_CPU", str(cpu)])
        if any(number in p.cpus for p in self.pools.values()):
            raise VmError(["POOL_BAD_STATE", f"cpu {number} is in use"])
        pool.cpus = sorted([*pool.cpus, number])
        pool.ncpu = len(pool.cpus)

    def pool_cpu_remove(self, name: object, cpu: object) -> None:
        """``XendCPUPool.pool_cpu_remove``."""
        pool = self._pool(name)
        number = _arg_int(cpu)
        if number not in pool.cpus:
            raise VmError(["INVALID_CPU", str(cpu)])
        if len(pool.cpus) == 1:
            raise VmError(["POOL_BAD_STATE", "last cpu of the pool"])
        pool.cpus.remove(number)
        pool.ncpu = len(pool.cpus)

    def pool_migrate(self, domname: object, poolname: object) -> None:
        """``XendCPUPool.pool_migrate``: move a domain into another pool."""
        dom = self.lookup(domname)
        pool = self._pool(poolname)
        if not pool.activated:
            raise VmError(["POOL_BAD_STATE", "deactivated"])
        dom.pool_name = pool.name

    # -- vnets (legacy SXP only) ---------------------------------------------------
    def vnet_create(self, config: object) -> None:
        """``XendVnet.vnet_create``."""
        if not isinstance(config, list):
            raise XendError("Vnet configuration is not an S-expression")
        values = {str(p[0]): p[1] for p in _pairs(config) if len(p) > 1}
        vid = values.get("id")
        if vid is None:
            raise XendError("Vnet has no id")
        vid = str(vid)
        self.vnets[vid] = [
            "vnet",
            ["id", vid],
            ["bridge", str(values.get("bridge", f"vnet{vid}"))],
            ["vnetif", str(values.get("vnetif", f"vnif{vid}"))],
            ["security", str(values.get("security", "none"))],
        ]

    def vnet_delete(self, vid: str) -> None:
        """``XendVnet.vnet_delete``."""
        self.vnets.pop(vid, None)


def _arg_int(value: object) -> int:
    """An argument xend passed to the C layer as an int; TypeError otherwise."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"invalid literal for int() with base 10: {value!r}") from None
    raise TypeError("an integer is required")


DispatchFn = Callable[..., object]
