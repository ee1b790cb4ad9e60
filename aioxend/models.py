"""Typed records built from xend's S-expressions, whichever protocol brought them.

Each record has a ``from_sxp(expr)`` class method taking the expression as
``aioxend.sxp.loads`` returns it for the legacy HTTP protocol, or as
``aioxend.sxp.from_xmlrpc`` returns it for XML-RPC; both give the same record. Keys
the record does not know stay available in its ``sxp`` (or ``raw``) field, a key that
is missing gives ``None``, and neither is ever an error. A value that is present but is
not what the key promises (``(memory lots)``) raises ``aioxend.sxp.SXPValueError``, a
``ProtocolError`` and a ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aioxend import sxp
from aioxend.errors import ProtocolError
from aioxend.sxp import Expr

__all__ = ["Device", "DomainInfo", "DomainState", "NodeInfo", "PowerState", "VcpuInfo"]

_T = TypeVar("_T")


def _record(expr: object, what: str) -> list[Expr]:
    """``expr`` as a non-empty list with an atom head, or a ``ProtocolError``."""
    if isinstance(expr, list) and expr and isinstance(expr[0], str):
        return expr
    raise ProtocolError(f"expected a {what} record, got {type(expr).__name__}: {expr!r:.80}")


def _float(text: str | None) -> float | None:
    """``sxp.as_float``, with plain ``digits[.digits]`` read directly."""
    if (
        text is not None
        and len(text) < 300
        and text.isascii()
        and text.replace(".", "", 1).isdigit()
    ):
        return float(text)
    return sxp.as_float(text)


def _uuid(text: str | None) -> uuid.UUID | None:
    """The UUID an atom spells; ``None`` for none. Remembered (``uuid.UUID`` parses in
    Python, and a domain's UUID comes back in every record of it)."""
    if text is None or not text:
        return None
    found = _UUIDS.get(text)
    if found is None:
        try:
            found = uuid.UUID(text)
        except ValueError:
            raise sxp.SXPValueError(f"not a UUID: {text!r:.80}") from None
        if len(_UUIDS) >= _UUIDS_MAX:
            _UUIDS.clear()
        _UUIDS[text] = found
    return found


_UUIDS: dict[str, uuid.UUID] = {}
_UUIDS_MAX = 4096


def _fields(record: list[Expr]) -> dict[str, str | None]:
    """Each key of ``record`` mapped to its first value as ``sxp.value`` reads it: the
    first child list with that head wins, and its value is ``None`` unless an atom.

    One pass over the children, last to first so the first child with a key is the one
    kept, instead of one ``sxp.value`` scan per key; a ``(key value)`` pair, nearly every
    child, is unpacked at once.
    """
    found: dict[str, str | None] = {}
    for child in reversed(record):
        if type(child) is list and len(child) == 2:
            key, first = child
            if type(key) is str:
                found[key] = first if isinstance(first, str) else None
                continue
        if isinstance(child, list) and child and isinstance(child[0], str):
            value = child[1] if len(child) > 1 else None
            found[child[0]] = value if isinstance(value, str) else None
    return found


def _maker(cls: type[_T]) -> Callable[..., _T]:
    """A function making a ``cls`` from all its fields in order, as ``cls(*fields)`` does.

    ``cls`` is a frozen slots dataclass, whose ``__init__`` sets each field through
    ``object.__setattr__``: about 1,300 machine instructions a field on CPython 3.11, and
    a ``DomainInfo`` has 24. The function builds an unfrozen twin with the same slots,
    whose ``__init__`` stores them directly, and makes it a ``cls`` by ``__class__``
    assignment (CPython allows it between classes of the same layout): a ``cls`` in every
    respect, frozen, equal and hashed as one ``cls(...)`` makes, in a fifth of the time.
    """
    twin: Any = dataclasses.make_dataclass(
        f"_{cls.__name__}Maker",
        [(f.name, f.type) for f in dataclasses.fields(cls)],  # type: ignore[arg-type]
        slots=True,
        eq=False,
        repr=False,
        match_args=False,
    )

    def make(*fields: object) -> _T:
        made = twin(*fields)
        made.__class__ = cls
        return made  # type: ignore[no-any-return]

    return make


class DomainState(enum.Flag):
    """The six-letter ``state`` of a running domain (``r-b---`` style), as flags."""

    NONE = 0
    RUNNING = enum.auto()
    BLOCKED = enum.auto()
    PAUSED = enum.auto()
    SHUTDOWN = enum.auto()
    CRASHED = enum.auto()
    DYING = enum.auto()

    @classmethod
    def from_string(cls, text: str | None) -> DomainState:
        """Flags from the letters ``r b p s c d`` (dashes and unknown letters ignored)."""
        state = cls.NONE
        for char in text or "":
            flag = _STATE_LETTERS.get(char)
            if flag is not None:
                state |= flag
        return state

    @classmethod
    def from_sxp(cls, expr: object) -> DomainState:
        """The flags of a domain record's ``(state ...)``; ``NONE`` when absent."""
        record = _record(expr, "domain")
        return cls.from_string(sxp.value(record, f"{record[0]}/state"))

    @property
    def letters(self) -> str:
        """The six-character form xm shows, e.g. ``-b----``."""
        return "".join(letter if flag in self else "-" for letter, flag in _STATE_LETTERS.items())


_STATE_LETTERS = {
    "r": DomainState.RUNNING,
    "b": DomainState.BLOCKED,
    "p": DomainState.PAUSED,
    "s": DomainState.SHUTDOWN,
    "c": DomainState.CRASHED,
    "d": DomainState.DYING,
}
_STATE_WORDS = {
    DomainState.RUNNING: "running",
    DomainState.BLOCKED: "blocked",
    DomainState.PAUSED: "paused",
    DomainState.SHUTDOWN: "shutdown",
    DomainState.CRASHED: "crashed",
    DomainState.DYING: "dying",
}


class PowerState(enum.IntEnum):
    """The Xen-API power state in a record's ``(status N)``.

    The values are ``DOM_STATE_*`` of Xen 4.4 ``tools/python/xen/xend/XendConstants.py``.
    """

    HALTED = 0
    PAUSED = 1
    RUNNING = 2
    SUSPENDED = 3
    SHUTTINGDOWN = 4
    CRASHED = 5
    UNKNOWN = 6

    @classmethod
    def from_sxp(cls, expr: object) -> PowerState | None:
        """The power state of a domain record; ``None`` when it has no ``status``.

        A number outside 0..6 gives ``UNKNOWN``.
        """
        record = _record(expr, "domain")
        status = sxp.as_int(sxp.value(record, f"{record[0]}/status"))
        if status is None:
            return None
        return cls(status) if 0 <= status <= 6 else cls.UNKNOWN


_POWER = {int(state): state for state in PowerState}
_STATES: dict[str, DomainState] = {}


def _state(text: str | None) -> DomainState:
    """``DomainState.from_string``, remembered for the few strings xend writes."""
    if text is None:
        return DomainState.NONE
    state = _STATES.get(text)
    if state is None:
        state = DomainState.from_string(text)
        if len(_STATES) < 256:
            _STATES[text] = state
    return state


@dataclass(frozen=True, slots=True)
class Device:
    """One ``(device (<class> ...))`` entry of a domain record.

    ``kind`` is the device class (``vbd``, ``tap``, ``tap2``, ``vif``, ``vfb``,
    ``console``, ``pci``...). The main fields are read for every class and are ``None``
    where the class has no such key; everything else is in ``sxp``.
    """

    kind: str
    uname: str | None = None
    dev: str | None = None
    mode: str | None = None
    mac: str | None = None
    bridge: str | None = None
    script: str | None = None
    ip: str | None = None
    model: str | None = None
    uuid: str | None = None
    sxp: list[Expr] = field(default_factory=list, hash=False, repr=False)

    @classmethod
    def from_sxp(cls, expr: object) -> Device:
        """A device from ``(device (vbd ...))`` or from the inner ``(vbd ...)``."""
        return _device(_record(expr, "device"), _make_device if cls is Device else cls)

    def get(self, key: str, default: str | None = None) -> str | None:
        """Any key of the device's configuration, as text."""
        return sxp.value(self.sxp, f"{self.kind}/{key}", default)


@dataclass(frozen=True, slots=True)
class DomainInfo:
    """A domain record (``xend.domain``, ``GET /xend/domain/<name>``), typed.

    Memory is in MiB, times in seconds. ``domid`` is ``None`` for a halted (managed but
    not running) domain. ``state_string`` is the six letters, ``"------"`` when the
    record has none. ``image`` is the image kind (``linux`` or ``hvm``).
    """

    name: str
    domid: int | None = None
    uuid: uuid.UUID | None = None
    memory: int | None = None
    maxmem: int | None = None
    vcpus: int | None = None
    online_vcpus: int | None = None
    state: DomainState = DomainState.NONE
    state_string: str = "------"
    power_state: PowerState | None = None
    cpu_time: float | None = None
    start_time: float | None = None
    image: str | None = None
    kernel: str | None = None
    ramdisk: str | None = None
    args: str | None = None
    bootloader: str | None = None
    devices: tuple[Device, ...] = ()
    cpu_weight: int | None = None
    cpu_cap: int | None = None
    on_poweroff: str | None = None
    on_reboot: str | None = None
    on_crash: str | None = None
    sxp: list[Expr] = field(default_factory=list, hash=False, repr=False)

    @classmethod
    def from_sxp(cls, expr: object) -> DomainInfo:
        """Read a ``(domain ...)`` record (a ``(vm ...)`` config reads the same way)."""
        record = _record(expr, "domain")
        found: dict[str, str | None] = {}
        nodes: list[list[Expr]] = []  # the devices, last first
        image_node = None
        # One pass, last child to first, so the first child with a key is the one kept:
        # each key's first value as _fields reads it, the devices, the first image node.
        for child in reversed(record):
            if type(child) is list and len(child) == 2:
                key, first = child
                if type(key) is str and type(first) is str:  # (key value): nearly all
                    found[key] = first
                    if key == "device":
                        nodes.append(child)
                    continue
            if isinstance(child, list) and child:
                key = child[0]
                if key == "device":
                    nodes.append(child)
                if isinstance(key, str):
                    value = child[1] if len(child) > 1 else None
                    found[key] = value if isinstance(value, str) else None
                    if key == "image":
                        image_node = child
        devices = tuple([_device(node, _make_device) for node in reversed(nodes)])
        image = kernel = ramdisk = args = None
        if image_node is not None and found["image"] is None:  # not after an (image atom)
            image, kernel, ramdisk, args = _image(image_node)
        get = found.get
        domid, memory, maxmem, vcpus, online_vcpus, cpu_weight, cpu_cap, status = map(
            _as_int, map(get, _INT_KEYS)
        )
        state_string = get("state")
        make: Callable[..., DomainInfo] = _make_domain if cls is DomainInfo else cls
        return make(  # every field, in their order
            get("name") or "",
            domid,
            _uuid(get("uuid")),
            memory,
            maxmem,
            vcpus,
            online_vcpus,
            _state(state_string),
            state_string or "------",
            None if status is None else _POWER.get(status, PowerState.UNKNOWN),
            _float(get("cpu_time")),
            _float(get("start_time")),
            image,
            kernel,
            ramdisk,
            args,
            get("bootloader"),
            devices,
            cpu_weight,
            cpu_cap,
            get("on_poweroff"),
            get("on_reboot"),
            get("on_crash"),
            record,
        )

    @property
    def state_name(self) -> str:
        """The word ``xm domstate`` prints: the first of running, blocked, paused,
        shutdown, crashed, dying whose letter is set, else ``no state``."""
        for flag, word in _STATE_WORDS.items():
            if flag in self.state:
                return word
        return "no state"


_make_device = _maker(Device)
_make_domain = _maker(DomainInfo)
_DEVICE_KEYS = ("uname", "dev", "mode", "mac", "bridge", "script", "ip", "model", "uuid")
_INT_KEYS = (
    "domid",
    "memory",
    "maxmem",
    "vcpus",
    "online_vcpus",
    "cpu_weight",
    "cpu_cap",
    "status",
)
_as_int: Callable[[str | None], int | None] = sxp.as_int


def _device(record: list[Expr], make: Callable[..., Device]) -> Device:
    """``Device.from_sxp`` of a record ``_record`` has checked, made by ``make``."""
    if record[0] == "device" and len(record) > 1 and isinstance(record[1], list):
        record = _record(record[1], "device")
    # The fields in their order: kind, the keys of _DEVICE_KEYS, sxp.
    return make(record[0], *map(_fields(record).get, _DEVICE_KEYS), record)


def _image(node: list[Expr]) -> tuple[str | None, str | None, str | None, str | None]:
    """The kind, kernel, ramdisk and args of ``(image (linux (kernel ...) ...))``, each as
    ``sxp.value(record, "<tag>/image/<kind>/kernel")`` reads it (the kind's node is the
    image's first child list headed by it, which is the one it was read from)."""
    body = node[1] if len(node) > 1 else None
    if not isinstance(body, list) or not body or not isinstance(body[0], str):
        return None, None, None, None
    if not body[0]:  # an empty kind names no node to look in
        return body[0], None, None, None
    get = _fields(body).get
    return body[0], get("kernel"), get("ramdisk"), get("args")


def _pairs(expr: object) -> list[list[Expr]]:
    """The ``[key, value...]`` entries of ``(node ...)`` or of XML-RPC's headless list."""
    if not isinstance(expr, list):
        raise ProtocolError(f"expected a node record, got {type(expr).__name__}: {expr!r:.80}")
    items = expr[1:] if expr and isinstance(expr[0], str) else expr
    return [item for item in items if isinstance(item, list) and item and isinstance(item[0], str)]


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The host description of ``xend.node.info`` / ``GET /xend/node`` (xend's ``XendNode.info``).

    Memory is in MiB, ``cpu_mhz`` in MHz. ``raw`` maps every key to its text (a list
    value is given in SXP text), so keys not listed here are still at hand.
    """

    host: str | None = None
    release: str | None = None
    version: str | None = None
    machine: str | None = None
    nr_cpus: int | None = None
    nr_nodes: int | None = None
    cores_per_socket: int | None = None
    threads_per_core: int | None = None
    cpu_mhz: int | None = None
    total_memory: int | None = None
    free_memory: int | None = None
    xen_major: int | None = None
    xen_minor: int | None = None
    xen_extra: str | None = None
    xen_caps: str | None = None
    xen_scheduler: str | None = None
    xend_config_format: int | None = None
    raw: dict[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_sxp(cls, expr: object) -> NodeInfo:
        """Read ``(node (system Linux) ...)`` or XML-RPC's ``[['system', 'Linux'], ...]``."""
        raw: dict[str, str] = {}
        for item in _pairs(expr):
            key = item[0]
            assert isinstance(key, str)
            if key in raw:
                continue
            rest = item[1:]
            if len(rest) == 1 and isinstance(rest[0], str):
                raw[key] = rest[0]
            else:
                raw[key] = " ".join(sxp.dumps(part) for part in rest)
        get = raw.get
        return cls(
            host=get("host"),
            release=get("release"),
            version=get("version"),
            machine=get("machine"),
            nr_cpus=sxp.as_int(get("nr_cpus")),
            nr_nodes=sxp.as_int(get("nr_nodes")),
            cores_per_socket=sxp.as_int(get("cores_per_socket")),
            threads_per_core=sxp.as_int(get("threads_per_core")),
            cpu_mhz=sxp.as_int(get("cpu_mhz")),
            total_memory=sxp.as_int(get("total_memory")),
            free_memory=sxp.as_int(get("free_memory")),
            xen_major=sxp.as_int(get("xen_major")),
            xen_minor=sxp.as_int(get("xen_minor")),
            xen_extra=get("xen_extra"),
            xen_caps=get("xen_caps"),
            xen_scheduler=get("xen_scheduler"),
            xend_config_format=sxp.as_int(get("xend_config_format")),
            raw=raw,
        )


@dataclass(frozen=True, slots=True)
class VcpuInfo:
    """One virtual CPU from ``getVCPUInfo`` (``xm vcpu-list``).

    ``cpu`` is the physical CPU it last ran on, ``cpumap`` the CPUs it may run on,
    ``cpu_time`` seconds. Flags are ``None`` when the entry lacks them.
    """

    number: int | None = None
    online: bool | None = None
    blocked: bool | None = None
    running: bool | None = None
    cpu_time: float | None = None
    cpu: int | None = None
    cpumap: tuple[int, ...] = ()
    sxp: list[Expr] = field(default_factory=list, hash=False, repr=False)

    @classmethod
    def from_sxp(cls, expr: object) -> VcpuInfo:
        """Read one ``(vcpu (number 0) (online 1) ... (cpumap (0 1)))`` entry."""
        record = _record(expr, "vcpu")
        tag = record[0]

        def get(key: str) -> str | None:
            return sxp.value(record, f"{tag}/{key}")

        cpumap: tuple[int, ...] = ()
        node = sxp.lookup(record, f"{tag}/cpumap")
        if node is not None:
            entries = node[1] if len(node) == 2 and isinstance(node[1], list) else node[1:]
            cpumap = tuple(sxp.as_int(entry) for entry in entries)
        return cls(
            number=sxp.as_int(get("number")),
            online=sxp.as_bool(get("online")),
            blocked=sxp.as_bool(get("blocked")),
            running=sxp.as_bool(get("running")),
            cpu_time=sxp.as_float(get("cpu_time")),
            cpu=sxp.as_int(get("cpu")),
            cpumap=cpumap,
            sxp=record,
        )

    @classmethod
    def list_from_sxp(cls, expr: object) -> list[VcpuInfo]:
        """Every VCPU of a ``getVCPUInfo`` answer, ``(domain (domid) (name) (vcpu ...)...)``,
        or of the older bare list of ``(vcpu ...)`` entries."""
        if not isinstance(expr, list):
            raise ProtocolError(f"expected a VCPU list, got {type(expr).__name__}: {expr!r:.80}")
        return [cls.from_sxp(entry) for entry in sxp.children(expr, "vcpu")]
