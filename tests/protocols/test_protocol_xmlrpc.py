"""The XML-RPC backend against canned answers: requests built, answers and faults mapped."""

from __future__ import annotations

import uuid
import xmlrpc.client
from typing import Any

import pytest

import aioxend
from aioxend.errors import (
    Fault,
    HTTPStatusError,
    InternalError,
    InvalidDomain,
    MethodNotSupported,
    OperationFailed,
    ProtocolError,
    ReadError,
)
from aioxend.protocols import CreditParams, DeviceRef, SedfParams
from aioxend.transport import Request
from tests.protocols.fake_transport import (
    FakeResponse,
    FakeTransport,
    dropped,
    fault_answer,
    split,
    text_answer,
    xml_answer,
)

UUID = "8f3c1b9e-4c1a-4b7e-9d2f-0a1b2c3d4e5f"
RECORD: list[Any] = [
    "domain",
    ["domid", 1],
    ["cpu_weight", 256],
    ["cpu_cap", 0],
    ["uuid", UUID],
    ["vcpus", 2],
    ["name", "vm1"],
    ["on_poweroff", "destroy"],
    ["maxmem", 512],
    ["memory", 512],
    ["cpu_time", 12.5],
    ["online_vcpus", 2],
    ["image", ["linux", ["kernel", "/boot/vmlinuz"], ["args", "ro quiet"]]],
    ["status", 2],
    ["state", "-b----"],
    ["device", ["vbd", ["uname", "phy:/dev/vg/vm1"], ["dev", "xvda"], ["mode", "w"]]],
]


def client_for(*answers: FakeResponse) -> tuple[aioxend.XendClient, FakeTransport]:
    queue = list(answers)

    def handler(request: Request) -> FakeResponse:
        assert queue, f"unexpected request {request.target}"
        return queue.pop(0)

    transport = FakeTransport(handler)
    client = aioxend.XendClient("http://127.0.0.1:8006/", protocol="xmlrpc", transport=transport)
    return client, transport


def sent(request: Request) -> tuple[tuple[Any, ...], str | None]:
    params, method = xmlrpc.client.loads(request.body, use_builtin_types=True)
    return params, method


async def test_pause_posts_the_method_with_text_xml() -> None:
    client, transport = client_for(xml_answer(None))
    async with client:
        await client.pause("vm1")
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.target == "/"
    assert ("Content-Type", "text/xml") in list(request.headers)
    assert sent(request) == (("vm1",), "xend.domain.pause")
    assert request.retry_safe is False
    assert transport.closed


@pytest.mark.parametrize(
    ("call", "method", "params"),
    [
        (lambda c: c.shutdown("vm1", reason="halt"), "xend.domain.shutdown", ("vm1", "halt")),
        (lambda c: c.reboot(3), "xend.domain.shutdown", (3, "reboot")),
        (lambda c: c.destroy(uuid.UUID(UUID)), "xend.domain.destroy", (UUID,)),
        (lambda c: c.start("vm1"), "xend.domain.start", ("vm1", False)),
        (lambda c: c.resume("vm1", paused=True), "xend.domain.resume", ("vm1", True)),
        (lambda c: c.save("vm1", "/s"), "xend.domain.save", ("vm1", "/s", False)),
        (
            lambda c: c.dump("vm1", "/d", live=True),
            "xend.domain.dump",
            ("vm1", "/d", True, False, False),
        ),
        (
            lambda c: c.migrate("vm1", "h2", live=True),
            "xend.domain.migrate",
            ("vm1", "h2", True, 0, -1, False, False),
        ),
        (lambda c: c.rename("vm1", "vm9"), "xend.domain.setName", ("vm1", "vm9")),
        (lambda c: c.set_memory("vm1", 256), "xend.domain.setMemoryTarget", ("vm1", 256)),
        (lambda c: c.set_maxmem("vm1", 1024), "xend.domain.maxmem_set", ("vm1", 1024)),
        (lambda c: c.set_vcpus("vm1", 2), "xend.domain.setVCpuCount", ("vm1", 2)),
        (lambda c: c.pin_vcpu("vm1", 0, [0, 2]), "xend.domain.pincpu", ("vm1", 0, "0,2")),
        (lambda c: c.pin_vcpu("vm1", "all", [1]), "xend.domain.pincpu", ("vm1", "all", "1")),
        (
            lambda c: c.sched_credit_set("vm1", weight=512),
            "xend.domain.sched_credit_set",
            ("vm1", 512, None),
        ),
        (
            lambda c: c.device_destroy("vm1", "vbd", 51712, force=True),
            "xend.domain.destroyDevice",
            ("vm1", "vbd", 51712, True, False),
        ),
        (lambda c: c.send_sysrq("vm1", "s"), "xend.domain.send_sysrq", ("vm1", "s")),
        (lambda c: c.send_trigger("vm1", "nmi"), "xend.domain.send_trigger", ("vm1", "nmi", 0)),
        (lambda c: c.set_pause_flag("vm1", True), "xend.domain.setpauseflag", ("vm1", True)),
        (lambda c: c.send_debug_keys("q"), "xend.node.send_debug_keys", ("q",)),
        (lambda c: c.cpu_pool_cpu_add("p", 3), "xend.cpu_pool.cpu_add", ("p", 3)),
        (lambda c: c.new("(vm (name x))"), "xend.domain.new", (["vm", ["name", "x"]],)),
    ],
)
async def test_operation_requests(call: Any, method: str, params: tuple[Any, ...]) -> None:
    client, transport = client_for(xml_answer(None))
    async with client:
        await call(client)
    assert sent(transport.requests[0]) == (params, method)


async def test_domains_lists_every_state_with_detail() -> None:
    client, transport = client_for(xml_answer([RECORD]))
    async with client:
        (dom,) = await client.domains()
    assert sent(transport.requests[0]) == ((True, "all", False), "xend.domains_with_state")
    assert transport.requests[0].retry_safe is True
    assert dom.name == "vm1"
    assert dom.domid == 1
    assert dom.memory == 512
    assert dom.uuid == uuid.UUID(UUID)


async def test_domain_full_false_has_no_devices() -> None:
    client, transport = client_for(xml_answer(RECORD), xml_answer(RECORD))
    async with client:
        full = await client.domain("vm1")
        bare = await client.domain("vm1", full=False)
    assert len(full.devices) == 1
    assert len(bare.devices) == 0
    assert sent(transport.requests[1]) == (("vm1", False), "xend.domain")


async def test_top_level_strings_are_unescaped() -> None:
    text = 'line 1\n\tit\'s \\ "done"\x01 caf\u00e9'
    # xend sends repr() of the Python 2 byte string: UTF-8 bytes as \xNN escapes.
    escaped = repr(text.encode())[2:-1]
    assert "\\'" in escaped  # both quotes present: repr escapes the single one
    client, _ = client_for(xml_answer(escaped))
    async with client:
        assert await client.node_log() == text


async def test_typed_results() -> None:
    client, _ = client_for(
        xml_answer({"weight": 256, "cap": 0}),
        xml_answer(
            [
                "sedf",
                ["domid", 1],
                ["period", 100],
                ["slice", 10],
                ["latency", 0],
                ["extratime", 1],
                ["weight", 0],
            ]
        ),
        xml_answer(["vbd", ["dom", 1, "id", 51712]]),
        xml_answer(True),
        xml_answer(8),
        xml_answer(None),
        xml_answer("3"),
    )
    async with client:
        assert await client.sched_credit_get("vm1") == CreditParams(256, 0)
        assert await client.sched_sedf_get("vm1") == SedfParams(100, 10, 0, 1, 0)
        assert await client.device_create("vm1", ["vbd", ["dev", "xvdb"]]) == DeviceRef(
            "vbd", 1, 51712
        )
        assert await client.get_pause_flag("vm1") is True
        assert await client.shadow_mem_get("vm1") == 8
        assert await client.restart_count("vm1") is None
        assert await client.restart_count("vm1") == 3


@pytest.mark.parametrize(
    ("code", "cls"),
    [(1, InternalError), (2, OperationFailed), (3, InvalidDomain), (7, Fault)],
)
async def test_faults_name_operation_and_domain(code: int, cls: type[Fault]) -> None:
    client, _ = client_for(fault_answer(code, "vm9" if code == 3 else "it broke"))
    async with client:
        with pytest.raises(cls) as info:
            await client.pause("vm9")
    assert type(info.value) is cls
    assert info.value.code == code
    assert info.value.method == "pause"
    assert info.value.dom == "vm9"
    assert "pause" in str(info.value)
    assert "vm9" in str(info.value)


async def test_method_unknown_struct_is_method_not_supported() -> None:
    answer = {"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", "x.y"]}
    client, _ = client_for(xml_answer(answer), fault_answer(1, 'method "x.y" is not supported'))
    async with client:
        with pytest.raises(MethodNotSupported, match=r"x\.y"):
            await client.call("x.y")
        with pytest.raises(MethodNotSupported):
            await client.call("x.y")


async def test_call_returns_raw_values() -> None:
    client, transport = client_for(xml_answer({"a": [1, 2.5, None]}))
    async with client:
        assert await client.call("xend.some", 1, "two") == {"a": [1, 2.5, None]}
    assert sent(transport.requests[0]) == ((1, "two"), "xend.some")


async def test_body_split_byte_by_byte_decodes_the_same() -> None:
    client, _ = client_for(xml_answer([RECORD], chunk=1))
    async with client:
        (dom,) = await client.domains()
    assert dom.name == "vm1"


@pytest.mark.parametrize(
    "body",
    [
        b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</int>",
        b"<?xml version='1.0'?><methodResponse><params><param><value><int>x</int>"
        b"</value></param></params></methodResponse>",
        b"<methodResponse><nonsense/></methodResponse>",
        b"",
    ],
    ids=["truncated", "bad-int", "bad-shape", "empty"],
)
async def test_malformed_bodies_are_protocol_errors(body: bytes) -> None:
    client, _ = client_for(FakeResponse(200, "OK", [("Content-Type", "text/xml")], split(body, 7)))
    async with client:
        with pytest.raises(ProtocolError):
            await client.shadow_mem_get("vm1")


async def test_connection_lost_mid_body_is_read_error() -> None:
    client, _ = client_for(dropped())
    async with client:
        with pytest.raises(ReadError):
            await client.pause("vm1")


async def test_http_errors() -> None:
    client, _ = client_for(
        text_answer("oops", status=500, reason="Internal Server Error"),
        text_answer("Not found: RPC2", status=404, reason="Not found"),
        text_answer("(domain)", status=200),
    )
    async with client:
        with pytest.raises(HTTPStatusError) as info:
            await client.pause("vm1")
        assert info.value.status == 500
        with pytest.raises(ProtocolError, match="no XML-RPC server"):
            await client.pause("vm1")
        with pytest.raises(ProtocolError, match="no XML-RPC server"):
            await client.pause("vm1")


async def test_bad_arguments_are_refused_before_sending() -> None:
    client, transport = client_for()
    async with client:
        with pytest.raises(TypeError):
            await client.pause(True)
        with pytest.raises(TypeError):
            await client.pause(1.5)  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="empty"):
            await client.pause("")
        with pytest.raises(ValueError, match="at least one CPU"):
            await client.pin_vcpu("vm1", 0, [])
        with pytest.raises(ValueError, match="one character"):
            await client.send_sysrq("vm1", "ab")
        with pytest.raises(ProtocolError):
            await client.create("(vm (name x)")
    assert transport.requests == []


async def test_closed_client_is_runtime_error() -> None:
    client, _ = client_for(xml_answer(None))
    async with client:
        await client.pause("vm1")
    with pytest.raises(RuntimeError, match="closed"):
        await client.pause("vm1")


async def test_unknown_method_invents_no_fault_code() -> None:
    # xend 3.1+ answers an unknown method with a Failure struct, not a fault: no code.
    answer = {"Status": "Failure", "ErrorDescription": ["MESSAGE_METHOD_UNKNOWN", "x.y"]}
    client, _ = client_for(xml_answer(answer), fault_answer(1, 'method "x.y" is not supported'))
    async with client:
        with pytest.raises(MethodNotSupported) as new:
            await client.call("x.y")
        with pytest.raises(MethodNotSupported) as old:
            await client.call("x.y")
    assert new.value.code is None
    assert str(new.value) == "x.y: method 'x.y' is not supported"
    assert old.value.code == 1  # xend 3.0's own fault, kept as it came
    assert "(fault 1)" in str(old.value)


async def test_integer_results_read_by_the_one_rule() -> None:
    # A double with an integral value is that integer (xend 3.0's weights); 1.5 is none.
    client, _ = client_for(
        xml_answer({"weight": 256.0, "cap": 0}),
        xml_answer("12"),
        xml_answer({"weight": 1.5, "cap": 0}),
        xml_answer("0x10"),
    )
    async with client:
        assert await client.sched_credit_get("vm1") == CreditParams(256, 0)
        assert await client.shadow_mem_get("vm1") == 12
        with pytest.raises(ProtocolError, match="not an integer"):
            await client.sched_credit_get("vm1")
        with pytest.raises(ProtocolError, match="not an integer"):
            await client.shadow_mem_get("vm1")
