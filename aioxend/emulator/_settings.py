"""A domain's settings: name, memory, VCPUs, sysrq, triggers, USB, I/O ports, shadow.

``XendDomainInfo``'s setters as ``xend.domain.<method>(dom, ...)`` reached them, and
the per-domain ``XendDomain.domain_*`` knobs that are not scheduling.
"""

from __future__ import annotations

from aioxend.emulator._args import arg_int
from aioxend.emulator._errors import VmError, XendError
from aioxend.emulator._lifecycle import LifecycleOps
from aioxend.emulator._records import HALTED, MAX_VCPUS, PAUSED, RUNNING, Domain, Sxpr

__all__ = ["TRIGGERS", "SettingsOps"]

TRIGGERS = ("nmi", "reset", "init", "s3resume", "power")


class SettingsOps(LifecycleOps):
    """Settings of one domain (triggers may reset or power it off, hence the base)."""

    def setName(self, dom: Domain, name: object, to_store: object = True) -> None:
        """``XendDomainInfo.setName``."""
        self.check_name(dom, name)
        dom.name = str(name)

    def setMemoryTarget(self, dom: Domain, target: object) -> None:
        """``XendDomainInfo.setMemoryTarget`` (MiB)."""
        value = arg_int(target)
        if value > dom.maxmem:
            raise XendError("memory_dynamic_max must be less than or equal to memory_static_max")
        if value <= 0:
            raise XendError("memory_dynamic_min must be greater than or equal to memory_static_min")
        dom.memory = value

    def setMemoryMaximum(self, dom: Domain, limit: object) -> int | None:
        """``XendDomainInfo.setMemoryMaximum`` (MiB); 0 from xc when active."""
        value = arg_int(limit)
        if value < dom.memory:
            raise XendError("memory_dynamic_max must be less than or equal to memory_static_max")
        dom.maxmem = value
        return 0 if dom.active else None

    def setVCpuCount(self, dom: Domain, vcpus: object) -> None:
        """``XendDomainInfo.setVCpuCount``."""
        value = arg_int(vcpus)
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
        dom.shadow_memory = arg_int(mb)
        return dom.shadow_memory

    def domain_ioport_range_enable(self, domid: object, first: object, last: object) -> int:
        """``domain_ioport_range_enable``."""
        dom = self.lookup(domid)
        dom.ioports.append((arg_int(first), arg_int(last), True))
        return 0

    def domain_ioport_range_disable(self, domid: object, first: object, last: object) -> int:
        """``domain_ioport_range_disable``."""
        dom = self.lookup(domid)
        dom.ioports.append((arg_int(first), arg_int(last), False))
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
