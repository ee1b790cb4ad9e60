"""The VM power-state machine: which operation runs in which state, and where it leads.

Besides the power operations, the table holds the other operations whose allowed
states xapi checks the same way (``clone``, ``snapshot``, ``changing_VCPUs``...).

The allowed states are those of xapi's ``Xapi_vm_lifecycle.allowed_power_states``, in
its order, since that order is on the wire: a refused operation raises
``VM_BAD_POWER_STATE [vm, expected, actual]`` with the expected states joined by ", "
and every state in lower case (``report_power_state_error``,
``Record_util.vm_power_state_to_lowercase_string``), e.g. ``hard_shutdown`` of a halted
VM gives ``expected = "paused, suspended, running"``, ``actual = "halted"``. xend
(``XendDomain.domain_start`` and friends) named one expected state, capitalised
(``POWER_STATE_NAMES``): ``[uuid, "Halted", "Running"]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aioxend.emulator.xenapi._failure import Failure

__all__ = ["OPERATIONS", "POWER_OPERATIONS", "Transition", "allowed_operations", "transition"]

HALTED, PAUSED, RUNNING, SUSPENDED = "Halted", "Paused", "Running", "Suspended"


@dataclass(frozen=True)
class Transition:
    """An operation: the states it runs from and the state it leaves the VM in (None:
    the state it found).

    ``paused_target`` is the state when the caller asked for ``start_paused``.
    """

    allowed: tuple[str, ...]
    target: str | None  # None: the state does not change
    paused_target: str | None = None


OPERATIONS: dict[str, Transition] = {
    "start": Transition((HALTED,), RUNNING, PAUSED),
    "start_on": Transition((HALTED,), RUNNING, PAUSED),
    "unpause": Transition((PAUSED,), RUNNING),
    "resume": Transition((SUSPENDED,), RUNNING, PAUSED),
    "resume_on": Transition((SUSPENDED,), RUNNING, PAUSED),
    "clean_reboot": Transition((RUNNING,), RUNNING),
    "clean_shutdown": Transition((RUNNING,), HALTED),
    "pause": Transition((RUNNING,), PAUSED),
    "suspend": Transition((RUNNING,), SUSPENDED),
    "hard_reboot": Transition((PAUSED, RUNNING), RUNNING),
    "hard_shutdown": Transition((PAUSED, SUSPENDED, RUNNING), HALTED),
    "shutdown": Transition((PAUSED, SUSPENDED, RUNNING), HALTED),
    "destroy": Transition((HALTED, SUSPENDED), HALTED),
    "power_state_reset": Transition((HALTED, PAUSED, SUSPENDED, RUNNING), HALTED),
    "clone": Transition((HALTED,), None),
    "copy": Transition((HALTED,), None),
    "snapshot": Transition((HALTED, PAUSED, SUSPENDED, RUNNING), None),
    "changing_VCPUs": Transition((HALTED,), None),
    "changing_static_range": Transition((HALTED,), None),
    "changing_memory_limits": Transition((HALTED,), None),
    "changing_dynamic_range": Transition((HALTED, RUNNING), None),
}

# the operations that are VM messages of the same name
POWER_OPERATIONS = (
    "start",
    "start_on",
    "unpause",
    "resume",
    "resume_on",
    "clean_reboot",
    "clean_shutdown",
    "pause",
    "suspend",
    "hard_reboot",
    "hard_shutdown",
    "shutdown",
    "power_state_reset",
)

# a control domain may also change these while it runs (allowed_power_states)
_CONTROL_DOMAIN_LIVE = frozenset(
    {"changing_VCPUs", "changing_static_range", "changing_memory_limits"}
)


def transition(
    op: str, vm_ref: str, state: str, *, paused: bool, dialect: str, control: bool = False
) -> str:
    """The state after ``op`` on a VM in ``state``, or the ``VM_BAD_POWER_STATE`` error."""
    rule = OPERATIONS[op]
    allowed = rule.allowed
    if control and op in _CONTROL_DOMAIN_LIVE:
        allowed = (*allowed, RUNNING)
    if state not in allowed:
        if dialect == "xend":
            raise Failure("VM_BAD_POWER_STATE", vm_ref, rule.allowed[0], state)
        expected = ", ".join(s.lower() for s in allowed)
        raise Failure("VM_BAD_POWER_STATE", vm_ref, expected, state.lower())
    if paused and rule.paused_target is not None:
        return rule.paused_target
    return rule.target or state


def allowed_operations(state: str) -> list[str]:
    """The power operations a VM in ``state`` allows (its ``allowed_operations`` field)."""
    return [op for op, rule in OPERATIONS.items() if state in rule.allowed]
