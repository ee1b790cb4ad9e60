"""The xe view of a Xen-API record: named fields, their text, filters and the printed blocks.

xe (xapi's ``ocaml/xapi-cli-server/records.ml``) does not print datamodel records as they
are: each class has a list of fields with xe's own names (``name-label``, ``power-state``,
``resident-on``), in xe's order, whose values are text (booleans ``true``/``false``,
references as the uuid of the object they name, times as ``20240420T12:00:00Z``, maps as
``key: value; key: value``, sets joined by ``; ``), some read from a linked object (a VM's
``memory-actual`` from its ``VM_metrics``). The fields here are that list for VM, host and
task (the ones the datamodel has; xe's expensive, hidden and guest-metrics fields are left
out), each a ``Field`` whose ``get`` turns a typed record into that text: a ``str``, a
``list[str]`` (a set, filtered with ``name:contains=value``) or a ``dict[str, str]`` (a map,
filtered with ``name:key=value``).

A field that names another object says which class (``needs``), so a listing fetches the
records of only the classes its printed and filtered fields name, once each
(``Tables.load``). ``format_records`` lays records out as xe's ``Cli_printer`` does
(``multi_line_record``); ``format_minimal`` is ``--minimal``.
"""

from __future__ import annotations

import asyncio
import datetime
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aioxend.errors import XenAPIError

__all__ = [
    "CLASSES",
    "DEFAULT_PARAMS",
    "NOT_IN_DATABASE",
    "Field",
    "Filter",
    "Tables",
    "Value",
    "format_minimal",
    "format_records",
    "layout",
    "parse_filter",
    "select_fields",
    "text_of",
]

Value = str | list[str] | dict[str, str]
Getter = Callable[[Any, "Tables"], Value]

#: What xe prints for a reference it cannot resolve (records.ml ``nid``).
NOT_IN_DATABASE: Final = "<not in database>"
_NULL_REFS: Final = frozenset({"", "OpaqueRef:NULL"})


@dataclass(frozen=True)
class Field:
    """One xe field: its name, how to read it, and the marker xe prints after the name.

    ``marker`` is xe's ``print_field`` suffix: ``( RO)``/``( RW)`` for a plain field,
    ``(SRO)``/``(SRW)`` for a set, ``(MRO)``/``(MRW)`` for a map. ``needs`` names the
    classes whose records ``get`` looks into; ``sep`` joins a set's members as text.
    """

    name: str
    get: Getter
    marker: str = "( RO)"
    needs: tuple[str, ...] = ()
    sep: str = "; "

    @property
    def is_map(self) -> bool:
        return self.marker.startswith("(M")

    @property
    def is_set(self) -> bool:
        return self.marker.startswith("(S")

    def text(self, value: Value) -> str:
        """The value as xe prints it in a block and compares it in a plain filter."""
        if isinstance(value, dict):
            return "; ".join(f"{k}: {v}" for k, v in value.items())
        if isinstance(value, list):
            return self.sep.join(value)
        return value


class Tables:
    """Records of the classes fields look into, by reference, fetched once per class."""

    def __init__(self) -> None:
        self._by_class: dict[str, Mapping[str, Any]] = {}

    def add(self, cls: str, records: Mapping[str, Any]) -> None:
        self._by_class[cls] = records

    async def load(self, xapi: Any, classes: Iterable[str]) -> None:
        """Fetch ``get_all_records`` of each class not loaded yet, all at once.

        A class the server lacks (xend has no ``pool``, older servers lack newer
        classes) is an empty table, so its references print as ``<not in database>``,
        as xe prints a reference it cannot find. Another error is raised (the first).
        """
        wanted = [cls for cls in dict.fromkeys(classes) if cls not in self._by_class]
        answers = await asyncio.gather(
            *(getattr(xapi, cls).get_all_records() for cls in wanted), return_exceptions=True
        )
        for cls, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, BaseException):
                missing = ("MESSAGE_METHOD_UNKNOWN", "NOT_IMPLEMENTED")
                if not isinstance(answer, XenAPIError) or answer.code not in missing:
                    raise answer
                answer = {}
            self._by_class[cls] = answer

    def record(self, cls: str, ref: str) -> Any | None:
        return self._by_class.get(cls, {}).get(ref)

    def uuid(self, cls: str, ref: str) -> str:
        """The uuid of the object ``ref`` names (xe's ``get_uuid_from_ref``)."""
        if ref in _NULL_REFS:
            return NOT_IN_DATABASE
        found = self.record(cls, ref)
        return NOT_IN_DATABASE if found is None else str(found.uuid)


def text_of(value: object) -> str:
    """A scalar as xe writes it: ``true``/``false``, ints in decimal, floats with three
    decimals (records.ml ``string_of_float``), enums by their wire value, datetimes as
    ``Date.to_rfc3339`` does (``20240420T12:00:00Z``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return value.strftime("%Y%m%dT%H:%M:%S")
        return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H:%M:%SZ")
    return str(value)


# --------------------------------------------------------------------------- field makers


def _plain(name: str, attr: str, *, rw: bool = False, lower: bool = False) -> Field:
    def get(record: Any, tables: Tables) -> Value:
        text = text_of(getattr(record, attr))
        return text.lower() if lower else text

    return Field(name, get, "( RW)" if rw else "( RO)")


def _strings(name: str, attr: str, *, rw: bool = False, sep: str = "; ") -> Field:
    """A set of scalars (``tags``, ``allowed-operations``); a map's values for
    ``current-operations``, as xe lists only the operations."""

    def get(record: Any, tables: Tables) -> Value:
        raw = getattr(record, attr)
        items = raw.values() if isinstance(raw, Mapping) else raw
        return [text_of(item) for item in items]

    return Field(name, get, "(SRW)" if rw else "(SRO)", sep=sep)


def _map(name: str, attr: str, *, rw: bool = False, shown_as_map: bool = True) -> Field:
    """A ``(string -> string) map``; ``shown_as_map=False`` for the fields xe prints as a
    map's text but marks as plain (``snapshot-info``, ``last-boot-CPU-flags``)."""

    def get(record: Any, tables: Tables) -> Value:
        return {text_of(k): text_of(v) for k, v in getattr(record, attr).items()}

    marker = ("(MRW)" if rw else "(MRO)") if shown_as_map else ("( RW)" if rw else "( RO)")
    return Field(name, get, marker)


def _ref(name: str, attr: str, cls: str, *, rw: bool = False) -> Field:
    def get(record: Any, tables: Tables) -> Value:
        return tables.uuid(cls, str(getattr(record, attr)))

    return Field(name, get, "( RW)" if rw else "( RO)", needs=(cls,))


def _refs(name: str, attr: str, cls: str, *, as_set: bool = False) -> Field:
    """References as uuids; xe marks some such fields as sets (``VBDs``) and others as
    plain text (``snapshots``, ``children``)."""

    def get(record: Any, tables: Tables) -> Value:
        return [tables.uuid(cls, str(ref)) for ref in getattr(record, attr)]

    return Field(name, get, "(SRO)" if as_set else "( RO)", needs=(cls,))


def _linked(name: str, link: str, cls: str, attr: str) -> Field:
    """A field of the object ``link`` names (a VM's ``VM_metrics``), or
    ``<not in database>`` when there is none (records.ml reads it with ``xm ()``)."""

    def get(record: Any, tables: Tables) -> Value:
        linked = tables.record(cls, str(getattr(record, link)))
        if linked is None:
            return NOT_IN_DATABASE
        # A field the datamodel removed (host_metrics.memory_free) is in ``extra`` when
        # the server still sends it.
        value = getattr(linked, attr) if hasattr(linked, attr) else linked.extra.get(attr)
        return NOT_IN_DATABASE if value is None else text_of(value)

    return Field(name, get, needs=(cls,))


# The lists, in xe's order (records.ml vm_record, host_record, task_record).
_VM: Final = (
    _plain("uuid", "uuid"),
    _plain("name-label", "name_label", rw=True),
    _plain("name-description", "name_description", rw=True),
    _plain("user-version", "user_version", rw=True),
    _plain("is-a-template", "is_a_template", rw=True),
    _plain("is-default-template", "is_default_template", rw=True),
    _plain("is-a-snapshot", "is_a_snapshot"),
    _ref("snapshot-of", "snapshot_of", "VM"),
    _refs("snapshots", "snapshots", "VM"),
    _plain("snapshot-time", "snapshot_time"),
    _map("snapshot-info", "snapshot_info", shown_as_map=False),
    _ref("parent", "parent", "VM"),
    _refs("children", "children", "VM"),
    _plain("is-control-domain", "is_control_domain"),
    _plain("power-state", "power_state", lower=True),
    _linked("memory-actual", "metrics", "VM_metrics", "memory_actual"),
    _plain("memory-overhead", "memory_overhead"),
    _plain("memory-static-max", "memory_static_max", rw=True),
    _plain("memory-dynamic-max", "memory_dynamic_max", rw=True),
    _plain("memory-dynamic-min", "memory_dynamic_min", rw=True),
    _plain("memory-static-min", "memory_static_min", rw=True),
    _ref("suspend-VDI-uuid", "suspend_VDI", "VDI", rw=True),
    _ref("suspend-SR-uuid", "suspend_SR", "SR", rw=True),
    _map("VCPUs-params", "VCPUs_params", rw=True),
    _plain("VCPUs-max", "VCPUs_max", rw=True),
    _plain("VCPUs-at-startup", "VCPUs_at_startup", rw=True),
    _plain("actions-after-shutdown", "actions_after_shutdown", rw=True),
    _plain("actions-after-reboot", "actions_after_reboot", rw=True),
    _plain("actions-after-crash", "actions_after_crash", rw=True),
    _refs("console-uuids", "consoles", "console", as_set=True),
    _linked("hvm", "metrics", "VM_metrics", "hvm"),
    _map("platform", "platform", rw=True),
    _strings("allowed-operations", "allowed_operations"),
    _strings("current-operations", "current_operations"),
    _map("blocked-operations", "blocked_operations", rw=True),
    _plain("domain-type", "domain_type", rw=True),
    _plain("HVM-boot-policy", "HVM_boot_policy", rw=True),
    _map("HVM-boot-params", "HVM_boot_params", rw=True),
    _plain("HVM-shadow-multiplier", "HVM_shadow_multiplier", rw=True),
    _plain("PV-kernel", "PV_kernel", rw=True),
    _plain("PV-ramdisk", "PV_ramdisk", rw=True),
    _plain("PV-args", "PV_args", rw=True),
    _plain("PV-legacy-args", "PV_legacy_args", rw=True),
    _plain("PV-bootloader", "PV_bootloader", rw=True),
    _plain("PV-bootloader-args", "PV_bootloader_args", rw=True),
    _map("last-boot-CPU-flags", "last_boot_CPU_flags", shown_as_map=False),
    _ref("resident-on", "resident_on", "host"),
    _ref("affinity", "affinity", "host", rw=True),
    _map("other-config", "other_config", rw=True),
    _plain("dom-id", "domid"),
    _plain("recommendations", "recommendations"),
    _map("xenstore-data", "xenstore_data", rw=True),
    _plain("ha-restart-priority", "ha_restart_priority", rw=True),
    _linked("start-time", "metrics", "VM_metrics", "start_time"),
    _linked("install-time", "metrics", "VM_metrics", "install_time"),
    _linked("VCPUs-number", "metrics", "VM_metrics", "VCPUs_number"),
    _refs("VBDs", "VBDs", "VBD", as_set=True),
    _strings("tags", "tags", rw=True, sep=", "),
    _ref("appliance", "appliance", "VM_appliance", rw=True),
    _plain("is-vmss-snapshot", "is_vmss_snapshot"),
    _plain("start-delay", "start_delay", rw=True),
    _plain("shutdown-delay", "shutdown_delay", rw=True),
    _plain("order", "order", rw=True),
    _plain("version", "version"),
    _plain("generation-id", "generation_id"),
    _plain("hardware-platform-version", "hardware_platform_version"),
    _plain("has-vendor-device", "has_vendor_device", rw=True),
    _plain("requires-reboot", "requires_reboot"),
    _plain("reference-label", "reference_label"),
)

_HOST: Final = (
    _plain("uuid", "uuid"),
    _plain("name-label", "name_label", rw=True),
    _plain("name-description", "name_description", rw=True),
    _strings("allowed-operations", "allowed_operations"),
    _strings("current-operations", "current_operations"),
    _plain("enabled", "enabled"),
    _plain("display", "display"),
    _plain("API-version-major", "API_version_major"),
    _plain("API-version-minor", "API_version_minor"),
    _plain("API-version-vendor", "API_version_vendor"),
    _map("API-version-vendor-implementation", "API_version_vendor_implementation"),
    _map("logging", "logging", rw=True),
    _ref("suspend-image-sr-uuid", "suspend_image_sr", "SR", rw=True),
    _ref("crash-dump-sr-uuid", "crash_dump_sr", "SR", rw=True),
    _map("software-version", "software_version"),
    _strings("capabilities", "capabilities"),
    _map("other-config", "other_config", rw=True),
    _map("cpu_info", "cpu_info"),
    _map("chipset-info", "chipset_info"),
    _plain("hostname", "hostname"),
    _plain("address", "address"),
    _strings("supported-bootloaders", "supported_bootloaders"),
    _plain("memory-overhead", "memory_overhead"),
    _linked("memory-total", "metrics", "host_metrics", "memory_total"),
    _linked("memory-free", "metrics", "host_metrics", "memory_free"),
    _linked("host-metrics-live", "metrics", "host_metrics", "live"),
    _plain("external-auth-type", "external_auth_type"),
    _plain("external-auth-service-name", "external_auth_service_name"),
    _map("external-auth-configuration", "external_auth_configuration"),
    _plain("edition", "edition"),
    _map("license-server", "license_server"),
    _plain("power-on-mode", "power_on_mode"),
    _map("power-on-config", "power_on_config"),
    _ref("local-cache-sr", "local_cache_sr", "SR"),
    _strings("tags", "tags", rw=True, sep=", "),
    _ref("control-domain-uuid", "control_domain", "VM"),
    _refs("resident-vms", "resident_VMs", "VM", as_set=True),
    _strings("features", "features"),
    _plain("iscsi_iqn", "iscsi_iqn", rw=True),
    _plain("multipathing", "multipathing", rw=True),
)

_TASK: Final = (
    _plain("uuid", "uuid"),
    _plain("name-label", "name_label"),
    _plain("name-description", "name_description"),
    _ref("subtask_of", "subtask_of", "task"),
    _refs("subtasks", "subtasks", "task"),
    _ref("resident-on", "resident_on", "host"),
    _plain("status", "status"),
    _plain("progress", "progress"),
    _plain("type", "type"),
    _plain("result", "result"),
    _plain("created", "created"),
    _plain("finished", "finished"),
    # A set in the datamodel that xe joins by "; " but marks as plain (records.ml).
    Field("error_info", lambda record, tables: [str(e) for e in record.error_info]),
    _strings("allowed_operations", "allowed_operations"),
    _strings("current_operations", "current_operations"),
    _map("other-config", "other_config", rw=True),
)

#: xe class name -> (datamodel class, its fields in xe's order).
CLASSES: Final[Mapping[str, tuple[str, tuple[Field, ...]]]] = {
    "vm": ("VM", _VM),
    "host": ("host", _HOST),
    "task": ("task", _TASK),
}

#: The fields ``<class>-list`` prints without ``params=`` (cli_operations.ml gen_cmds).
DEFAULT_PARAMS: Final[Mapping[str, tuple[str, ...]]] = {
    "vm": ("name-label", "uuid", "power-state"),
    "host": ("uuid", "name-label", "name-description"),
    "task": ("uuid", "name-label", "name-description", "status", "progress"),
}

# --------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filter:
    """One ``key=value`` filter of a listing, resolved against a class's fields
    (cli_operations.ml ``get_field_type``): ``field`` compared as text, or a map's
    ``key``, or a set's membership (``contains``)."""

    field: Field
    value: str
    key: str | None = None
    contains: bool = False
    negate: bool = False  # event-wait's key=/=value

    def matches(self, value: Value) -> bool:
        return self._holds(value) != self.negate

    def _holds(self, value: Value) -> bool:
        if self.contains:
            return isinstance(value, list) and self.value in value
        if self.key is not None:
            return isinstance(value, dict) and value.get(self.key) == self.value
        return self.field.text(value) == self.value


def parse_filter(fields: Sequence[Field], name: str, value: str) -> Filter:
    """The filter ``name=value`` means for these fields, or ``KeyError`` (with xe's
    wording, ``Unknown field 'x'``) when it names none.

    Besides a field's name, xe takes ``map:key=value`` and ``set:contains=value``, and the
    older ``map-key=value`` (the longest map name that is a prefix wins, then sets).
    """
    by_name = {f.name: f for f in fields}
    if name in by_name:
        return Filter(by_name[name], value)
    if ":" in name:
        base, _, rest = name.partition(":")
        field = by_name.get(base)
        if field is None:
            raise KeyError(f"Unknown field '{name}'")
        return _collection_filter(field, rest, value, name)
    for field in sorted(fields, key=lambda f: (not f.is_map, -len(f.name))):
        if (field.is_map or field.is_set) and name.startswith(field.name + "-"):
            return _collection_filter(field, name[len(field.name) + 1 :], value, name)
    raise KeyError(f"Unknown field '{name}'")


def _collection_filter(field: Field, rest: str, value: str, name: str) -> Filter:
    if field.is_map:
        return Filter(field, value, key=rest)
    if field.is_set:
        if rest != "contains":
            hint = f"{field.name}:contains=value"
            raise KeyError(f"invalid syntax for set filtering in '{name}' (should be {hint})")
        return Filter(field, value, contains=True)
    raise KeyError(f"Field '{field.name}' is not a set or map")


def select_fields(
    fields: Sequence[Field], params: str | None, default: Sequence[str]
) -> list[Field]:
    """The fields to print, in xe's order (the record's, not the order asked):
    ``params=all`` is every field, ``params=a,b`` those named, none the class's default.
    A name that is no field is a ``KeyError``."""
    if params == "all":
        return list(fields)
    wanted = default if params is None else [p for p in params.split(",") if p]
    known = {f.name for f in fields}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise KeyError(f"Unknown field '{unknown[0]}' in params")
    return [f for f in fields if f.name in wanted]


# --------------------------------------------------------------------------- printing


def format_records(rows: Iterable[Sequence[tuple[Field, Value]]]) -> str:
    """Records as xe prints them (cli_printer.ml ``multi_line_record``): each field's name
    and marker, the first padded on the right and the rest on the left to the longest name
    plus four, then ``: value``; each record followed by two empty lines."""
    return "".join(
        layout([(f"{field.name} {field.marker}", field.text(value)) for field, value in row])
        for row in rows
        if row
    )


def layout(pairs: Sequence[tuple[str, str]]) -> str:
    """One record of ``(name, text)`` pairs as ``multi_line_record`` lays it out."""
    width = 4 + max(len(name) for name, _ in pairs)
    lines = [
        f"{name.ljust(width) if i == 0 else name.rjust(width)}: {text}"
        for i, (name, text) in enumerate(pairs)
    ]
    return "\n".join(lines) + "\n\n\n"


def format_minimal(values: Iterable[str]) -> str:
    """``--minimal``: the values joined by commas, commas and backslashes escaped
    (cli_printer.ml ``escape_commas``), on one line."""
    escaped = (v.replace("\\", "\\\\").replace(",", "\\,") for v in values)
    return ",".join(escaped) + "\n"
