"""The domain state machine: create, start, pause, shut down, save, migrate, destroy.

Each operation is ``XendDomain.domain_*`` or ``XendDomainInfo``'s, with xend's checks in
xend's order and xend's error strings. Shutdown requests take effect at once: the guest
"obeys" immediately and its ``on_poweroff``/``on_reboot``/``on_crash`` action runs. A
domain that leaves the hypervisor is gone, or halted if it is managed.
"""

from __future__ import annotations

import copy

from aioxend.emulator._args import config_int, config_pairs
from aioxend.emulator._devices import DeviceOps
from aioxend.emulator._errors import VmError, XendError, XendInvalidDomain
from aioxend.emulator._records import (
    CRASHED,
    HALTED,
    MAX_VCPUS,
    PAUSED,
    RUNNING,
    SHUTDOWN,
    SUSPENDED,
    Domain,
    Sxpr,
    rand_uuid,
)

__all__ = ["SHUTDOWN_REASONS", "LifecycleOps"]

SHUTDOWN_REASONS = ("poweroff", "reboot", "suspend", "crash", "halt")
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


class LifecycleOps(DeviceOps):
    """Creation and every power-state transition of a domain."""

    def _from_config(self, config: object) -> Domain:
        """Build a (halted) domain from a ``(vm ...)`` configuration, as XendConfig did."""
        if not isinstance(config, list) or not config:
            raise VmError(f"Invalid configuration: {config!s}")
        pairs = config_pairs(config)
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
        memory = config_int("memory", values.get("memory", 128))
        maxmem = config_int("maxmem", values.get("maxmem", memory))
        vcpus = config_int("vcpus", values.get("vcpus", 1))
        if memory <= 0 or maxmem < memory:
            raise VmError("memory_dynamic_max must be less than or equal to memory_static_max")
        if vcpus <= 0:
            raise VmError("Zero or less VCPUs is invalid")
        if vcpus > MAX_VCPUS:
            raise VmError("(22, 'Invalid argument')")
        dom = Domain(
            name=str(values.get("name", "")),
            uuid=str(uuid) if uuid else rand_uuid(self.rng),
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
                setattr(dom, key, config_int(key, values[key]))
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
