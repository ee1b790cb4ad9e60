"""The typed XSM, introspection and ``pause(state=True)`` methods: what goes on the wire
and how the answers of xend's dummy, acm and flask modules come back."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import aioxend
from aioxend.errors import ProtocolError, UnsupportedOperation
from aioxend.models import PowerState
from tests.protocols.fake_transport import FakeResponse, xml_answer
from tests.protocols.test_protocol_sxp import client_for as sxp_client_for
from tests.protocols.test_protocol_sxp import queue
from tests.protocols.test_protocol_xmlrpc import client_for, sent

Call = Callable[[aioxend.XendClient], Awaitable[object]]

CASES: list[tuple[Call, str, tuple[Any, ...], Any, object]] = [
    (
        lambda c: c.security_set_resource_label("phy:/dev/hda", "ACM", "xm-test", "blue"),
        "set_resource_label",
        ("phy:/dev/hda", "ACM", "xm-test", "blue"),
        0,
        0,
    ),
    (
        lambda c: c.security_set_resource_label("phy:/dev/hda", "ACM", "p", "", "blue"),
        "set_resource_label",
        ("phy:/dev/hda", "ACM", "p", "", "blue"),
        -3,
        -3,
    ),
    (
        lambda c: c.security_get_resource_label("phy:/dev/hda"),
        "get_resource_label",
        ("phy:/dev/hda",),
        ["ACM", "xm-test", "blue"],
        ["ACM", "xm-test", "blue"],
    ),
    (  # the dummy module answers "" for no label
        lambda c: c.security_get_resource_label("phy:/dev/hda"),
        "get_resource_label",
        ("phy:/dev/hda",),
        "",
        [],
    ),
    (
        lambda c: c.security_list_labels("xm-test", "res"),
        "list_labels",
        ("xm-test", "res"),
        ["blue", "red"],
        ["blue", "red"],
    ),
    (
        lambda c: c.security_get_labeled_resources(),
        "get_labeled_resources",
        (),
        {"phy:/dev/hda": ["ACM", "xm-test", "blue"]},
        {"phy:/dev/hda": ["ACM", "xm-test", "blue"]},
    ),
    (
        lambda c: c.security_set_policy(1, "<xml/>", 3, True),
        "set_policy",
        (1, "<xml/>", 3, True),
        [0, base64.b64encode(b"no errors").decode()],
        (0, b"no errors"),
    ),
    (
        lambda c: c.security_reset_policy(),
        "reset_policy",
        (),
        [0, ""],
        (0, b""),
    ),
    (lambda c: c.security_get_policy(), "get_policy", (), ["<policy/>", 3], ("<policy/>", 3)),
    (lambda c: c.security_activate_policy(2), "activate_policy", (2,), 0, 0),
    (lambda c: c.security_rm_bootpolicy(), "rm_bootpolicy", (), 0, 0),
    (lambda c: c.security_get_xstype(), "get_xstype", (), 1, 1),
    (
        lambda c: c.security_get_domain_label("vm1"),
        "get_domain_label",
        ("vm1",),
        "ACM:xm-test:blue",
        "ACM:xm-test:blue",
    ),
    (
        lambda c: c.security_set_domain_label("vm1", "ACM:p:red", "ACM:p:blue"),
        "set_domain_label",
        ("vm1", "ACM:p:red", "ACM:p:blue"),
        [0, 65538],
        (0, 65538),
    ),
    (lambda c: c.security_on(), "on", (), True, True),  # acm
    (lambda c: c.security_on(), "on", (), 4, True),  # flask: XS_POLICY_FLASK
    (lambda c: c.security_getenforce(), "getenforce", (), 1, 1),
    (lambda c: c.security_setenforce(0), "setenforce", (0,), 0, 0),
]


@pytest.mark.parametrize(("call", "name", "params", "answer", "expected"), CASES)
async def test_security_methods(
    call: Call, name: str, params: tuple[Any, ...], answer: Any, expected: object
) -> None:
    client, transport = client_for(xml_answer(answer))
    async with client:
        assert await call(client) == expected
    assert sent(transport.requests[0]) == (params, f"xend.security.{name}")


async def test_introspection() -> None:
    client, transport = client_for(
        xml_answer(["system.listMethods", "xend.domain.pause"]),
        xml_answer("Pause domain execution."),
        xml_answer("signatures not supported"),
        xml_answer([["int", "string"], ["int", "string", "boolean"]]),
    )
    async with client:
        assert await client.list_methods() == ["system.listMethods", "xend.domain.pause"]
        assert await client.method_help("xend.domain.pause") == "Pause domain execution."
        assert await client.method_signature("xend.domain.pause") is None
        assert await client.method_signature("x") == [
            ["int", "string"],
            ["int", "string", "boolean"],
        ]
    assert [sent(r) for r in transport.requests] == [
        ((), "system.listMethods"),
        (("xend.domain.pause",), "system.methodHelp"),
        (("xend.domain.pause",), "system.methodSignature"),
        (("x",), "system.methodSignature"),
    ]


async def test_pause_returns_the_previous_state_only_when_asked() -> None:
    client, transport = client_for(xml_answer(None), xml_answer(2), xml_answer(1))
    async with client:
        await client.pause("vm1")  # typed as returning None
        assert await client.pause("vm1", state=True) is PowerState.RUNNING
        assert await client.pause("vm1", state=True) is PowerState.PAUSED
    # Without ``state`` the request is xend 3.x's one-argument form.
    assert [sent(r) for r in transport.requests] == [
        (("vm1",), "xend.domain.pause"),
        (("vm1", True), "xend.domain.pause"),
        (("vm1", True), "xend.domain.pause"),
    ]


@pytest.mark.parametrize(
    "answer", [xml_answer([1, 2, 3]), xml_answer([0, "not base64!"]), xml_answer("x")]
)
async def test_malformed_policy_answers_are_protocol_errors(answer: FakeResponse) -> None:
    client, _ = client_for(answer)
    async with client:
        with pytest.raises(ProtocolError):
            await client.security_reset_policy()


async def test_legacy_protocol_refuses_them_before_sending() -> None:
    client, transport = sxp_client_for(queue())
    async with client:
        with pytest.raises(UnsupportedOperation):
            await client.security_get_xstype()
        with pytest.raises(UnsupportedOperation):
            await client.method_help("x")
        with pytest.raises(UnsupportedOperation):
            await client.pause("vm1", state=True)
    assert transport.requests == []
