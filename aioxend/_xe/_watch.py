"""``event-watch``: the pool's changes, one line each, from ``xapi.events``.

xe has ``event-wait`` (wait for one condition, ``cli_operations.ml`` ``event_wait``), not
a watch; this verb streams what ``xapi.events`` yields: first every current object of
the classes as ``add`` (the empty token's answer), then each ``add``/``mod``/``del``::

    mod vm 5a921187-19c7-4df4-8f4f-f31e78de5857 name-label=vm1 power-state=halted

The line is the operation, the class (xe's lower-case name), the object's uuid (a
``del`` has no record, so the uuid is the one seen before, else the reference) and,
for vm, host and task, the class's default ``-list`` fields but the uuid (or those of
``params=``), values quoted as a shell would need them. Field filters work as in the
``-list`` verbs (``power-state=running``), on the record after the change; a ``del``
passes when its object passed before. ``--json`` writes one JSON object per line.
Events lost on the way are never passed over in silence: the ``Resync`` the stream
yields is a line of its own. ``count=N`` stops after N lines (else Ctrl-C: exit 130);
``token=`` resumes where an earlier watch's ``"token"`` (in ``--json``) left off.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

from aioxend._xe._args import Invocation
from aioxend._xe._fields import (
    CLASSES,
    DEFAULT_PARAMS,
    Field,
    Filter,
    Tables,
    Value,
    parse_filter,
    select_fields,
    text_of,
)
from aioxend.cli import UsageError
from aioxend.xenapi import Event, Resync

if TYPE_CHECKING:
    from aioxend.xenapi import XenAPIClient

__all__ = ["WATCH_PARAMS", "check_wait", "check_watch", "event_wait", "event_watch"]

#: The parameters of event-watch that are not field filters.
WATCH_PARAMS = ("class", "count", "token", "params")
_VERB = "event-watch"


def _count(params: Mapping[str, str]) -> int | None:
    text = params.get("count")
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{_VERB}: count must be a positive number, not {text!r}")
    return int(text)


def _classes(params: Mapping[str, str]) -> list[str]:
    """The ``class=`` list: datamodel classes in any case, ``*``, or ``class/ref`` for
    one object (as ``event.from`` takes them); a class the datamodel lacks is refused
    here, since a server may silently never send its events."""
    from aioxend.xenapi._generated import CLASSES as DATAMODEL

    known = {name.lower() for name in DATAMODEL}
    names = [c for c in params.get("class", "*").split(",") if c]
    if not names:
        raise UsageError(f"{_VERB}: class= names no class")
    for name in names:
        cls = name.partition("/")[0]
        if cls != "*" and cls.lower() not in known:
            raise UsageError(f"{_VERB}: unknown class '{cls}' in class=")
    return names


class _Shown:
    """What one watched xe class prints and filters, with the uuids seen so far."""

    def __init__(self, xe_class: str, fields: Sequence[Field], filters: Sequence[Filter]) -> None:
        self.xe_class = xe_class
        self.fields = fields
        self.filters = filters
        self.passed: set[str] = set()


def _plan(params: Mapping[str, str]) -> dict[str, _Shown]:
    """The fields and filters of each watched class xe knows (vm, host, task)."""
    filter_params = {k: v for k, v in params.items() if k not in WATCH_PARAMS}
    named = {c.partition("/")[0].lower() for c in _classes(params)}
    known = [c for c in CLASSES if c in named or "*" in named]
    if filter_params and len(known) != 1:
        raise UsageError(f"{_VERB}: field filters need exactly one of class=vm, host or task")
    plan: dict[str, _Shown] = {}
    for xe_class in known:
        fields = CLASSES[xe_class][1]
        try:
            default = [n for n in DEFAULT_PARAMS[xe_class] if n != "uuid"]
            shown = select_fields(fields, params.get("params"), default)
            filters = [parse_filter(fields, k, v) for k, v in filter_params.items()]
        except KeyError as exc:
            raise UsageError(f"{_VERB}: {exc.args[0]}") from None
        plan[xe_class] = _Shown(xe_class, [f for f in shown if f.name != "uuid"], filters)
    return plan


def check_watch(params: Mapping[str, str]) -> None:
    """Refuse bad event-watch parameters before anything is sent."""
    _count(params)
    _plan(params)


async def event_watch(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
    """The ``event-watch`` verb (see the module's docstring)."""
    count = _count(inv.params)
    plan = _plan(inv.params)
    tables = Tables()
    needs = [f for s in plan.values() for f in (*s.fields, *(x.field for x in s.filters))]
    await tables.load(xapi, [c for f in needs for c in f.needs])
    uuids: dict[str, str] = {}
    written = 0
    classes = _classes(inv.params)
    async with xapi.events(classes, token=inv.params.get("token", "")) as stream:
        async for item in stream:
            line = _line(item, plan, tables, uuids, as_json=inv.options.json, token=stream.token)
            if line is None:
                continue
            out.write(line + "\n")
            out.flush()
            written += 1
            if count is not None and written >= count:
                return


def _line(
    item: Event | Resync,
    plan: dict[str, _Shown],
    tables: Tables,
    uuids: dict[str, str],
    *,
    as_json: bool,
    token: str,
) -> str | None:
    """The line for one item of the stream, or ``None`` when the filters drop it."""
    if isinstance(item, Resync):
        objects = sum(len(records) for records in item.records.values())
        for records in item.records.values():
            for ref, record in records.items():
                uuids[ref] = str(getattr(record, "uuid", ref))
        if as_json:
            return json.dumps({"resync": item.reason, "objects": objects, "token": item.token})
        return f"resync ({item.reason}): {objects} objects read afresh"
    xe_class = item.cls.lower()
    snapshot = item.snapshot
    if snapshot is not None and hasattr(snapshot, "uuid"):
        uuids[item.ref] = str(snapshot.uuid)
    uuid = uuids.get(item.ref, item.ref)
    if item.operation == "del":
        uuids.pop(item.ref, None)
    shown = plan.get(xe_class)
    values: list[tuple[Field, Value]] = []
    if shown is not None:
        if item.operation == "del":
            if shown.filters and item.ref not in shown.passed:
                return None
            shown.passed.discard(item.ref)
        elif snapshot is not None:
            if not all(x.matches(x.field.get(snapshot, tables)) for x in shown.filters):
                shown.passed.discard(item.ref)
                return None
            shown.passed.add(item.ref)
            values = [(f, f.get(snapshot, tables)) for f in shown.fields]
    if as_json:
        report: dict[str, object] = {
            "id": item.id,
            "timestamp": text_of(item.timestamp),
            "class": xe_class,
            "operation": item.operation,
            "ref": item.ref,
            "uuid": uuid,
            "token": token,
        }
        report.update({f.name: value for f, value in values})
        return json.dumps(report)
    fields = " ".join(f"{f.name}={shlex.quote(f.text(v))}" for f, v in values)
    return f"{item.operation} {xe_class} {uuid}" + (f" {fields}" if fields else "")


# --------------------------------------------------------------------------- event-wait


def _wait_filters(params: Mapping[str, str]) -> tuple[str, list[Filter]]:
    """``event-wait``'s class and conditions: ``key=value``, or ``key=/=value`` for
    "not equal" (cli_operations.ml ``event_wait``)."""
    xe_class = params["class"].lower()
    if xe_class not in CLASSES:
        raise UsageError(f"event-wait: class must be one of {', '.join(CLASSES)}, not {xe_class!r}")
    fields = CLASSES[xe_class][1]
    filters = []
    for key, value in params.items():
        if key == "class":
            continue
        negate = value.startswith("/=")
        try:
            found = parse_filter(fields, key, value[2:] if negate else value)
        except KeyError as exc:
            raise UsageError(f"event-wait: {exc.args[0]}") from None
        filters.append(dataclasses.replace(found, negate=negate))
    return xe_class, filters


def check_wait(params: Mapping[str, str]) -> None:
    """Refuse bad event-wait parameters before anything is sent."""
    _wait_filters(params)


async def event_wait(xapi: XenAPIClient, inv: Invocation, out: TextIO, err: TextIO) -> None:
    """``event-wait class=vm name-label=vm1 power-state=running``: return once an object
    of the class meets every condition, now or after a change (xe's ``event_wait_gen``
    looks at every record first, then at each event); a ``Resync`` is looked at whole."""
    xe_class, filters = _wait_filters(inv.params)
    cls = CLASSES[xe_class][0]
    tables = Tables()
    await tables.load(xapi, [c for x in filters for c in x.field.needs])

    def met(record: object) -> bool:
        return record is not None and all(x.matches(x.field.get(record, tables)) for x in filters)

    async with xapi.events([cls]) as stream:
        async for item in stream:
            if isinstance(item, Resync):
                if any(met(r) for r in item.records.get(cls, {}).values()):
                    return
            elif item.operation != "del" and met(item.snapshot):
                return
