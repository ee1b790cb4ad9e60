"""The xe verbs: what each takes, and what it does over a Xen-API session.

Each verb is a ``Verb``: its required and optional parameters (cli_frontend.ml's
``reqd``/``optn``), whether the other parameters are field filters (the ``-list`` verbs
filter their class; the VM verbs select VMs as xe's ``select_vms`` does) and its
handler. ``Verb.check`` refuses a parameter the verb does not know, or a missing one,
before anything is sent. Handlers write the result to ``out`` (xe's blocks, ``--minimal``
or ``--json``) and progress to ``err``, only when ``err`` is a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TextIO

from aioxend._xe._args import Invocation
from aioxend._xe._fields import (
    CLASSES,
    DEFAULT_PARAMS,
    Field,
    Filter,
    Tables,
    Value,
    format_minimal,
    format_records,
    parse_filter,
    select_fields,
)
from aioxend._xe._transfer import check_export, check_import, vm_export, vm_import
from aioxend._xe._watch import WATCH_PARAMS, check_wait, check_watch, event_wait, event_watch
from aioxend.cli import UsageError, with_progress
from aioxend.errors import XenAPIError
from aioxend.xenapi.errors import from_description

if TYPE_CHECKING:
    from aioxend.xenapi import Task, VMRecord, VMRef, XenAPIClient, hostRef

__all__ = ["VERBS", "NoMatch", "Verb"]

Handler = Callable[["XenAPIClient", Invocation, TextIO, TextIO], Awaitable[None]]

#: Parameters every verb takes (cli_operations.ml ``stdparams``, those that apply here).
STDPARAMS: Final = frozenset({"minimal", "multiple", "force"})


class NoMatch(LookupError):
    """No object matched the selection (xe's ``No matching VMs found``): exit status 3."""


@dataclass(frozen=True)
class Verb:
    """One xe command: its parameters and its handler.

    ``filters`` is the xe class (``"vm"``) whose fields the parameters not listed in
    ``reqd``/``optn`` may filter on; ``None`` means there are no other parameters.
    ``"*"`` leaves them to ``checker``, the verb's own check of its parameters (its local
    files, the filters of the classes it names), which runs first in any case.
    """

    name: str
    help: str
    handler: Handler
    reqd: tuple[str, ...] = ()
    optn: tuple[str, ...] = ()
    filters: str | None = None
    checker: Callable[[Mapping[str, str]], None] | None = None

    def check(self, params: Mapping[str, str]) -> None:
        """Refuse a missing required parameter or one this verb does not take."""
        for name in self.reqd:
            if name not in params:
                raise UsageError(f"{self.name}: required parameter not found: {name}")
        if self.checker is not None:
            self.checker(params)
        if self.filters == "*":
            return
        own = {*self.reqd, *self.optn, *STDPARAMS}
        others = [name for name in params if name not in own]
        if self.filters is None:
            if others:
                takes = ", ".join(sorted(own - STDPARAMS)) or "no parameters"
                raise UsageError(f"{self.name}: unknown parameter '{others[0]}' (takes {takes})")
            return
        fields = CLASSES[self.filters][1]
        for name in others:
            if name == "vm" and self.filters == "vm" and self.name != "vm-list":
                continue
            try:
                parse_filter(fields, name, params[name])
            except KeyError as exc:
                raise UsageError(f"{self.name}: {exc.args[0]}") from None


# --------------------------------------------------------------------------- output


def _rows(
    records: Mapping[str, Any], fields: Sequence[Field], tables: Tables
) -> list[list[tuple[Field, Value]]]:
    return [[(f, f.get(record, tables)) for f in fields] for record in records.values()]


def _print_rows(out: TextIO, inv: Invocation, rows: list[list[tuple[Field, Value]]]) -> None:
    if inv.options.json:
        json.dump([{f.name: value for f, value in row} for row in rows], out, indent=2)
        out.write("\n")
    elif inv.flag("minimal"):
        out.write(format_minimal(row[0][0].text(row[0][1]) for row in rows if row))
    else:
        out.write(format_records(rows))


# --------------------------------------------------------------------------- selection


async def _filtered(
    xapi: XenAPIClient,
    xe_class: str,
    filters: Sequence[Filter],
    shown: Sequence[Field] = (),
) -> tuple[dict[Any, Any], Tables]:
    """The records of ``xe_class`` every filter matches, with the tables the filters and
    the ``shown`` fields look into (loaded once each)."""
    cls, _ = CLASSES[xe_class]
    records: dict[Any, Any] = dict(await getattr(xapi, cls).get_all_records())
    tables = Tables()
    tables.add(cls, records)
    await tables.load(xapi, [c for f in (*shown, *(x.field for x in filters)) for c in f.needs])
    kept = {
        ref: record
        for ref, record in records.items()
        if all(x.matches(x.field.get(record, tables)) for x in filters)
    }
    return kept, tables


def _filters(xe_class: str, params: Mapping[str, str], skip: frozenset[str]) -> list[Filter]:
    fields = CLASSES[xe_class][1]
    return [parse_filter(fields, k, v) for k, v in params.items() if k not in skip]


async def select_vms(
    xapi: XenAPIClient,
    inv: Invocation,
    own: Sequence[str],
    *,
    include_control: bool = False,
    single: bool = False,
) -> list[tuple[VMRef, VMRecord]]:
    """The VMs a VM verb acts on, as xe's ``select_vms``/``do_vm_op`` choose them.

    Every parameter but the verb's own (``own``) filters the VMs; ``vm=`` matches the
    uuid or the name-label; templates (and, but for ``vm-start``, control domains) are
    never chosen. With no filter at all every VM would be, so that needs ``--multiple``;
    several matches need ``--multiple`` too (a ``single`` verb takes one VM only);
    none is ``NoMatch``.
    """
    skip = frozenset({*own, *STDPARAMS, "vm"})
    chosen = _filters("vm", inv.params, skip)
    if not chosen and "vm" not in inv.params and (single or not inv.flag("multiple")):
        every = "" if single else ", or --multiple for every VM"
        raise UsageError(
            f"{inv.verb}: required parameter not found: uuid"
            f" (or vm=<name or uuid>, another VM field{every})"
        )
    defaults = {"is-a-template": "false"}
    if not include_control:
        defaults["is-control-domain"] = "false"
    chosen += _filters("vm", defaults, frozenset())
    records, _ = await _filtered(xapi, "vm", chosen)
    wanted = inv.params.get("vm")
    vms: list[tuple[VMRef, VMRecord]] = [
        (ref, vm)
        for ref, vm in records.items()
        if wanted is None or wanted in (vm.uuid, vm.name_label)
    ]
    if not vms:
        raise NoMatch("No matching VMs found")
    if len(vms) > 1 and single:
        raise UsageError(f"{inv.verb}: {len(vms)} VMs match; it acts on one VM at a time")
    if len(vms) > 1 and not inv.flag("multiple"):
        raise UsageError(
            f"{inv.verb}: {len(vms)} VMs match; --multiple required to act on them all"
        )
    return vms


# --------------------------------------------------------------------------- handlers


def _lister(xe_class: str) -> Handler:
    async def handler(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
        fields = CLASSES[xe_class][1]
        try:
            shown = select_fields(fields, inv.params.get("params"), DEFAULT_PARAMS[xe_class])
        except KeyError as exc:
            raise UsageError(f"{inv.verb}: {exc.args[0]}") from None
        filters = _filters(xe_class, inv.params, frozenset({"params", *STDPARAMS}))
        if xe_class == "vm":
            # xe's vm-list never lists templates (gen_cmds' default filter).
            filters += _filters("vm", {"is-a-template": "false"}, frozenset())
        records, tables = await _filtered(xapi, xe_class, filters, shown)
        _print_rows(out, inv, _rows(records, shown, tables))

    return handler


PowerCall = Callable[["XenAPIClient", "VMRef", Invocation], Awaitable["Task[None]"]]


async def _host_ref(xapi: XenAPIClient, name: str) -> hostRef:
    """The host ``on=`` names: by uuid, name-label or hostname (xe's
    ``get_host_by_name_or_id``)."""
    hosts = await xapi.host.get_all_records()
    for ref, host in hosts.items():
        if name in (host.uuid, host.name_label, host.hostname):
            return ref
    raise NoMatch(f"No matching host found for on={name}")


async def _start(xapi: XenAPIClient, vm: VMRef, inv: Invocation) -> Task[None]:
    paused, force = inv.flag("paused"), inv.flag("force")
    if "on" in inv.params:
        host = await _host_ref(xapi, inv.params["on"])
        return await xapi.Async.VM.start_on(vm, host, paused, force)
    return await xapi.Async.VM.start(vm, paused, force)


async def _shutdown(xapi: XenAPIClient, vm: VMRef, inv: Invocation) -> Task[None]:
    if inv.flag("force"):
        return await xapi.Async.VM.hard_shutdown(vm)
    return await xapi.Async.VM.clean_shutdown(vm)


async def _reboot(xapi: XenAPIClient, vm: VMRef, inv: Invocation) -> Task[None]:
    if inv.flag("force"):
        return await xapi.Async.VM.hard_reboot(vm)
    return await xapi.Async.VM.clean_reboot(vm)


async def _suspend(xapi: XenAPIClient, vm: VMRef, inv: Invocation) -> Task[None]:
    return await xapi.Async.VM.suspend(vm)


async def _resume(xapi: XenAPIClient, vm: VMRef, inv: Invocation) -> Task[None]:
    force = inv.flag("force")
    if "on" in inv.params:
        host = await _host_ref(xapi, inv.params["on"])
        return await xapi.Async.VM.resume_on(vm, host, False, force)
    return await xapi.Async.VM.resume(vm, False, force)


async def _run_task(label: str, started: Awaitable[Task[None]], err: TextIO) -> None:
    """Wait for a VM operation's task to end, a spinner with its progress on a terminal.

    Interrupted (Ctrl-C), the wait is cancelled, which cancels and destroys the task
    (``aioxend.xenapi.Task``)."""
    task = await started
    await with_progress(label, task.wait(), err, status=lambda: f"{task.progress:4.0%}")


def _with_uuids(exc: XenAPIError, uuids: Mapping[str, str]) -> XenAPIError:
    """The error with the VM references it names shown as their uuids, as xe shows
    them (``cli_util.ml`` ``server_error`` through ``ref_convert``); itself if none."""
    if not any(param in uuids for param in exc.params):
        return exc
    return from_description(exc.method, [exc.code, *(uuids.get(p, p) for p in exc.params)])


def _power(call: PowerCall, own: tuple[str, ...], *, include_control: bool = False) -> Handler:
    """A VM power verb: select the VMs, then run ``call`` (an ``Async`` message) on each
    in turn and wait for its task (a spinner on a terminal meanwhile); a failure on one
    VM is reported and the others still run, as xe's ``do_multiple`` does, and the first
    failure is the verb's."""

    async def handler(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
        vms = await select_vms(xapi, inv, own, include_control=include_control)
        failures: list[BaseException] = []
        done: list[str] = []
        uuids = {str(ref): vm.uuid for ref, vm in vms}
        for ref, vm in vms:
            label = f"{inv.verb} {vm.name_label or vm.uuid}"
            try:
                try:
                    await _run_task(label, call(xapi, ref, inv), err)
                except XenAPIError as exc:
                    raise _with_uuids(exc, uuids) from exc
            except Exception as exc:
                if len(vms) == 1:
                    raise
                err.write(f"operation failed on {vm.uuid}: {exc}\n")
                failures.append(exc)
            else:
                done.append(vm.uuid)
        if inv.options.json:
            json.dump(done, out)
            out.write("\n")
        if failures:
            raise failures[0]

    return handler


def _verbs(*verbs: Verb) -> dict[str, Verb]:
    return {verb.name: verb for verb in verbs}


VERBS: Final[Mapping[str, Verb]] = _verbs(
    Verb(
        "vm-list",
        "list the VMs (filter on any field: power-state=running)",
        _lister("vm"),
        optn=("params",),
        filters="vm",
    ),
    Verb("host-list", "list the hosts", _lister("host"), optn=("params",), filters="host"),
    Verb("task-list", "list the tasks", _lister("task"), optn=("params",), filters="task"),
    Verb(
        "vm-start",
        "start the selected VM(s)",
        _power(_start, ("on", "paused"), include_control=True),
        optn=("on", "paused"),
        filters="vm",
    ),
    Verb(
        "vm-shutdown",
        "shut the selected VM(s) down (--force: hard)",
        _power(_shutdown, ()),
        filters="vm",
    ),
    Verb(
        "vm-reboot", "reboot the selected VM(s) (--force: hard)", _power(_reboot, ()), filters="vm"
    ),
    Verb("vm-suspend", "suspend the selected VM(s)", _power(_suspend, ()), filters="vm"),
    Verb(
        "vm-resume",
        "resume the selected VM(s)",
        _power(_resume, ("on",)),
        optn=("on",),
        filters="vm",
    ),
    Verb(
        "event-watch",
        "print the changes of the pool (class=vm,host; count=N)",
        event_watch,
        optn=WATCH_PARAMS,
        filters="*",
        checker=check_watch,
    ),
    Verb(
        "vm-import",
        "import VM(s) from an XVA file (sr-uuid=; preserve=true keeps the uuids)",
        vm_import,
        reqd=("filename",),
        optn=("sr-uuid", "preserve"),
        checker=check_import,
    ),
    Verb(
        "vm-export",
        "export the selected VM to an XVA file (compress=gzip|zstd)",
        vm_export,
        reqd=("filename",),
        optn=("compress",),
        filters="vm",
        checker=check_export,
    ),
    Verb(
        "event-wait",
        "wait until an object of the class meets the conditions (key=value, key=/=value)",
        event_wait,
        reqd=("class",),
        filters="*",
        checker=check_wait,
    ),
)
