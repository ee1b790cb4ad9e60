"""What an emulated xend holds, and how it finds a domain.

``HostState`` is the base of every group of operations (``_lifecycle``, ``_devices``,
``_settings``, ``_sched``, ``_node``, ``_pools``): the domains by domid, the managed
domains, saved images, CPU pools, the console ring and the xend log, plus xend's lookup
(``XendDomain.domain_lookup_nr``) and listing rules and the name check every operation
that names a domain shares. Nothing here does I/O; callers hold ``lock``.
"""

from __future__ import annotations

import random
import re
import threading
import time

from aioxend.emulator._errors import VmError, XendInvalidDomain
from aioxend.emulator._py2 import type_name
from aioxend.emulator._records import POWER_STATE_NAMES, CpuPool, Domain, Sxpr

__all__ = ["NAME_RE", "HostState"]

NAME_RE = re.compile(r"^[A-Za-z0-9_\-\.\:\+]+$")


class HostState:
    """The host's data and lookups; see ``aioxend.emulator._host`` for the whole host."""

    total_memory = 16383
    nr_cpus = 8
    cpu_mhz = 2394

    def __init__(self, *, seed: int = 0) -> None:
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

    def log(self, level: str, where: str, message: str) -> None:
        """Append a line to the emulated ``xend.log``."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
        self._log.append(f"[{stamp} 4242] {level} ({where}) {message}\n")

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
        if not isinstance(name, str) or not NAME_RE.match(name):
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
