"""One table of every xend operation the client knows, for both protocols.

Each ``Op`` says, for one Python-level operation:

* how XML-RPC carries it: the method name and the order of its arguments after ``dom``
  (Xen 4.4 ``tools/python/xen/xend/server/XMLRPCServer.py`` ``XMLRPCServer.run``,
  ``tools/python/xen/xend/server/SrvDomain.py`` ``op_*``);
* how the legacy SXP/HTTP protocol carries it, or that it cannot (``sxp=None``): GET or
  POST, which resource, which ``op=`` and which form fields;
* whether it only reads (then a dead kept-alive connection may be retried once);
* how its answer becomes a typed value.

The backends turn an answer into one neutral shape before conversion: XML-RPC values go
through ``aioxend.sxp.from_xmlrpc`` (numbers become atoms, structs become pair lists)
and SXP bodies are parsed, so each converter below reads a single shape and a caller gets
the same result over either protocol. A converter is given the call's arguments too, so
e.g. ``domain(full=False)`` drops device entries that the legacy server always sends.
Integers are read by ``aioxend.sxp.as_int``, the one integer rule for xend's numbers.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from aioxend import models
from aioxend.errors import ProtocolError
from aioxend.protocols._results import (
    Credit2Params,
    CreditParams,
    DeviceRef,
    PciDevice,
    SedfParams,
)
from aioxend.sxp import Expr, as_int
from aioxend.sxp import as_bool as sxp_as_bool

__all__ = [
    "OPS",
    "Args",
    "Config",
    "Dom",
    "Op",
    "SxpSpec",
    "as_bool",
    "pairs",
]

Dom = str | int | uuid.UUID
Args = Mapping[str, object]
Converter = Callable[[object, Args], object]


@dataclass(frozen=True)
class Config:
    """An S-expression argument (a ``(vm ...)`` config, a device): sent as nested
    XML-RPC arrays over XML-RPC and as SXP text in a legacy form field."""

    expr: list[Any]


@dataclass(frozen=True)
class SxpSpec:
    """How the legacy protocol carries an operation.

    ``where`` picks the resource: ``domain`` is ``/xend/domain/<dom>``, ``domains`` the
    directory ``/xend/domain``, ``node`` ``/xend/node``, and ``dmesg``/``log`` below it.
    ``fields`` maps form fields (query parameters for GET) to argument names, each with
    an optional encoder; ``special`` means the backend runs its own sequence of requests.
    """

    verb: Literal["GET", "POST"]
    where: Literal["domain", "domains", "node", "dmesg", "log"]
    op: str | None = None
    fields: tuple[tuple[str, str, Callable[[object], str] | None], ...] = ()
    special: bool = False
    text: bool = False


@dataclass(frozen=True)
class Op:
    """One operation: its Python name, both wire forms, and its result conversion."""

    name: str
    method: str
    xml_args: tuple[str, ...] = ()
    has_dom: bool = True
    sxp: SxpSpec | None = None
    result: Converter = field(default=lambda value, args: None)
    read: bool = False
    # Returns the name of an argument combination the legacy protocol cannot express.
    sxp_refuses: Callable[[Args], str | None] | None = None
    # For a result that is a list of records (``domains``): the converter of one item,
    # which the client applies to a long list in slices, yielding to the loop between.
    each: Converter | None = None
    # XML-RPC arguments after ``xml_args`` sent only when given (not None), as xm sent
    # them: an older xend may not take them (pause's ``state`` is xend 4.x's).
    optional: tuple[str, ...] = ()


# -- converters ------------------------------------------------------------------------


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _integer(value: object) -> int:
    """``sxp.as_int`` of an atom of xend's answer; no answer (``None``) is no integer."""
    if value is None:
        raise ProtocolError("expected an integer in xend's answer, got None")
    return as_int(cast(Expr, value))


def as_bool(value: object) -> bool:
    """A flag of xend's answer by ``aioxend.sxp.as_bool``'s rule (``True``, ``1``,
    ``yes``, any non-zero integer...); an empty answer is false."""
    if value == "":
        return False
    if isinstance(value, str):
        return sxp_as_bool(value)
    raise ProtocolError(f"expected a flag in xend's answer, got {_describe(value)}")


_DICT_ITEM = re.compile(r"""['"]([^'"]*)['"]\s*:\s*('[^']*'|"[^"]*"|[^,}]+)""")


def pairs(value: object) -> dict[str, object]:
    """Key/value pairs from a struct, a ``[[key, value], ...]`` list (with or without a
    head tag), or the text of a Python dict, which is how xend's SXP server prints one."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, str):
        found = {k: v.strip().strip("'\"") for k, v in _DICT_ITEM.findall(value)}
        if not found and value.strip() not in ("{}", ""):
            raise ProtocolError(
                f"expected key/value pairs in xend's answer, got {_describe(value)}"
            )
        return dict(found)
    if isinstance(value, list):
        out: dict[str, object] = {}
        for item in value:
            if isinstance(item, list) and len(item) >= 2 and isinstance(item[0], str):
                out.setdefault(item[0], item[1])
        return out
    raise ProtocolError(f"expected key/value pairs in xend's answer, got {_describe(value)}")


def _need(found: Mapping[str, object], key: str, what: str) -> object:
    try:
        return found[key]
    except KeyError:
        raise ProtocolError(f"{what} answer lacks {key!r}: {_describe(dict(found))}") from None


def _none(value: object, args: Args) -> None:
    return None


def _strip(expr: object, keys: tuple[str, ...]) -> object:
    if not isinstance(expr, list):
        return expr
    return [item for item in expr if not (isinstance(item, list) and item and item[0] in keys)]


def _domain(value: object, args: Args) -> models.DomainInfo:
    if not args.get("full", True):
        value = _strip(value, ("device",))
    return models.DomainInfo.from_sxp(value)


def _domains(value: object, args: Args) -> list[models.DomainInfo]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"expected a list of domains, got {_describe(value)}")
    return [_domain(item, args) for item in value]


def _names(value: object, args: Args) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"expected a list of domain names, got {_describe(value)}")
    return [str(v) for v in value]


def _node(value: object, args: Args) -> models.NodeInfo:
    if not args.get("show_numa", True):
        value = _strip(value, ("cpu_topology", "numa_info"))
    return models.NodeInfo.from_sxp(value)


def _vcpus(value: object, args: Args) -> list[models.VcpuInfo]:
    return models.VcpuInfo.list_from_sxp(value)


def _text(value: object, args: Args) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProtocolError(f"expected text in xend's answer, got {_describe(value)}")
    return value


def _int(value: object, args: Args) -> int:
    return _integer(value)


def _opt_int(value: object, args: Args) -> int | None:
    if value is None or value == "None" or value == "":
        return None
    return _integer(value)


def _bool(value: object, args: Args) -> bool:
    return as_bool(value)


def _opt_bool(value: object, args: Args) -> bool | None:
    return None if value is None or value == "None" else as_bool(value)


def _opt_power_state(value: object, args: Args) -> models.PowerState | None:
    """``pause(state=True)``: the domain's power state before the pause (xend 4.x)."""
    if not args.get("state"):
        return None
    number = _integer(value)
    try:
        return models.PowerState(number)
    except ValueError:
        raise ProtocolError(f"expected a power state 0-6, got {number}") from None


def _expr(value: object, args: Args) -> object:
    return [] if value is None else value


def _credit(value: object, args: Args) -> CreditParams:
    found = pairs(value)
    return CreditParams(
        weight=_integer(_need(found, "weight", "sched_credit_get")),
        cap=_integer(_need(found, "cap", "sched_credit_get")),
    )


def _credit2(value: object, args: Args) -> Credit2Params:
    found = pairs(value)
    return Credit2Params(weight=_integer(_need(found, "weight", "sched_credit2_get")))


def _sedf(value: object, args: Args) -> SedfParams:
    found = pairs(value)
    return SedfParams(
        **{
            key: _integer(_need(found, key, "sched_sedf_get"))
            for key in ("period", "slice", "latency", "extratime", "weight")
        }
    )


def _flatten(value: object) -> list[object]:
    out: list[object] = []
    todo = [value]
    while todo:
        item = todo.pop(0)
        if isinstance(item, list):
            todo[:0] = item
        else:
            out.append(item)
    return out


def _device_ref(value: object, args: Args) -> DeviceRef:
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        raise ProtocolError(f"expected a device reference, got {_describe(value)}")
    atoms = _flatten(value[1:])
    found: dict[str, object] = {}
    for key, item in itertools.pairwise(atoms):
        if isinstance(key, str) and key in ("dom", "id", "devid") and key not in found:
            found[key] = item
    devid = found.get("id", found.get("devid"))
    devid_value: int | str | None
    try:
        devid_value = None if devid is None else _integer(devid)
    except ProtocolError:
        devid_value = str(devid)
    domid = found.get("dom")
    return DeviceRef(value[0], None if domid is None else _integer(domid), devid_value)


def _pci(value: object, args: Args) -> list[PciDevice]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProtocolError(f"expected a list of PCI devices, got {_describe(value)}")
    out = []
    for item in value:
        found = pairs(item)
        out.append(
            PciDevice(*(str(found.get(key, "")) for key in ("domain", "bus", "slot", "func")))
        )
    return out


def _atoms(value: object, args: Args) -> list[str]:
    """A list of atoms (labels); xend's dummy XSM module answers ``""`` for none."""
    if value is None or value == "":
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"expected a list of labels, got {_describe(value)}")
    return [str(v) for v in value]


def _labeled(value: object, args: Args) -> dict[str, list[str]]:
    """``get_labeled_resources``: each resource with its ``[type, policy, label]``."""
    return {key: _atoms(item, args) for key, item in pairs(value).items()}


def _two(value: object, what: str) -> tuple[object, object]:
    if not isinstance(value, list) or len(value) != 2:
        raise ProtocolError(f"expected a pair in xend's {what} answer, got {_describe(value)}")
    return value[0], value[1]


def _rc_errors(value: object, args: Args) -> tuple[int, bytes]:
    """``(rc, base64 of the error text)``, as the XSM policy operations answer."""
    rc, errors = _two(value, "policy")
    try:
        return _integer(rc), base64.b64decode(str(errors), validate=True)
    except binascii.Error:
        raise ProtocolError(f"expected base64 error text, got {_describe(errors)}") from None


def _policy(value: object, args: Args) -> tuple[str, int]:
    """``get_policy``: the policy's XML (empty when none is loaded) and its flags."""
    xml, flags = _two(value, "get_policy")
    return _text(xml, args), _integer(flags)


def _int_pair(value: object, args: Args) -> tuple[int, int]:
    """``set_domain_label``: the result code and the domain's new ssidref."""
    rc, ssidref = _two(value, "set_domain_label")
    return _integer(rc), _integer(ssidref)


def _signatures(value: object, args: Args) -> list[list[str]] | None:
    """``system.methodSignature``: each signature as type names (return type first),
    or ``None`` for xend's ``signatures not supported``."""
    if isinstance(value, str):
        return None
    if not isinstance(value, list) or not all(isinstance(sig, list) for sig in value):
        raise ProtocolError(f"expected method signatures, got {_describe(value)}")
    return [_atoms(sig, args) for sig in value]


# -- form-field encoders ---------------------------------------------------------------


def _char_code(value: object) -> str:
    """The legacy ``sysrq`` op wants the key's numeric code (``int(key)`` in xend)."""
    if isinstance(value, str) and len(value) == 1:
        return str(ord(value))
    return str(value)


def _flag(name: str) -> Callable[[Args], str | None]:
    def refuses(args: Args) -> str | None:
        return f"{name}=True" if args.get(name) else None

    return refuses


# -- the table -------------------------------------------------------------------------

_D = "xend.domain."
_X = "xend.security."


def _post(
    op: str, *fields: str | tuple[str, str] | tuple[str, str, Callable[[object], str]]
) -> SxpSpec:
    spec: list[tuple[str, str, Callable[[object], str] | None]] = []
    for item in fields:
        if isinstance(item, str):
            spec.append((item, item, None))
        elif len(item) == 2:
            spec.append((item[0], item[1], None))
        else:
            spec.append((item[0], item[1], item[2]))
    return SxpSpec("POST", "domain", op, tuple(spec))


def _xsm(
    name: str,
    args: tuple[str, ...],
    result: Converter,
    *,
    read: bool = False,
    has_dom: bool = False,
    optional: tuple[str, ...] = (),
) -> Op:
    """``xend.security.<name>`` as ``security_<name>``: XML-RPC only, as every XSM method."""
    return Op(
        f"security_{name}",
        _X + name,
        args,
        has_dom=has_dom,
        result=result,
        read=read,
        optional=optional,
    )


_TABLE: list[Op] = [
    # listing and records
    Op(
        "domains",
        "xend.domains_with_state",
        ("detail", "state", "full"),
        has_dom=False,
        sxp=SxpSpec("GET", "domains", special=True),
        result=_domains,
        read=True,
        each=_domain,
    ),
    Op(
        "domain_names",
        "xend.domains_with_state",
        ("detail", "state", "full"),
        has_dom=False,
        sxp=SxpSpec("GET", "domains", fields=(("state", "state", None),)),
        result=_names,
        read=True,
    ),
    Op("domain", "xend.domain", ("full",), sxp=SxpSpec("GET", "domain"), result=_domain, read=True),
    # lifecycle
    Op(
        "create",
        _D + "create",
        ("config",),
        has_dom=False,
        sxp=SxpSpec("POST", "domains", "create", (("config", "config", None),)),
        result=_domain,
    ),
    Op(
        "new",
        _D + "new",
        ("config",),
        has_dom=False,
        sxp=SxpSpec("POST", "domains", "new", (("config", "config", None),)),
    ),
    Op(
        "start",
        _D + "start",
        ("paused",),
        sxp=_post("start", "paused"),
        sxp_refuses=_flag("paused"),
    ),
    Op("delete", _D + "delete", sxp=_post("delete")),
    Op(
        "pause",
        _D + "pause",
        sxp=_post("pause"),
        optional=("state",),
        result=_opt_power_state,
        sxp_refuses=_flag("state"),
    ),
    Op("unpause", _D + "unpause", sxp=_post("unpause")),
    Op("shutdown", _D + "shutdown", ("reason",), sxp=_post("shutdown", "reason")),
    Op("reboot", _D + "shutdown", ("reason",), sxp=_post("shutdown", "reason")),
    Op("destroy", _D + "destroy", sxp=_post("destroy")),
    Op("reset", _D + "reset", sxp=_post("reset")),
    Op("suspend", _D + "suspend"),
    Op("resume", _D + "resume", ("paused",)),
    Op(
        "save",
        _D + "save",
        ("path", "checkpoint"),
        sxp=_post("save", ("file", "path")),
        sxp_refuses=_flag("checkpoint"),
    ),
    Op(
        "restore",
        _D + "restore",
        ("path", "paused"),
        has_dom=False,
        sxp=SxpSpec("POST", "domains", "restore", (("file", "path", None),), special=True),
        result=_domain,
        sxp_refuses=_flag("paused"),
    ),
    Op(
        "dump",
        _D + "dump",
        ("path", "live", "crash", "reset"),
        sxp=_post("dump", ("file", "path"), "live", "crash", "reset"),
    ),
    Op(
        "migrate",
        _D + "migrate",
        ("destination", "live", "port", "node", "ssl", "change_home_server"),
        sxp=_post("migrate", "destination", "live", "port", "node", "ssl", "change_home_server"),
    ),
    Op("rename", _D + "setName", ("new_name",), sxp=_post("rename", ("name", "new_name"))),
    Op("wait_for_devices", _D + "waitForDevices", sxp=_post("wait_for_devices")),
    # resources
    Op(
        "set_memory",
        _D + "setMemoryTarget",
        ("mib",),
        sxp=_post("mem_target_set", ("target", "mib")),
    ),
    Op("set_maxmem", _D + "maxmem_set", ("mib",), sxp=_post("maxmem_set", ("memory", "mib"))),
    Op("set_vcpus", _D + "setVCpuCount", ("count",), sxp=_post("set_vcpus", ("vcpus", "count"))),
    Op("pin_vcpu", _D + "pincpu", ("vcpu", "cpumap"), sxp=_post("pincpu", "vcpu", "cpumap")),
    Op(
        "vcpu_info",
        _D + "getVCPUInfo",
        sxp=SxpSpec("GET", "domain", "vcpuinfo"),
        result=_vcpus,
        read=True,
    ),
    Op(
        "sched_credit_get",
        _D + "sched_credit_get",
        sxp=_post("domain_sched_credit_get"),
        result=_credit,
        read=True,
    ),
    Op(
        "sched_credit_set",
        _D + "sched_credit_set",
        ("weight", "cap"),
        sxp=_post("domain_sched_credit_set", "weight", "cap"),
    ),
    Op(
        "sched_credit2_get",
        _D + "sched_credit2_get",
        sxp=_post("domain_sched_credit2_get"),
        result=_credit2,
        read=True,
    ),
    Op(
        "sched_credit2_set",
        _D + "sched_credit2_set",
        ("weight",),
        sxp=_post("domain_sched_credit2_set", "weight"),
    ),
    Op("sched_sedf_get", _D + "cpu_sedf_get", sxp=_post("cpu_sedf_get"), result=_sedf, read=True),
    Op(
        "sched_sedf_set",
        _D + "cpu_sedf_set",
        ("period", "slice", "latency", "extratime", "weight"),
        sxp=_post("cpu_sedf_set", "period", "slice", "latency", "extratime", "weight"),
    ),
    # devices
    Op(
        "device_create",
        _D + "device_create",
        ("config",),
        sxp=_post("device_create", "config"),
        result=_device_ref,
    ),
    Op(
        "device_configure",
        _D + "device_configure",
        ("config", "devid"),
        sxp=_post("device_configure", "config", ("dev", "devid")),
        result=_bool,
    ),
    Op(
        "device_destroy",
        _D + "destroyDevice",
        ("dev_class", "devid", "force", "rm_cfg"),
        sxp=_post("device_destroy", ("type", "dev_class"), ("dev", "devid"), "force", "rm_cfg"),
    ),
    Op(
        "device_sxprs",
        _D + "getDeviceSxprs",
        ("dev_class",),
        sxp=_post("devices", ("type", "dev_class")),
        result=_expr,
        read=True,
    ),
    Op("block_device_class", _D + "getBlockDeviceClass", ("devid",), result=_text, read=True),
    Op("restart_count", _D + "getRestartCount", result=_opt_int, read=True),
    # signals and flags
    Op("send_sysrq", _D + "send_sysrq", ("key",), sxp=_post("sysrq", ("key", "key", _char_code))),
    Op("send_trigger", _D + "send_trigger", ("trigger", "vcpu")),
    Op("set_pause_flag", _D + "setpauseflag", ("flag",)),
    # xend answers None, not a fault, for an unknown domain; the client raises for it.
    Op("get_pause_flag", _D + "getpauseflag", result=_opt_bool, read=True),
    Op("shadow_mem_get", _D + "shadow_mem_get", result=_int, read=True),
    Op("shadow_mem_set", _D + "shadow_mem_set", ("mib",)),
    Op("shadow_control", _D + "shadow_control", ("op",), result=_int),
    Op("usb_add", _D + "usb_add", ("dev_id",)),
    Op("usb_del", _D + "usb_del", ("dev_id",)),
    Op("ioport_range_enable", _D + "ioport_range_enable", ("first", "last")),
    Op("ioport_range_disable", _D + "ioport_range_disable", ("first", "last")),
    # the node
    Op(
        "node_info",
        "xend.node.info",
        ("show_numa",),
        has_dom=False,
        sxp=SxpSpec("GET", "node"),
        result=_node,
        read=True,
    ),
    Op(
        "node_log",
        "xend.node.log",
        has_dom=False,
        sxp=SxpSpec("GET", "log", text=True),
        result=_text,
        read=True,
    ),
    Op(
        "dmesg",
        "xend.node.dmesg.info",
        has_dom=False,
        sxp=SxpSpec("GET", "dmesg", text=True),
        result=_text,
        read=True,
    ),
    Op(
        "dmesg_clear",
        "xend.node.dmesg.clear",
        has_dom=False,
        sxp=SxpSpec("POST", "dmesg", "clear", special=True, text=True),
        result=_text,
    ),
    Op("pci_info", "xend.node.pciinfo", has_dom=False, result=_pci, read=True),
    Op("send_debug_keys", "xend.node.send_debug_keys", ("keys",), has_dom=False),
    Op(
        "tmem_list",
        "xend.node.tmem_list",
        ("cli_id", "use_long"),
        has_dom=False,
        result=_text,
        read=True,
    ),
    Op("tmem_freeze", "xend.node.tmem_freeze", ("cli_id",), has_dom=False, result=_int),
    Op("tmem_thaw", "xend.node.tmem_thaw", ("cli_id",), has_dom=False, result=_int),
    Op("tmem_flush", "xend.node.tmem_flush", ("cli_id", "pages"), has_dom=False, result=_int),
    Op("tmem_destroy", "xend.node.tmem_destroy", ("cli_id",), has_dom=False, result=_int),
    Op(
        "tmem_set_weight",
        "xend.node.tmem_set_weight",
        ("cli_id", "value"),
        has_dom=False,
        result=_int,
    ),
    Op("tmem_set_cap", "xend.node.tmem_set_cap", ("cli_id", "value"), has_dom=False, result=_int),
    Op(
        "tmem_set_compress",
        "xend.node.tmem_set_compress",
        ("cli_id", "value"),
        has_dom=False,
        result=_int,
    ),
    Op(
        "tmem_query_freeable_mb",
        "xend.node.tmem_query_freeable_mb",
        has_dom=False,
        result=_int,
        read=True,
    ),
    Op(
        "tmem_shared_auth",
        "xend.node.tmem_shared_auth",
        ("cli_id", "uuid_str", "auth"),
        has_dom=False,
        result=_int,
    ),
    # CPU pools
    Op("cpu_pool_create", "xend.cpu_pool.create", ("config",), has_dom=False),
    Op("cpu_pool_new", "xend.cpu_pool.new", ("config",), has_dom=False, result=_text),
    Op("cpu_pool_start", "xend.cpu_pool.start", ("pool",), has_dom=False),
    Op("cpu_pool_list", "xend.cpu_pool.list", ("names",), has_dom=False, result=_expr, read=True),
    Op("cpu_pool_destroy", "xend.cpu_pool.destroy", ("pool",), has_dom=False),
    Op("cpu_pool_delete", "xend.cpu_pool.delete", ("pool",), has_dom=False),
    Op("cpu_pool_cpu_add", "xend.cpu_pool.cpu_add", ("pool", "cpu"), has_dom=False),
    Op("cpu_pool_cpu_remove", "xend.cpu_pool.cpu_remove", ("pool", "cpu"), has_dom=False),
    Op("cpu_pool_migrate", "xend.cpu_pool.migrate", ("domain", "pool"), has_dom=False),
    # security (3.2+): the active XSM module's xmlrpc_exports (util/xsm/{dummy,acm,flask})
    _xsm(
        "set_resource_label",
        ("resource", "policy_type", "policy", "label"),
        _int,
        optional=("old_label",),
    ),
    _xsm("get_resource_label", ("resource",), _atoms, read=True),
    _xsm("list_labels", ("policy", "label_type"), _atoms, read=True),
    _xsm("get_labeled_resources", (), _labeled, read=True),
    _xsm("set_policy", ("policy_type", "policy", "flags", "overwrite"), _rc_errors),
    _xsm("reset_policy", (), _rc_errors),
    _xsm("get_policy", (), _policy, read=True),
    _xsm("activate_policy", ("flags",), _int),
    _xsm("rm_bootpolicy", (), _int),
    _xsm("get_xstype", (), _int, read=True),
    _xsm("get_domain_label", (), _text, read=True, has_dom=True),
    _xsm("set_domain_label", ("label", "old_label"), _int_pair, has_dom=True),
    _xsm("on", (), _bool, read=True),
    _xsm("getenforce", (), _int, read=True),
    _xsm("setenforce", ("mode",), _int),
    # introspection (SimpleXMLRPCServer's, registered by XMLRPCServer.run)
    Op("list_methods", "system.listMethods", has_dom=False, result=_atoms, read=True),
    Op(
        "method_help",
        "system.methodHelp",
        ("method",),
        has_dom=False,
        result=_text,
        read=True,
    ),
    Op(
        "method_signature",
        "system.methodSignature",
        ("method",),
        has_dom=False,
        result=_signatures,
        read=True,
    ),
]

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
"""Every operation by its Python name."""

assert len(OPS) == len(_TABLE), "duplicate operation name"
