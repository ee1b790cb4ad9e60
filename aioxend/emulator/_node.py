"""The node: ``xend.node.info``, PCI devices, the console ring, tmem, and vnets.

``XendNode``'s answers about the host itself (``physinfo`` plus the xen and compiler
facts), ``XendDmesg``, ``XendNode.tmem_*`` over a small client table, and
``XendVnet`` (legacy SXP only).
"""

from __future__ import annotations

import uuid as uuidlib

from aioxend.emulator._args import arg_int, config_pairs
from aioxend.emulator._devices import DeviceOps
from aioxend.emulator._errors import XendError

__all__ = ["NodeOps"]


class NodeOps(DeviceOps):
    """The host's own operations (PCI listing needs the devices, hence the base)."""

    def node_info(self, show_numa: object = 1) -> list[list[object]]:
        """``XendNode.info``: ``[key, value]`` pairs, no head tag, in its order."""
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
            *self._max_memory(),
        ]
        if show_numa != 0:  # xend's own test: any value but 0 and False
            info += [["cpu_topology", self.cpu_topology()], ["numa_info", "none"]]
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

    def _max_memory(self) -> list[list[object]]:
        """The three "largest guest that fits" lines of the xend 4.1-4.4 SUSE shipped (SLES 11).

        Upstream xen.git's ``XendNode.physinfo`` has no such keys; the distribution's xend
        adds them after ``free_cpus``, so ``xm info`` on those hosts prints them. Domain-0 is
        fixed at ``dom0_mem`` here (nothing to balloon), so the free memory is the ceiling; a
        PV guest gives up 4 MiB of it to its page tables, an HVM guest its shadow memory
        (1 MiB per 256 MiB, at least 8 MiB): the emulator's estimate, in MiB.
        """
        free = self.free_memory()
        shadow = max(free // 256, 8)
        return [
            ["max_free_memory", free],
            ["max_para_memory", max(free - 4, 0)],
            ["max_hvm_memory", max(free - shadow, 0)],
        ]

    def cpu_topology(self) -> str:
        """``XendNode.format_cpu_to_core_socket_node``: a newline, a header, one row a CPU.

        Two threads a core, every CPU on socket 0 and node 0; the last newline is cut.
        ``numa_info`` beside it is ``"none"``: from Xen 4.1 on, ``format_numa_info``
        reads an undefined ``nr_nodes`` and its bare ``except`` answers ``"none"``.
        """
        rows = "".join(f"\n{c:3d}:{c // 2:8d} {0:8d} {0:8d}" for c in range(self.nr_cpus))
        return "\ncpu:    core    socket     node" + rows

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
        cid = arg_int(cli_id)
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
        arg_int(cli_id)
        arg_int(pages)
        return 0

    def tmem_destroy(self, cli_id: object) -> int:
        """``tmem_destroy``."""
        self.tmem.pop(arg_int(cli_id), None)
        return 0

    def tmem_set_weight(self, cli_id: object, value: object) -> int:
        """``tmem_set_weight``."""
        return self._tmem_set(cli_id, "ww", arg_int(value))

    def tmem_set_cap(self, cli_id: object, value: object) -> int:
        """``tmem_set_cap``."""
        return self._tmem_set(cli_id, "ca", arg_int(value))

    def tmem_set_compress(self, cli_id: object, value: object) -> int:
        """``tmem_set_compress``."""
        return self._tmem_set(cli_id, "co", arg_int(value))

    def tmem_query_freeable_mb(self) -> int:
        """``tmem_query_freeable_mb``."""
        return 0

    def tmem_shared_auth(self, cli_id: object, uuid_str: object, auth: object) -> int:
        """``tmem_shared_auth``."""
        arg_int(cli_id)
        try:
            uuidlib.UUID(str(uuid_str))
        except ValueError:
            raise XendError(f"Invalid uuid: {uuid_str}") from None
        return 0

    # -- vnets (legacy SXP only) ---------------------------------------------------
    def vnet_create(self, config: object) -> None:
        """``XendVnet.vnet_create``."""
        if not isinstance(config, list):
            raise XendError("Vnet configuration is not an S-expression")
        values = {str(p[0]): p[1] for p in config_pairs(config) if len(p) > 1}
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
