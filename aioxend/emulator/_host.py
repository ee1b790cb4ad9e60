"""The emulated Xen host: Domain-0, seeded guests, and every operation of xend.

Strategy: one ``Host`` object holds everything xend kept (``_hoststate``); its methods
are xend's own operations, named after ``XendDomain.domain_*``, ``XendDomainInfo`` and
``XendNode``, grouped by what they touch: the domain state machine (``_lifecycle``),
devices (``_devices``), settings (``_settings``), scheduling (``_sched``), the node
(``_node``) and CPU pools (``_pools``); the records are in ``_records``. Both listeners
(XML-RPC and legacy SXP/HTTP) call them, so they share one behaviour. Nothing here does
I/O. Seeding is deterministic for a seed.

Threads: every public method expects ``Host.lock`` to be held; the listeners hold it
around each request, and ``domain()``/``domains()`` take it themselves, so tests may
inspect the host from another thread.
"""

from __future__ import annotations

from aioxend.emulator._node import NodeOps
from aioxend.emulator._pools import PoolOps
from aioxend.emulator._records import RUNNING, CpuPool, Domain, rand_uuid, random_mac
from aioxend.emulator._sched import SchedOps
from aioxend.emulator._settings import SettingsOps

__all__ = ["DOM0_NAME", "DOM0_UUID", "Host"]

DOM0_UUID = "00000000-0000-0000-0000-000000000000"
DOM0_NAME = "Domain-0"


class Host(SettingsOps, SchedOps, NodeOps, PoolOps):
    """The emulated xend host. See the module docstring for the locking rule."""

    def __init__(self, *, domains: int = 3, seed: int = 0) -> None:
        super().__init__(seed=seed)
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
            uuid=rand_uuid(self.rng),
            name="Pool-0",
            ncpu=self.nr_cpus,
            cpus=list(range(self.nr_cpus)),
            activated=True,
            auto_power_on=True,
        )
        for i in range(1, domains + 1):
            self._add_domain(self._seed_guest(i))
        self.log("INFO", "SrvDaemon", f"Xend started with {domains} guests (seed {seed}).")

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
            uuid=rand_uuid(rng),
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
            ["mac", random_mac(rng)],
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

    def xend_log(self) -> str:
        """The whole emulated ``/var/log/xen/xend.log``."""
        with self.lock:
            return "".join(self._log)

    def append_dmesg(self, text: str) -> None:
        """Add text to the hypervisor console ring (``xm dmesg``)."""
        with self.lock:
            self._dmesg.append(text)
