"""Typed records from either protocol: DomainInfo, NodeInfo, VcpuInfo, Device, states."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import uuid
import xmlrpc.client
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aioxend.xmlrpc
from aioxend import models, sxp
from aioxend.errors import ProtocolError
from aioxend.models import Device, DomainInfo, DomainState, NodeInfo, PowerState, VcpuInfo
from aioxend.sxp import SXPValueError, dumps, from_xmlrpc, loads

# A record as xend 4.4 returns it over XML-RPC (xend/XendConfig.py to_sxp), Python values.
RECORD_44: list[Any] = [
    "domain",
    ["domid", 7],
    ["cpu_weight", 256],
    ["cpu_cap", 0],
    ["uuid", "4f77abd2-3019-58e8-3bab-6fbf2118f880"],
    ["vcpus", 4],
    ["name", "web01"],
    ["on_poweroff", "destroy"],
    ["on_reboot", "restart"],
    ["on_crash", "preserve"],
    ["bootloader", "/usr/bin/pygrub"],
    ["bootloader_args", ""],
    ["maxmem", 2048],
    ["memory", 1024],
    ["shadow_memory", 0],
    ["start_time", 1233108538.42],
    ["cpu_time", 907.159661051],
    ["online_vcpus", 2],
    ["some_future_key", ["nested", "value"]],
    [
        "image",
        [
            "linux",
            ["kernel", "/boot/vmlinuz-xen"],
            ["ramdisk", "/boot/initrd-xen"],
            ["args", "ro root=/dev/xvda1 console=hvc0"],
        ],
    ],
    ["status", 2],
    ["state", "r-----"],
    ["store_mfn", 262142],
    [
        "device",
        [
            "vbd",
            ["uname", "phy:/dev/vg0/web01"],
            ["dev", "xvda"],
            ["mode", "w"],
            ["bootable", 1],
        ],
    ],
    [
        "device",
        ["vif", ["mac", "00:16:3e:00:00:07"], ["bridge", "xenbr0"], ["script", "vif-bridge"]],
    ],
]


def over_xmlrpc(value: object) -> object:
    body = xmlrpc.client.dumps((cast(Any, value),), methodresponse=True, allow_none=True)
    params, _ = aioxend.xmlrpc.loads(body.encode())
    return from_xmlrpc(params[0])


def test_domain_record_fields() -> None:
    info = DomainInfo.from_sxp(from_xmlrpc(RECORD_44))
    assert info.name == "web01"
    assert info.domid == 7
    assert info.uuid == uuid.UUID("4f77abd2-3019-58e8-3bab-6fbf2118f880")
    assert (info.memory, info.maxmem, info.vcpus, info.online_vcpus) == (1024, 2048, 4, 2)
    assert info.state == DomainState.RUNNING
    assert info.state_string == "r-----"
    assert info.state_name == "running"
    assert info.power_state is PowerState.RUNNING
    assert info.cpu_time == pytest.approx(907.159661051)
    assert info.start_time == pytest.approx(1233108538.42)
    assert (info.image, info.kernel, info.ramdisk) == (
        "linux",
        "/boot/vmlinuz-xen",
        "/boot/initrd-xen",
    )
    assert info.args == "ro root=/dev/xvda1 console=hvc0"
    assert info.bootloader == "/usr/bin/pygrub"
    assert (info.cpu_weight, info.cpu_cap) == (256, 0)
    assert (info.on_poweroff, info.on_reboot, info.on_crash) == ("destroy", "restart", "preserve")
    vbd, vif = info.devices
    assert (vbd.kind, vbd.uname, vbd.dev, vbd.mode) == ("vbd", "phy:/dev/vg0/web01", "xvda", "w")
    assert vbd.get("bootable") == "1"
    assert vbd.get("missing", "x") == "x"
    assert (vif.kind, vif.mac, vif.bridge, vif.script) == (
        "vif",
        "00:16:3e:00:00:07",
        "xenbr0",
        "vif-bridge",
    )
    assert vif.uname is None
    # Unknown keys stay in the raw expression.
    assert ["some_future_key", ["nested", "value"]] in info.sxp


def test_same_domain_from_text_and_from_xmlrpc() -> None:
    from_wire = DomainInfo.from_sxp(over_xmlrpc(RECORD_44))
    from_text = DomainInfo.from_sxp(loads(dumps(RECORD_44)))
    assert from_wire == from_text
    assert hash(from_wire) == hash(from_text)  # records can key a dict or fill a set


def test_halted_domain_has_no_runtime_fields() -> None:
    info = DomainInfo.from_sxp(
        loads("(domain (name idle) (uuid 596a5d2171f48fb2e068e2386a5c413e) (status 0))")
    )
    assert info.domid is None
    assert info.state == DomainState.NONE
    assert info.state_string == "------"
    assert info.state_name == "no state"
    assert info.power_state is PowerState.HALTED
    assert info.memory is None
    assert info.cpu_time is None
    assert info.image is None
    assert info.kernel is None
    assert info.devices == ()


def test_empty_record_is_all_none() -> None:
    info = DomainInfo.from_sxp(["domain"])
    assert info.name == ""
    assert info.uuid is None
    assert info.power_state is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(domain (memory lots))", "not an integer"),
        ("(domain (domid 1.5))", "not an integer"),
        ("(domain (uuid nope))", "not a UUID"),
        ("(domain (cpu_time soon))", "not a number"),
        ("(domain (memory (1 2)))", "not an integer"),
    ],
)
def test_malformed_values_raise_clearly(text: str, message: str) -> None:
    expr = loads(text)
    if "memory (1" in text:
        assert DomainInfo.from_sxp(expr).memory is None  # a list value is no value
        return
    with pytest.raises(SXPValueError, match=message):
        DomainInfo.from_sxp(expr)


@pytest.mark.parametrize("bad", ["domain", [], [["domain"]], None, 5])
def test_non_records_raise_protocol_error(bad: object) -> None:
    with pytest.raises(ProtocolError):
        DomainInfo.from_sxp(bad)


def test_records_are_frozen() -> None:
    info = DomainInfo.from_sxp(["domain", ["name", "x"]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.name = "y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("letters", "state", "word"),
    [
        ("r-----", DomainState.RUNNING, "running"),
        ("-b----", DomainState.BLOCKED, "blocked"),
        ("--p---", DomainState.PAUSED, "paused"),
        ("---s--", DomainState.SHUTDOWN, "shutdown"),
        ("----c-", DomainState.CRASHED, "crashed"),
        ("-----d", DomainState.DYING, "dying"),
        ("-b-s--", DomainState.BLOCKED | DomainState.SHUTDOWN, "blocked"),
        ("------", DomainState.NONE, "no state"),
        ("", DomainState.NONE, "no state"),
        ("r?x---", DomainState.RUNNING, "running"),  # unknown letters are ignored
    ],
)
def test_domain_state(letters: str, state: DomainState, word: str) -> None:
    assert DomainState.from_string(letters) == state
    info = DomainInfo.from_sxp(["domain", ["state", letters]])
    assert info.state == state
    assert info.state_name == word
    assert DomainState.from_sxp(["domain", ["state", letters]]) == state
    if len(letters) == 6 and "?" not in letters:
        assert state.letters == letters


@pytest.mark.parametrize(
    ("status", "power"),
    [
        ("0", PowerState.HALTED),
        ("1", PowerState.PAUSED),
        ("4", PowerState.SHUTTINGDOWN),
        ("6", PowerState.UNKNOWN),
        ("9", PowerState.UNKNOWN),
        ("-1", PowerState.UNKNOWN),
    ],
)
def test_power_state(status: str, power: PowerState) -> None:
    assert PowerState.from_sxp(["domain", ["status", status]]) is power
    assert PowerState.from_sxp(["domain"]) is None


def test_device_from_either_shape() -> None:
    inner = loads("(tap (uname tap:aio:/x.img) (dev xvda:disk) (mode r))")
    assert Device.from_sxp(["device", inner]) == Device.from_sxp(inner)
    assert Device.from_sxp(inner).kind == "tap"
    with pytest.raises(ProtocolError):
        Device.from_sxp("vbd")


NODE_PAIRS: list[Any] = [
    ["system", "Linux"],
    ["host", "xenhost1"],
    ["release", "2.6.32.57"],
    ["version", "#1 SMP Tue Dec 6 19:30:09 UTC 2011"],
    ["machine", "x86_64"],
    ["nr_cpus", 8],
    ["nr_nodes", 1],
    ["cores_per_socket", 4],
    ["threads_per_core", 2],
    ["cpu_mhz", 2992],
    ["hw_caps", "bfebfbff:20100800:00000000"],
    ["total_memory", 16375],
    ["free_memory", 1024],
    ["xen_major", 4],
    ["xen_minor", 4],
    ["xen_extra", ".0"],
    ["xen_caps", "xen-3.0-x86_64 hvm-3.0-x86_32"],
    ["xen_scheduler", "credit"],
    ["cc_compile_date", "Tue Mar 11 2014"],
    ["xend_config_format", 4],
]


def test_node_from_xmlrpc_and_from_sxp_agree() -> None:
    from_wire = NodeInfo.from_sxp(over_xmlrpc(NODE_PAIRS))
    from_text = NodeInfo.from_sxp(loads(dumps(["node", *NODE_PAIRS])))
    assert from_wire == from_text
    node = from_wire
    assert (node.host, node.release, node.machine) == ("xenhost1", "2.6.32.57", "x86_64")
    assert node.version == "#1 SMP Tue Dec 6 19:30:09 UTC 2011"
    assert (node.nr_cpus, node.nr_nodes, node.cores_per_socket, node.threads_per_core) == (
        8,
        1,
        4,
        2,
    )
    assert (node.cpu_mhz, node.total_memory, node.free_memory) == (2992, 16375, 1024)
    assert (node.xen_major, node.xen_minor, node.xen_extra) == (4, 4, ".0")
    assert node.xen_caps == "xen-3.0-x86_64 hvm-3.0-x86_32"
    assert node.xen_scheduler == "credit"
    assert node.xend_config_format == 4
    assert node.raw["system"] == "Linux"
    assert node.raw["cc_compile_date"] == "Tue Mar 11 2014"


def test_node_missing_keys_and_odd_values() -> None:
    node = NodeInfo.from_sxp(
        loads("(node (host h) (numa_info (a b) (c)) (empty) (cpu_mhz 2992.0))")
    )
    assert node.host == "h"
    assert node.cpu_mhz == 2992
    assert node.xend_config_format is None
    assert node.raw["numa_info"] == "(a b) (c)"
    assert node.raw["empty"] == ""
    with pytest.raises(SXPValueError):
        NodeInfo.from_sxp(["node", ["nr_cpus", "many"]])
    with pytest.raises(SXPValueError, match="not an integer"):
        NodeInfo.from_sxp(["node", ["cpu_mhz", "2992.5"]])
    with pytest.raises(ProtocolError):
        NodeInfo.from_sxp("node")
    assert NodeInfo.from_sxp([]) == NodeInfo()


VCPUS_44: list[Any] = [
    "domain",
    ["domid", 7],
    ["name", "web01"],
    ["vcpu_count", 2],
    [
        "vcpu",
        ["number", 0],
        ["online", 1],
        ["blocked", 0],
        ["running", 1],
        ["cpu_time", 12.5],
        ["cpu", 3],
        ["cpumap", [0, 1, 2, 3]],
    ],
    [
        "vcpu",
        ["number", 1],
        ["online", 0],
        ["blocked", 0],
        ["running", 0],
        ["cpu_time", 0.0],
        ["cpu", -1],
        ["cpumap", [2]],
    ],
]


def test_vcpus_from_either_protocol() -> None:
    from_wire = VcpuInfo.list_from_sxp(over_xmlrpc(VCPUS_44))
    from_text = VcpuInfo.list_from_sxp(loads(dumps(VCPUS_44)))
    assert from_wire == from_text
    first, second = from_wire
    assert (first.number, first.online, first.blocked, first.running) == (0, True, False, True)
    assert (first.cpu_time, first.cpu, first.cpumap) == (12.5, 3, (0, 1, 2, 3))
    assert (second.online, second.cpu, second.cpumap) == (False, -1, (2,))


def test_vcpus_legacy_list_and_flat_cpumap() -> None:
    legacy = loads("((vcpu (number 0) (online 1) (cpumap 0 1)) (vcpu (number 1)))")
    first, second = VcpuInfo.list_from_sxp(legacy)
    assert first.cpumap == (0, 1)
    assert second.online is None
    assert second.cpumap == ()
    assert VcpuInfo.list_from_sxp(["domain", ["domid", "1"]]) == []
    with pytest.raises(ProtocolError):
        VcpuInfo.list_from_sxp("vcpu")


@given(st.text(alphabet="0123456789.+-xXeE _\u0663\u00b2", max_size=12) | st.just("1" * 400))
def test_fast_float_reader_agrees_with_sxp(text: str) -> None:
    # models reads plain decimals directly; everything else must behave as sxp's reader.
    try:
        expected: object = sxp.as_float(text)
    except ValueError as exc:
        expected = type(exc)
    try:
        got: object = models._float(text)
    except ValueError as exc:
        got = type(exc)
    assert got == expected


@pytest.mark.parametrize(("text", "number"), [("256", 256), ("256.0", 256), ("0256", 256)])
def test_every_integer_field_reads_by_one_rule(text: str, number: int) -> None:
    record = ["domain", ["domid", text], ["memory", text], ["cpu_weight", text], ["vcpus", text]]
    info = DomainInfo.from_sxp(record)
    assert (info.domid, info.memory, info.cpu_weight, info.vcpus) == (number,) * 4
    node = NodeInfo.from_sxp([["nr_cpus", text], ["total_memory", text]])
    assert (node.nr_cpus, node.total_memory) == (number, number)


@pytest.mark.parametrize("key", ["domid", "memory", "cpu_weight", "vcpus"])
@pytest.mark.parametrize("text", ["0x100", "2.5", " 256"])
def test_no_integer_field_reads_what_xend_never_writes(key: str, text: str) -> None:
    with pytest.raises(sxp.SXPValueError):
        DomainInfo.from_sxp(["domain", [key, text]])


# --- from_sxp against a reference written with the path rule of aioxend.sxp -------------


def _first_child(node: list[Any], key: str) -> list[Any] | None:
    """``sxp.lookup``'s step: the first child list of ``node`` headed ``key``."""
    return next((c for c in node if isinstance(c, list) and c and c[0] == key), None)


def _text_of(node: list[Any] | None, key: str) -> str | None:
    """``sxp.value``'s rule for one step: the child's first value when it is an atom."""
    child = None if node is None else _first_child(node, key)
    if child is None or len(child) < 2 or not isinstance(child[1], str):
        return None
    return child[1]


def _reference_device(child: list[Any]) -> Device:
    record = child[1] if len(child) > 1 and isinstance(child[1], list) else child
    if not record or not isinstance(record[0], str):
        raise ProtocolError("not a device")
    keys = ("uname", "dev", "mode", "mac", "bridge", "script", "ip", "model", "uuid")
    return Device(record[0], **{key: _text_of(record, key) for key in keys}, sxp=record)


def _reference_domain(record: list[Any]) -> DomainInfo:
    def text(key: str) -> str | None:
        return _text_of(record, key)

    def number(key: str) -> int | None:
        return sxp.as_int(text(key))

    image = kernel = ramdisk = args = None
    node = _first_child(record, "image")
    head = node[1][0] if node and len(node) > 1 and isinstance(node[1], list) and node[1] else 0
    if node is not None and isinstance(head, str):
        image = head
        body = _first_child(node, image) if image else None
        kernel, ramdisk, args = (_text_of(body, key) for key in ("kernel", "ramdisk", "args"))
    devices = tuple(_reference_device(c) for c in sxp.children(record, "device"))
    status = number("status")
    uuid_text = text("uuid")
    try:
        the_uuid = uuid.UUID(uuid_text) if uuid_text else None
    except ValueError:
        raise SXPValueError("not a UUID") from None
    return DomainInfo(
        name=text("name") or "",
        domid=number("domid"),
        uuid=the_uuid,
        memory=number("memory"),
        maxmem=number("maxmem"),
        vcpus=number("vcpus"),
        online_vcpus=number("online_vcpus"),
        state=DomainState.from_string(text("state")),
        state_string=text("state") or "------",
        power_state=None
        if status is None
        else PowerState(status)
        if 0 <= status <= 6
        else PowerState.UNKNOWN,
        cpu_time=sxp.as_float(text("cpu_time")),
        start_time=sxp.as_float(text("start_time")),
        image=image,
        kernel=kernel,
        ramdisk=ramdisk,
        args=args,
        bootloader=text("bootloader"),
        devices=devices,
        cpu_weight=number("cpu_weight"),
        cpu_cap=number("cpu_cap"),
        on_poweroff=text("on_poweroff"),
        on_reboot=text("on_reboot"),
        on_crash=text("on_crash"),
        sxp=record,
    )


_ATOMS = st.sampled_from(
    [
        "0",
        "7",
        "0256",
        "-1",
        "9",
        "1.5",
        "256.0",
        "1e3",
        "",
        "x",
        "²",
        "-b----",
        "r-p---",
        "4f77abd2-3019-58e8-3bab-6fbf2118f880",
        "linux",
        "hvm",
        "image",
        "device",
        "vbd",
    ]
) | st.text(max_size=3)
_EXPRS = st.recursive(_ATOMS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_KEYS = st.sampled_from(
    [
        "name",
        "domid",
        "uuid",
        "memory",
        "maxmem",
        "vcpus",
        "online_vcpus",
        "state",
        "status",
        "cpu_time",
        "start_time",
        "bootloader",
        "cpu_weight",
        "cpu_cap",
        "on_poweroff",
        "on_reboot",
        "on_crash",
        "kernel",
        "ramdisk",
        "args",
        "uname",
        "dev",
        "mode",
        "mac",
        "bridge",
        "script",
        "ip",
        "model",
        "other",
    ]
)
_PAIRS = st.builds(lambda key, rest: [key, *rest], _KEYS, st.lists(_EXPRS, max_size=2))
_INNER = st.builds(
    lambda head, rest: [head, *rest],
    st.sampled_from(["vbd", "vif", "linux", "hvm", ""]) | _EXPRS,
    st.lists(_PAIRS | _EXPRS, max_size=5),
)
_CHILDREN = (
    _PAIRS
    | _EXPRS
    | st.builds(lambda inner: ["device", inner], _INNER)
    | st.builds(lambda inner: ["image", inner], _INNER)
    | st.builds(lambda rest: ["device", *rest], st.lists(_EXPRS, max_size=2))
)
_NUMBERS = st.integers(0, 10**6).map(str)
_WELL_FORMED = {  # each key of a record with a value it may well have
    **dict.fromkeys(models._INT_KEYS, _NUMBERS),
    **dict.fromkeys(("cpu_time", "start_time"), st.floats(0, 1e9).map(repr)),
    **dict.fromkeys(("name", "bootloader", "on_poweroff", "on_reboot", "on_crash"), st.text()),
    "uuid": st.uuids().map(str),
    "state": st.sampled_from(["r-----", "-b----", "--p---", "------"]),
}
_DEVICE = st.builds(  # keys may repeat, with other values: the first one's is the field
    lambda kind, pairs: ["device", [kind, *([k, f"{v}{i}"] for i, (k, v) in enumerate(pairs))]],
    st.sampled_from(["vbd", "vif", "tap"]),
    st.lists(
        st.tuples(
            st.sampled_from(
                ["uname", "dev", "mode", "mac", "bridge", "script", "ip", "model", "uuid", "other"]
            ),
            st.text(max_size=4),
        ),
        max_size=12,
    ),
)
_IMAGE = st.builds(
    lambda kind, pairs: ["image", [kind, *([k, f"{v}{i}"] for i, (k, v) in enumerate(pairs))]],
    st.sampled_from(["linux", "hvm"]),
    st.lists(st.tuples(st.sampled_from(["kernel", "ramdisk", "args"]), st.text(max_size=4))),
)
_RECORDS = st.builds(
    lambda fields, extra: [*([k, v] for k, v in fields.items()), *extra],
    st.fixed_dictionaries({}, optional=_WELL_FORMED),
    st.lists(_DEVICE | _IMAGE | _CHILDREN, max_size=6),
).flatmap(st.permutations)


@given(st.sampled_from(["domain", "vm"]), st.lists(_CHILDREN, max_size=12) | _RECORDS)
def test_domain_from_sxp_reads_as_the_path_rule(tag: str, children: list[Any]) -> None:
    # The one-pass reader of from_sxp must give what reading each field by sxp's path
    # rule gives, or refuse what that refuses (with a ProtocolError either way): on
    # arbitrary children and on well-formed records in any order.
    record = [tag, *children]
    try:
        expected: object = _reference_domain(record)
    except ProtocolError:
        expected = ProtocolError
    try:
        got: object = DomainInfo.from_sxp(record)
    except ProtocolError:
        got = ProtocolError
    assert got == expected
    if isinstance(got, DomainInfo):
        assert got.sxp is record


def test_records_made_fast_are_records_in_every_respect() -> None:
    info = DomainInfo.from_sxp(from_xmlrpc(RECORD_44))
    fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(DomainInfo)}
    made = DomainInfo(**fields)
    assert type(info) is DomainInfo
    assert type(info.devices[0]) is Device
    assert info == made
    assert hash(info) == hash(made)
    assert repr(info) == repr(made)
    assert pickle.loads(pickle.dumps(info)) == info
    assert copy.deepcopy(info) == info
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.devices[0].uname = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        info.__dict__  # noqa: B018 (slots, as the class declares)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Mine(DomainInfo):
        extra: int = 0

    mine = Mine.from_sxp(["domain", ["name", "x"]])
    assert type(mine) is Mine
    assert (mine.name, mine.extra) == ("x", 0)
