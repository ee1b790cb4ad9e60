"""CPU pools (Xen 4.1+): define, start, list, resize, migrate a domain, destroy.

``XendCPUPool``'s operations; its faults carry a list (``["POOL_BAD_STATE", why]``), as
XendCPUPool raised them.
"""

from __future__ import annotations

from aioxend.emulator._args import arg_int, config_pairs
from aioxend.emulator._errors import VmError, XendError
from aioxend.emulator._hoststate import HostState
from aioxend.emulator._records import CpuPool, rand_uuid

__all__ = ["PoolOps"]


class PoolOps(HostState):
    """``xend.cpu_pool.*``."""

    def _pool(self, name: object) -> CpuPool:
        pool = self.pools.get(str(name))
        if pool is None:
            raise VmError(f"unknown pool {name}")
        return pool

    def pool_new(self, config: object) -> str:
        """``XendCPUPool.pool_new``: define a pool; returns its uuid."""
        if not isinstance(config, list):
            raise VmError(["INVALID_CONFIG", str(config)])
        values = {str(p[0]): p[1] for p in config_pairs(config) if len(p) > 1}
        name = str(values.get("name_label", values.get("name", "")))
        if not name:
            raise VmError(["INVALID_NAME", name])
        if name in self.pools:
            raise VmError(["POOL_BAD_STATE", "pool name already exists"])
        proposed = values.get("proposed_CPUs", [])
        if not isinstance(proposed, list):
            proposed = [proposed]
        pool = CpuPool(
            uuid=rand_uuid(self.rng),
            name=name,
            sched_policy=str(values.get("sched_policy", values.get("sched", "credit"))),
            ncpu=arg_int(values.get("ncpu", max(len(proposed), 1))),
            description=str(values.get("name_description", "")),
            auto_power_on=bool(arg_int(values.get("auto_power_on", 0))),
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
        number = arg_int(cpu)
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
        number = arg_int(cpu)
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
