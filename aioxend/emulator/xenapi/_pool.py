"""The state of an emulated pool: its objects, hosts, VMs, users and sessions.

Objects live in one table per datamodel class (``objects["VM"][ref]`` is a record
dict with every field). The pool is seeded deterministically for a seed: a ``pool``
object, ``hosts`` hosts (the first is the master), a control domain per host, and the
guests ``vm1``..``vmN`` in the states Running, Halted, Paused, Suspended, Running...
(so ``vm1`` runs and ``vm2`` is halted), each with its ``VM_metrics``. References are
``OpaqueRef:<uuid>`` in xapi's dialect and the object's UUID in xend's.

Sessions: ``login`` checks the password (``SESSION_AUTHENTICATION_FAILED [user,
"Authentication failure"]``, as ``Xapi_session.do_local_auth`` fails), keeps at most
``max_sessions`` per originator and per user (the oldest beyond are destroyed, as xapi
does), gives each user a role (``roles``; ``pool-admin`` by default, ``reader`` is
``read-only``), and ``check_session`` expires one idle longer than ``session_timeout`` seconds
(xapi: 24 h, ``Xapi_globs.inactive_session_timeout``; xend: never). ``expire_session``
ends one at once, as a server restart would. ``events`` logs every change for
``event.from`` (``touch`` records a modification made outside the pool's methods) and
``registrations`` holds the queues of ``event.register``/``event.next``;
``tasks`` holds the ``Async.*`` tasks still pending (``task_duration``).
Every method takes the pool's lock, so a test may inspect or change the pool from its
own thread while the server runs.
"""

from __future__ import annotations

import random
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from aioxend.emulator.xenapi import _power
from aioxend.emulator.xenapi._datamodel import model
from aioxend.emulator.xenapi._events import EventLog, Registrations
from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._records import new_record
from aioxend.emulator.xenapi._tasks import TaskQueue

__all__ = ["DEFAULT_ROLES", "DEFAULT_USERS", "DIALECTS", "Pool"]

DEFAULT_USERS: Mapping[str, str] = {"root": "xenroot", "admin": "admin", "reader": "reader"}
DEFAULT_ROLES: Mapping[str, str] = {"reader": "read-only"}  # anyone else: pool-admin
DIALECTS = ("xapi", "xend")

_STATES = (_power.RUNNING, _power.HALTED, _power.PAUSED, _power.SUSPENDED)
_MIB = 1024 * 1024
# what Xapi_vm_lifecycle.check_operation_error lets a control domain do
_CONTROL_DOMAIN_OPS = frozenset(
    {
        "start",
        "start_on",
        "changing_VCPUs",
        "changing_static_range",
        "changing_memory_limits",
        "changing_dynamic_range",
    }
)


class Pool:
    """An in-memory pool of hosts and VMs, with users and sessions."""

    def __init__(
        self,
        *,
        vms: int = 3,
        hosts: int = 1,
        dialect: str = "xapi",
        users: Mapping[str, str] | None = None,
        roles: Mapping[str, str] | None = None,
        seed: int = 0,
        session_timeout: float | None = 86400.0,
        max_sessions: int = 500,
        task_duration: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
        if vms < 0 or hosts < 1:
            raise ValueError("a pool needs at least one host and no negative VM count")
        if dialect == "xend" and hosts != 1:
            raise ValueError("xend serves one host, not a pool")
        self.lock = threading.RLock()
        self.dialect = dialect
        self.users = dict(DEFAULT_USERS if users is None else users)
        self.roles = dict(DEFAULT_ROLES if roles is None else roles)
        self.session_timeout = None if dialect == "xend" else session_timeout
        self.max_sessions = max_sessions
        self.null_ref = "OpaqueRef:NULL" if dialect == "xapi" else ""
        self.objects: dict[str, dict[str, dict[str, object]]] = {}
        self._rng = random.Random(seed)
        self.clock = clock
        self._active: dict[str, float] = {}
        self.events = EventLog()
        self.registrations = Registrations(self.events)
        self.tasks = TaskQueue(self, task_duration)
        self._next_domid = 1
        self.pool_ref = self.add("pool", {"name_label": "", "name_description": ""})
        self.hosts = [self._seed_host(i) for i in range(hosts)]
        self.objects["pool"][self.pool_ref]["master"] = self.hosts[0]
        for i in range(vms):
            self.add_vm(f"vm{i + 1}", _STATES[i % len(_STATES)], self.hosts[i % hosts])

    # -- objects -------------------------------------------------------------------
    def new_uuid(self) -> str:
        """A UUID drawn from the pool's seeded generator."""
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    def add(self, cls: str, fields: Mapping[str, object] | None = None) -> str:
        """Create an object of ``cls`` from the datamodel defaults; returns its ref."""
        with self.lock:
            uuid = str(fields.get("uuid")) if fields and "uuid" in fields else self.new_uuid()
            ref = f"OpaqueRef:{self.new_uuid()}" if self.dialect == "xapi" else uuid
            record = new_record(model().classes[cls], self.null_ref, fields)
            record["uuid"] = uuid
            self.objects.setdefault(cls, {})[ref] = record
            self.events.created(cls, ref)
            return ref

    def get(self, cls: str, ref: object) -> dict[str, object]:
        """The record of ``ref``; ``HANDLE_INVALID [cls, ref]`` if there is none."""
        with self.lock:
            record = self.objects.get(cls, {}).get(ref) if isinstance(ref, str) else None
            if record is None:
                raise Failure("HANDLE_INVALID", cls, ref)
            return record

    def remove(self, cls: str, ref: str) -> None:
        """Destroy an object (``HANDLE_INVALID`` if it does not exist)."""
        with self.lock:
            self.get(cls, ref)
            del self.objects[cls][ref]
            self.events.removed(cls, ref)

    def touch(self, cls: str, ref: str) -> None:
        """Record that an object changed (an ``event.from`` will report it)."""
        with self.lock:
            self.events.modified(cls, ref)

    def table(self, cls: str) -> dict[str, dict[str, object]]:
        """Every object of ``cls`` by ref (the live table: hold ``lock`` to change it)."""
        with self.lock:
            return self.objects.setdefault(cls, {})

    def vm(self, name_label: str) -> str:
        """The ref of the VM called ``name_label`` (``KeyError`` if none)."""
        with self.lock:
            for ref, record in self.table("VM").items():
                if record["name_label"] == name_label:
                    return ref
        raise KeyError(name_label)

    @property
    def master(self) -> str:
        """The master host's ref."""
        return self.hosts[0]

    def promote(self, host: str) -> None:
        """Make member ``host`` the master, as ``xe pool-emergency-transition-to-master``
        does: the pool's ``master`` names it, the other members name it in
        ``HOST_IS_SLAVE``, and every session ends (clients log in at the new master)."""
        with self.lock:
            if host not in self.hosts:
                raise ValueError(f"{host!r} is not a host of this pool")
            self.hosts.remove(host)
            self.hosts.insert(0, host)
            self.objects["pool"][self.pool_ref]["master"] = host
            self.touch("pool", self.pool_ref)
            self.expire_session()

    # -- seeding -------------------------------------------------------------------
    def _seed_host(self, index: int) -> str:
        xend = self.dialect == "xend"
        metrics = self.add(
            "host_metrics",
            {"memory_total": 16384 * _MIB, "memory_free": 8192 * _MIB, "live": True},
        )
        name = f"host{index}"
        host = self.add(
            "host",
            {
                "name_label": name,
                "hostname": name,
                "address": f"127.0.0.{index + 1}",
                "enabled": True,
                "metrics": metrics,
                "API_version_major": 1 if xend else 2,
                "API_version_minor": 0 if xend else 21,
                "API_version_vendor": "XenSource",
                "software_version": {"Xen": "4.4.4"}
                if xend
                else {"product_brand": "XCP-ng", "product_version": "8.3.0", "xen": "4.17"},
                "sched_policy": "credit",
                "capabilities": ["xen-3.0-x86_64", "hvm-3.0-x86_64"],
                "cpu_info": {"cpu_count": "4", "vendor": "GenuineIntel"},
            },
        )
        dom0 = self.add_vm(f"Control domain on host: {name}", _power.RUNNING, host, control=True)
        self.objects["host"][host]["control_domain"] = dom0
        return host

    def add_vm(
        self,
        name: str,
        state: str = _power.HALTED,
        host: str | None = None,
        *,
        control: bool = False,
    ) -> str:
        """Add a VM (1 GiB, 1 VCPU, with its ``VM_metrics``) in ``state`` on ``host`` (the
        master if None, for a running or paused one); returns its ref."""
        if state not in _STATES:
            raise ValueError(f"power state must be one of {_STATES}, not {state!r}")
        with self.lock:
            return self._new_vm(name, state, host or self.master, control)

    def _new_vm(self, name: str, state: str, host: str, control: bool) -> str:
        memory = (4096 if control else 1024) * _MIB
        metrics = self.add(
            "VM_metrics",
            {"memory_actual": memory, "VCPUs_number": 1, "VCPUs_utilisation": {0: 0.0}},
        )
        ref = self.add(
            "VM",
            {
                "name_label": name,
                "is_control_domain": control,
                "user_version": 1,
                "memory_static_max": memory,
                "memory_dynamic_max": memory,
                "memory_dynamic_min": memory,
                "memory_static_min": 256 * _MIB,
                "memory_target": memory,
                "VCPUs_max": 1,
                "VCPUs_at_startup": 1,
                "actions_after_shutdown": "destroy",
                "actions_after_reboot": "restart",
                "actions_after_crash": "restart",
                "metrics": metrics,
                "domid": -1,
                "domain_type": "pv",
                "other_config": {} if control else {"seeded": "true"},
            },
        )
        if control:
            self.set_power_state(ref, state, host, domid=0)
        else:
            self.set_power_state(ref, state, host)
        return ref

    # -- the power-state machine -----------------------------------------------------
    def set_power_state(
        self, vm: str, state: str, host: str | None = None, *, domid: int | None = None
    ) -> None:
        """Put a VM in ``state`` with the fields that go with it (resident host, domid)."""
        with self.lock:
            record = self.get("VM", vm)
            self.touch("VM", vm)
            live = state in (_power.RUNNING, _power.PAUSED)
            old_host = record["resident_on"]
            if old_host != self.null_ref and old_host in self.table("host"):
                resident = self.objects["host"][str(old_host)]["resident_VMs"]
                assert isinstance(resident, list)
                if vm in resident:
                    resident.remove(vm)
                    self.touch("host", str(old_host))
            record["power_state"] = state
            ops = set(model().enums["vm_operations"])
            record["allowed_operations"] = [
                op for op in _power.allowed_operations(state) if op in ops
            ]
            if not live:
                record["resident_on"] = self.null_ref
                record["domid"] = -1
                return
            target = host if host is not None else old_host
            if target == self.null_ref or target is None:
                target = self.master
            record["resident_on"] = target
            resident = self.objects["host"][str(target)]["resident_VMs"]
            assert isinstance(resident, list)
            resident.append(vm)
            self.touch("host", str(target))
            if domid is not None:
                record["domid"] = domid
            elif record["domid"] == -1:
                record["domid"] = self._next_domid
                self._next_domid += 1

    def power(self, op: str, vm: object, *, paused: bool = False, host: str | None = None) -> None:
        """Run a power operation (``start``, ``clean_shutdown``...) on a VM."""
        with self.lock:
            record = self.get("VM", vm)
            assert isinstance(vm, str)
            state = str(record["power_state"])
            control = bool(record["is_control_domain"])
            target = _power.transition(
                op, vm, state, paused=paused, dialect=self.dialect, control=control
            )
            if control and op not in _CONTROL_DOMAIN_OPS:
                raise Failure(
                    "OPERATION_NOT_ALLOWED", "This operation is not allowed on a control domain"
                )
            if _power.OPERATIONS[op].target is None:
                return  # an operation that only needs the right state (clone...)
            if op == "clean_reboot" or op == "hard_reboot":
                record["domid"] = -1  # a reboot makes a new domain
            self.set_power_state(vm, target, host)

    # -- sessions ------------------------------------------------------------------
    def login(self, host: str, uname: object, pwd: object, originator: str = "") -> str:
        """Authenticate and open a session on ``host``; returns the session ref."""
        if not isinstance(uname, str) or self.users.get(uname) != pwd or pwd is None:
            if self.dialect == "xend":
                raise Failure("SESSION_AUTHENTICATION_FAILED")
            raise Failure("SESSION_AUTHENTICATION_FAILED", uname, "Authentication failure")
        with self.lock:
            now = datetime.now(UTC)
            ref = self.add(
                "session",
                {
                    "this_host": host,
                    "this_user": uname if self.dialect == "xend" else self.null_ref,
                    "last_active": now,
                    "validation_time": now,
                    "is_local_superuser": uname == "root",
                    "auth_user_name": uname,
                    "originator": originator,
                },
            )
            self._active[ref] = self.clock()
            self._trim(("originator", originator))
            self._trim(("auth_user_name", uname))
            return ref

    def _trim(self, key: tuple[str, str]) -> None:
        field, value = key
        mine = [ref for ref, s in self.table("session").items() if s[field] == value]
        for ref in mine[: max(0, len(mine) - self.max_sessions)]:
            self._drop(ref)

    def _drop(self, ref: str) -> None:
        if self.objects["session"].pop(ref, None) is not None:
            self.events.removed("session", ref)
        self._active.pop(ref, None)
        self.registrations.forget(ref)

    def check_session(self, ref: object) -> dict[str, object]:
        """The record of a live session; ``SESSION_INVALID [ref]`` otherwise."""
        with self.lock:
            sessions = self.table("session")
            record = sessions.get(ref) if isinstance(ref, str) else None
            if record is None:
                raise Failure("SESSION_INVALID", ref)
            assert isinstance(ref, str)
            now = self.clock()
            timeout = self.session_timeout
            if timeout is not None and now - self._active.get(ref, now) > timeout:
                self._drop(ref)
                raise Failure("SESSION_INVALID", ref)
            self._active[ref] = now
            record["last_active"] = datetime.now(UTC)
            return record

    def role(self, session: str) -> str:
        """The RBAC role of a session's user (``pool-admin`` unless ``roles`` says)."""
        with self.lock:
            user = self.table("session")[session]["auth_user_name"]
            return self.roles.get(str(user), "pool-admin")

    def logout(self, ref: str) -> None:
        """End a session (no error if it is already gone)."""
        with self.lock:
            self._drop(ref)

    def expire_session(self, ref: str | None = None) -> None:
        """End one session (or, with None, every session) as if the server restarted."""
        with self.lock:
            refs = [ref] if ref is not None else list(self.table("session"))
            for r in refs:
                self._drop(r)

    def sessions(self) -> list[str]:
        """The refs of the open sessions, oldest first."""
        with self.lock:
            return list(self.table("session"))
