"""The legacy SXP/HTTP backend against canned answers: requests, statuses, bodies."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest

import aioxend
from aioxend.errors import (
    HTTPStatusError,
    InvalidDomain,
    LocalProtocolError,
    MethodNotSupported,
    OperationFailed,
    ProtocolError,
    ReadError,
    ReadTimeout,
    UnsupportedOperation,
)
from aioxend.protocols import CreditParams, DeviceRef, _sxp
from aioxend.transport import Request
from tests.protocols.fake_transport import (
    FakeResponse,
    FakeTransport,
    dropped,
    sxp_answer,
    text_answer,
)

UUID = "8f3c1b9e-4c1a-4b7e-9d2f-0a1b2c3d4e5f"


def record(name: str, domid: int, *, devices: bool = True) -> str:
    dev = "(device (vbd (uname phy:/dev/vg/x) (dev xvda) (mode w)))" if devices else ""
    return (
        f"(domain (domid {domid}) (cpu_weight 256) (cpu_cap 0) (uuid {UUID}) (vcpus 2)"
        f" (name {name}) (maxmem 512) (memory 512) (cpu_time 12.5) (online_vcpus 2)"
        f" (image (linux (kernel /boot/vmlinuz) (args 'ro quiet'))) (status 2)"
        f" (state -b----) {dev})"
    )


def client_for(
    handler: Callable[[Request], FakeResponse],
) -> tuple[aioxend.XendClient, FakeTransport]:
    transport = FakeTransport(handler)
    client = aioxend.XendClient("http://127.0.0.1:8000/", protocol="sxp", transport=transport)
    return client, transport


def queue(*answers: FakeResponse) -> Callable[[Request], FakeResponse]:
    pending = list(answers)

    def handler(request: Request) -> FakeResponse:
        assert pending, f"unexpected request {request.method} {request.target}"
        return pending.pop(0)

    return handler


def form(request: Request) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True))


async def test_pause_posts_op_form_asking_for_sxp() -> None:
    client, transport = client_for(queue(sxp_answer("")))
    async with client:
        assert client.protocol == "sxp"
        await client.pause("vm1")
    (request,) = transport.requests
    assert request.method == "POST"
    assert request.target == "/xend/domain/vm1"
    headers = dict(request.headers)
    assert headers["Accept"] == "application/sxp"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "User-Agent" not in headers
    assert form(request) == {"op": "pause"}


@pytest.mark.parametrize(
    ("call", "fields"),
    [
        (lambda c: c.shutdown("vm1"), {"op": "shutdown", "reason": "poweroff"}),
        (lambda c: c.reboot("vm1"), {"op": "shutdown", "reason": "reboot"}),
        (lambda c: c.rename("vm1", "new"), {"op": "rename", "name": "new"}),
        (lambda c: c.send_sysrq("vm1", "s"), {"op": "sysrq", "key": "115"}),
        (lambda c: c.set_memory("vm1", 256), {"op": "mem_target_set", "target": "256"}),
        (lambda c: c.set_maxmem("vm1", 600), {"op": "maxmem_set", "memory": "600"}),
        (lambda c: c.set_vcpus("vm1", 1), {"op": "set_vcpus", "vcpus": "1"}),
        (lambda c: c.pin_vcpu("vm1", 1, [0, 3]), {"op": "pincpu", "vcpu": "1", "cpumap": "0,3"}),
        (
            lambda c: c.dump("vm1", "/tmp/core", crash=True),
            {"op": "dump", "file": "/tmp/core", "live": "0", "crash": "1", "reset": "0"},
        ),
        (
            lambda c: c.migrate("vm1", "host2", live=True, port=8002),
            {
                "op": "migrate",
                "destination": "host2",
                "live": "1",
                "port": "8002",
                "node": "-1",
                "ssl": "0",
                "change_home_server": "0",
            },
        ),
        (
            lambda c: c.device_destroy("vm1", "vif", 0, rm_cfg=True),
            {"op": "device_destroy", "type": "vif", "dev": "0", "force": "0", "rm_cfg": "1"},
        ),
        (
            lambda c: c.sched_sedf_set(
                "vm1", period=100, slice=10, latency=0, extratime=1, weight=0
            ),
            {
                "op": "cpu_sedf_set",
                "period": "100",
                "slice": "10",
                "latency": "0",
                "extratime": "1",
                "weight": "0",
            },
        ),
    ],
)
async def test_operation_forms(call: Callable[..., object], fields: dict[str, str]) -> None:
    client, transport = client_for(queue(sxp_answer("")))
    async with client:
        await call(client)  # type: ignore[misc]
    assert transport.requests[0].target == "/xend/domain/vm1"
    assert form(transport.requests[0]) == fields


async def test_domain_reads_only_the_first_expression() -> None:
    client, transport = client_for(
        queue(sxp_answer(record("vm1", 1) + "''"), sxp_answer(record("vm1", 1) + "''"))
    )
    async with client:
        full = await client.domain("vm1")
        bare = await client.domain("vm1", full=False)
    assert full.name == "vm1"
    assert full.domid == 1
    assert len(full.devices) == 1
    assert len(bare.devices) == 0
    assert transport.requests[0].method == "GET"
    assert transport.requests[0].retry_safe is True


async def test_domains_lists_names_then_records() -> None:
    def handler(request: Request) -> FakeResponse:
        if request.target == "/xend/domain?state=all":
            return sxp_answer("(Domain-0 vm1 gone)")
        if request.target == "/xend/domain/gone":
            return text_answer("<Fault 3: 'gone'>", status=404, reason="Not found")
        name = request.target.rsplit("/", 1)[1]
        return sxp_answer(record(name, 0 if name == "Domain-0" else 1) + "''")

    client, transport = client_for(handler)
    async with client:
        domains = await client.domains()
    assert [d.name for d in domains] == ["Domain-0", "vm1"]
    assert all(not d.devices for d in domains)
    assert len(transport.requests) == 4


@pytest.mark.parametrize(
    ("bad", "cls"),
    [
        (lambda: text_answer("oops", status=500, reason="Internal Server Error"), HTTPStatusError),
        (lambda: sxp_answer("(domain (name"), ProtocolError),
        (lambda: dropped(), ReadError),
        (lambda: FakeResponse(200, "OK", [], [], ReadTimeout("slow")), ReadTimeout),
    ],
)
async def test_domains_raises_a_failed_record_request_as_itself(
    bad: Callable[[], FakeResponse], cls: type[Exception]
) -> None:
    # One of several record requests fails: that failure, from our tree, not a group.
    names = [f"vm{i}" for i in range(12)]

    def handler(request: Request) -> FakeResponse:
        if request.target == "/xend/domain?state=all":
            return sxp_answer("(" + " ".join(names) + ")")
        name = request.target.rsplit("/", 1)[1]
        return bad() if name in ("vm3", "vm7") else sxp_answer(record(name, 1))

    client, _ = client_for(handler)
    async with client:
        with pytest.raises(cls) as info:
            await client.domains()
    assert type(info.value) is cls
    assert isinstance(info.value, aioxend.XendError)
    assert not isinstance(info.value, BaseExceptionGroup)


async def test_running_domains_come_in_one_request() -> None:
    body = f"({record('vm1', 1)} {record('vm2', 2)})"
    client, transport = client_for(queue(sxp_answer(body)))
    async with client:
        domains = await client.domains("running", full=True)
    assert [d.name for d in domains] == ["vm1", "vm2"]
    assert all(d.devices for d in domains)
    assert transport.requests[0].target == "/xend/domain?detail=1"


async def test_names_and_empty_lists() -> None:
    client, _ = client_for(queue(sxp_answer("(vm1 vm2)"), sxp_answer("()")))
    async with client:
        assert await client.domain_names("paused") == ["vm1", "vm2"]
        assert await client.domain_names("crashed") == []


@pytest.mark.parametrize(
    "answer",
    [
        text_answer("<Fault 3: 'vm9'>", status=404, reason="Not found"),
        text_answer("Not found: vm9", status=404, reason="Not found"),
    ],
)
async def test_404_is_invalid_domain(answer: FakeResponse) -> None:
    client, _ = client_for(queue(answer))
    async with client:
        with pytest.raises(InvalidDomain) as info:
            await client.pause("vm9")
    assert info.value.code == 3
    assert info.value.string == "vm9"
    assert "pause" in str(info.value)
    assert isinstance(info.value, LookupError)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, "(xend.err 'Cannot pause privileged domain 0')"),
        (200, "(xend.err 'Cannot pause privileged domain 0')"),
        (202, '(xend.err "Cannot pause privileged domain 0")'),
    ],
)
async def test_xend_err_is_operation_failed(status: int, body: str) -> None:
    client, _ = client_for(queue(sxp_answer(body, status=status, reason="Request failed: pause")))
    async with client:
        with pytest.raises(OperationFailed) as info:
            await client.pause("Domain-0")
    assert info.value.string == "Cannot pause privileged domain 0"
    assert "pause('Domain-0')" in str(info.value)


async def test_xend_err_carrying_a_fault_keeps_its_class() -> None:
    client, _ = client_for(queue(sxp_answer("(xend.err \"<Fault 3: 'vm7'>\")", status=500)))
    async with client:
        with pytest.raises(InvalidDomain):
            await client.migrate("vm7", "elsewhere")


async def test_501_statuses() -> None:
    client, _ = client_for(
        queue(
            sxp_answer(
                "Operation not implemented: reset''", 501, "Operation not implemented: reset"
            ),
            text_answer("Request method not supported (PUT)", 501, "Not implemented"),
        )
    )
    async with client:
        with pytest.raises(UnsupportedOperation) as info:
            await client.reset("vm1")
        assert info.value.operation == "reset"
        assert info.value.protocol == "sxp"
        with pytest.raises(MethodNotSupported):
            await client.pause("vm1")


@pytest.mark.parametrize("status", [406, 403, 302, 503, 500])
async def test_other_statuses_are_http_errors(status: int) -> None:
    client, _ = client_for(queue(text_answer("nope", status=status, reason="Whatever")))
    async with client:
        with pytest.raises(HTTPStatusError) as info:
            await client.pause("vm1")
    assert info.value.status == status


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.suspend("vm1"),
        lambda c: c.resume("vm1"),
        lambda c: c.get_pause_flag("vm1"),
        lambda c: c.shadow_mem_get("vm1"),
        lambda c: c.pci_info(),
        lambda c: c.call("xend.node.info"),
        lambda c: c.save("vm1", "/x", checkpoint=True),
        lambda c: c.restore("/x", paused=True),
        lambda c: c.cpu_pool_list(),
    ],
)
async def test_operations_the_legacy_protocol_lacks(call: Callable[..., object]) -> None:
    client, transport = client_for(queue())
    async with client:
        with pytest.raises(UnsupportedOperation) as info:
            await call(client)  # type: ignore[misc]
    assert info.value.protocol == "sxp"
    assert transport.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        FakeResponse(200, "OK", [("Content-Type", "text/html")], [b"<html><body>hi</body></html>"]),
        sxp_answer("(domain (name vm1)"),
        sxp_answer(")"),
    ],
    ids=["html", "unbalanced", "stray-close"],
)
async def test_bad_bodies_are_protocol_errors(answer: FakeResponse) -> None:
    client, _ = client_for(queue(answer))
    async with client:
        with pytest.raises(ProtocolError):
            await client.domain("vm1")


async def test_oversized_form_is_refused_before_sending() -> None:
    client, transport = client_for(queue())
    config = ["vm", ["name", "big"], ["description", "x" * 20_000]]
    async with client:
        with pytest.raises(LocalProtocolError, match="10000"):
            await client.create(config)
    assert transport.requests == []


async def test_typed_results_over_sxp() -> None:
    client, transport = client_for(
        queue(
            sxp_answer("\"{'cap': 0, 'weight': 256}\""),
            sxp_answer("(vbd (dom 1 id 51712))"),
            sxp_answer("True"),
            text_answer("(XEN) hello\n(XEN) world\n"),
            text_answer("log line\n"),
        )
    )
    async with client:
        assert await client.sched_credit_get("vm1") == CreditParams(256, 0)
        ref = await client.device_create("vm1", "(vbd (uname phy:/dev/x) (dev xvdb) (mode w))")
        assert ref == DeviceRef("vbd", 1, 51712)
        assert await client.device_configure("vm1", "(vbd (dev xvdb))", 51712) is True
        assert await client.dmesg() == "(XEN) hello\n(XEN) world\n"
        assert await client.node_log() == "log line\n"
    created = form(transport.requests[1])
    assert created["op"] == "device_create"
    assert created["config"].startswith("(vbd (uname phy:/dev/x)")
    assert transport.requests[3].target == "/xend/node/dmesg"


async def test_credit_set_fills_the_missing_field() -> None:
    client, transport = client_for(queue(sxp_answer("((cap 20) (weight 256))"), sxp_answer("")))
    async with client:
        await client.sched_credit_set("vm1", weight=512)
    assert form(transport.requests[0]) == {"op": "domain_sched_credit_get"}
    assert form(transport.requests[1]) == {
        "op": "domain_sched_credit_set",
        "weight": "512",
        "cap": "20",
    }


async def test_restore_follows_location() -> None:
    client, transport = client_for(
        queue(
            FakeResponse(201, "created", [("Location", "http://localhost/xend/domain/vm5")], []),
            sxp_answer(record("vm5", 5) + "''"),
        )
    )
    async with client:
        dom = await client.restore("/var/save/vm5")
    assert dom.name == "vm5"
    assert form(transport.requests[0]) == {"op": "restore", "file": "/var/save/vm5"}
    assert transport.requests[1].target == "/xend/domain/vm5"


async def test_dmesg_clear_reads_then_clears() -> None:
    client, transport = client_for(queue(text_answer("ring\n"), sxp_answer("")))
    async with client:
        assert await client.dmesg_clear() == "ring\n"
    assert [r.method for r in transport.requests] == ["GET", "POST"]
    assert form(transport.requests[1]) == {"op": "clear"}


async def test_create_waits_unpauses_and_rereads() -> None:
    client, transport = client_for(
        queue(
            sxp_answer(record("new1", 7), status=201),
            sxp_answer(""),
            sxp_answer(""),
            sxp_answer(record("new1", 7) + "''"),
        )
    )
    async with client:
        dom = await client.create(["vm", ["name", "new1"], ["memory", 256]])
    assert dom.name == "new1"
    steps = [form(r).get("op") for r in transport.requests]
    assert steps == ["create", "wait_for_devices", "unpause", None]
    assert form(transport.requests[0])["config"] == "(vm (name new1) (memory 256))"
    assert transport.requests[1].target == "/xend/domain/7"


def test_the_first_failure_names_the_others_in_its_notes() -> None:
    first, second = ReadError("gone"), HTTPStatusError(500, "Internal Server Error")
    raised = _sxp._first_of([first, second])
    assert raised is first
    assert raised.__notes__ == ["also failed: HTTPStatusError: HTTP 500 Internal Server Error"]
