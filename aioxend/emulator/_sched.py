"""Scheduling: VCPU pinning and the sedf, credit and credit2 parameters.

A scheduler's parameters of a running domain can be read or set only when the host runs
that scheduler (``Host.scheduler``); xc answered EINVAL otherwise.
"""

from __future__ import annotations

from aioxend.emulator._args import arg_int
from aioxend.emulator._errors import XendError
from aioxend.emulator._hoststate import HostState
from aioxend.emulator._records import PAUSED, RUNNING, Sxpr

__all__ = ["SchedOps"]


class SchedOps(HostState):
    """``XendDomain.domain_pincpu`` and ``domain_{cpu_sedf,sched_credit,sched_credit2}_*``."""

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
            "period": arg_int(period),
            "slice": arg_int(slice_),
            "latency": arg_int(latency),
            "extratime": arg_int(extratime),
            "weight": arg_int(weight),
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
