"""The client on a mock transport: sessions, wires, errors, redirects, re-login, cancel."""

from __future__ import annotations

import logging

import anyio
import pytest

from aioxend.errors import HTTPStatusError, ProtocolError
from aioxend.transport import Endpoint
from aioxend.xenapi import XenAPIClient, connect, errors
from aioxend.xenapi._client import LOCAL_XAPI, LOCAL_XEND, _master_url, default_url
from tests.xenapi._mock import FakeXapi, MockTransport

URL = "https://pool.example/"


def client(fake: FakeXapi, url: str = URL, **options: object) -> XenAPIClient:
    options.setdefault("username", "root")
    options.setdefault("password", "xenroot")
    return XenAPIClient(url, transport=fake.transport, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc", "auto"])
async def test_login_calls_logout(protocol: str) -> None:
    fake = FakeXapi()
    async with client(fake, protocol=protocol) as xapi:
        assert xapi.protocol == ("xmlrpc" if protocol == "xmlrpc" else "jsonrpc")
        assert xapi.session_id in fake.sessions
        assert xapi.api_version == (2, 21)
        refs = await xapi.call("VM.get_all", read=True)
        assert isinstance(refs, list)
        assert len(refs) == 3
        state = await xapi.call("VM.get_power_state", refs[0])
        assert state == "Halted"
        record = await xapi.call("VM.get_record", refs[0], read=True)
        assert isinstance(record, dict)
        assert record["name_label"] == "vm1"
    assert fake.sessions == {}
    assert fake.logged_out == ["root"]
    wires = {wire for wire, _, _ in fake.calls}
    assert wires == ({"xmlrpc"} if protocol == "xmlrpc" else {"jsonrpc"})


async def test_ints_travel_as_strings_over_xmlrpc_and_as_numbers_over_json() -> None:
    for protocol, expected in (("xmlrpc", "4294967297"), ("jsonrpc", 4294967297)):
        fake = FakeXapi()
        async with client(fake, protocol=protocol) as xapi:
            [ref, *_] = fake.records
            record = await xapi.call("VM.get_record", ref)
            assert isinstance(record, dict)
            assert record["memory_static_max"] == expected
            with pytest.raises(errors.MessageMethodUnknown):
                await xapi.call("VM.no_such", 5, True, [1, 2], {"k": 3})
        sent = [params for _, method, params in fake.calls if method == "VM.no_such"]
        if protocol == "xmlrpc":
            assert sent[0][1:] == ["5", True, ["1", "2"], {"k": "3"}]
        else:
            assert sent[0][1:] == [5, True, [1, 2], {"k": 3}]


async def test_auto_picks_xmlrpc_for_xend_and_logs_in_with_two_arguments() -> None:
    fake = FakeXapi(dialect="xend")
    async with client(fake, "httpu:///var/run/xend/xen-api.sock") as xapi:
        assert xapi.protocol == "xmlrpc"
        assert "OpaqueRef" not in str(xapi.session_id)
        assert xapi.api_version == (2, 21)
        await xapi.call("VM.get_all")
    logins = [params for _, method, params in fake.calls if method.endswith("login_with_password")]
    assert [len(p) for p in logins] == [4, 2]
    # the probe was a read, not the login: only one login reached the JSON-RPC path
    assert not [c for c in fake.calls if c[0] == "jsonrpc"]


async def test_xmlrpc_goes_to_slash_on_sockets_and_to_the_url_path_over_tcp() -> None:
    for url, target in (
        ("unix:///x.sock", "/"),
        ("httpu:///x.sock", "/"),
        ("http://h:9363/RPC2", "/RPC2"),
    ):
        fake = FakeXapi()
        made: list[MockTransport] = []

        def factory(
            endpoint: Endpoint, fake: FakeXapi = fake, made: list[MockTransport] = made
        ) -> MockTransport:
            made.append(fake.transport(endpoint))
            return made[-1]

        async with XenAPIClient(
            url, protocol="xmlrpc", transport=factory, username="root", password="xenroot"
        ) as xapi:
            await xapi.call("VM.get_all")
        assert {r.target for r in made[0].requests} == {target}


async def test_errors_are_typed_and_name_the_method() -> None:
    for protocol in ("jsonrpc", "xmlrpc"):
        fake = FakeXapi()
        async with client(fake, protocol=protocol) as xapi:
            with pytest.raises(errors.HandleInvalid) as handle:
                await xapi.call("VM.get_record", "OpaqueRef:nope")
            assert handle.value.params == ["VM", "OpaqueRef:nope"]
            assert handle.value.method == "VM.get_record"
            with pytest.raises(errors.MessageMethodUnknown):
                await xapi.call("VM.frobnicate")
            [ref, *_] = fake.records
            await xapi.call("VM.start", ref, False, False)
            with pytest.raises(errors.XenAPIError) as bad:
                await xapi.call("VM.start", ref, False, False)
            assert bad.value.code == "VM_BAD_POWER_STATE"
            assert bad.value.params == [ref, "halted", "running"]


async def test_wrong_password_fails_the_enter_without_the_password_anywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeXapi(users={"root": "right"})
    xapi = client(fake, password="s3cret-pw")
    with pytest.raises(errors.SessionAuthenticationFailed) as failed:
        async with xapi:
            pass
    text = f"{failed.value} {failed.value!r} {xapi!r} {caplog.text}"
    assert "s3cret-pw" not in text
    with pytest.raises(RuntimeError):
        await xapi.call("VM.get_all")


async def test_the_session_reference_stays_out_of_messages_reprs_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeXapi()
    async with client(fake) as xapi:
        session = str(xapi.session_id)
        fake.sessions.clear()  # expires: SESSION_INVALID names the session
        fake.sessions["other"] = "root"
        with pytest.raises(errors.SessionInvalid) as invalid:
            await xapi.call("VM.start", "x")  # not a read: re-login, no re-send
        assert invalid.value.params == ["<redacted>"]
        text = f"{invalid.value} {invalid.value!r} {xapi!r} {caplog.text}"
        assert session not in text
        assert str(xapi.session_id) not in repr(xapi)


async def test_session_invalid_logs_in_again_and_resends_only_reads() -> None:
    fake = FakeXapi()
    async with client(fake) as xapi:
        first = xapi.session_id
        fake.expire()
        refs = await xapi.call("VM.get_all", read=True)
        assert len(refs) == 3  # type: ignore[arg-type]
        assert xapi.session_id != first
        assert xapi.session_id in fake.sessions
        second = xapi.session_id
        fake.expire()
        [ref, *_] = fake.records
        with pytest.raises(errors.SessionInvalid):
            await xapi.call("VM.start", ref, False, False)
        starts = [m for _, m, _ in fake.calls if m == "VM.start"]
        assert len(starts) == 1  # never re-sent
        assert xapi.session_id not in (first, second)  # but logged in again
        assert fake.records[ref]["power_state"] == "Halted"


async def test_concurrent_calls_share_one_relogin() -> None:
    fake = FakeXapi()
    async with client(fake) as xapi:
        fake.expire()
        logins_before = sum(m.endswith("login_with_password") for _, m, _ in fake.calls)
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(lambda: xapi.call("VM.get_all", read=True))
        logins = sum(m.endswith("login_with_password") for _, m, _ in fake.calls)
        assert logins - logins_before == 1


async def test_an_adopted_session_is_neither_logged_in_again_nor_logged_out() -> None:
    fake = FakeXapi()
    async with client(fake) as owner:
        session = owner.session_id
        async with XenAPIClient(URL, session_id=session, transport=fake.transport) as adopted:
            assert adopted.session_id == session
            assert await adopted.call("VM.get_all")
        assert session in fake.sessions  # not logged out by the adopter
        fake.expire()
        with pytest.raises(errors.SessionInvalid):  # expired: not replaced by a login
            async with XenAPIClient(URL, session_id=session, transport=fake.transport):
                pass
    logins = [m for _, m, _ in fake.calls if m.endswith("login_with_password")]
    assert len(logins) == 1


async def test_an_adopted_invalid_session_fails_on_enter() -> None:
    fake = FakeXapi()
    with pytest.raises(errors.SessionInvalid):
        async with XenAPIClient(URL, session_id="OpaqueRef:gone", transport=fake.transport):
            pass
    assert not [m for _, m, _ in fake.calls if m.endswith("login_with_password")]


async def test_host_is_slave_reconnects_once_to_the_master_keeping_scheme_and_port() -> None:
    master = FakeXapi()
    member = FakeXapi(master="10.0.0.1")
    seen: list[Endpoint] = []

    def factory(endpoint: Endpoint) -> MockTransport:
        seen.append(endpoint)
        return (master if endpoint.host == "10.0.0.1" else member).transport(endpoint)

    async with XenAPIClient(
        "https://member.example:8443/", username="root", password="xenroot", transport=factory
    ) as xapi:
        assert xapi.url == "https://10.0.0.1:8443/"
        assert xapi.session_id in master.sessions
        await xapi.call("VM.get_all")
    assert [(e.scheme, e.host, e.port) for e in seen] == [
        ("https", "member.example", 8443),
        ("https", "10.0.0.1", 8443),
    ]
    assert master.sessions == {}


async def test_host_is_slave_twice_is_raised() -> None:
    member = FakeXapi(master="10.0.0.2")
    with pytest.raises(errors.HostIsSlave):
        async with XenAPIClient(URL, transport=member.transport, username="root"):
            pass


def test_master_url_forms() -> None:
    from aioxend.transport import parse_url

    https = parse_url("https://member:8443/")
    assert _master_url(https, "10.0.0.1") == "https://10.0.0.1:8443/"
    assert _master_url(https, "fe80::1") == "https://[fe80::1]:8443/"
    assert _master_url(https, "[fe80::1]:443") == "https://[fe80::1]:443/"
    assert _master_url(https, "master.example:9443") == "https://master.example:9443/"
    assert _master_url(parse_url("http://m/"), "10.0.0.1") == "http://10.0.0.1:80/"
    assert _master_url(parse_url("unix:///var/lib/xcp/xapi"), "10.0.0.1") is None
    assert _master_url(https, "") is None


async def test_cancelled_mid_call_leaves_the_client_healthy_and_exit_still_logs_out() -> None:
    fake = FakeXapi()
    async with client(fake) as xapi:
        transport = xapi._transport
        assert isinstance(transport, MockTransport)
        transport.delay = 5.0
        with anyio.move_on_after(0.05) as scope:
            await xapi.call("VM.get_all", read=True)
        assert scope.cancelled_caught
        transport.delay = 0.0
        assert len(await xapi.call("VM.get_all")) == 3  # type: ignore[arg-type]
    assert fake.sessions == {}


async def test_exit_on_cancellation_logs_out_shielded() -> None:
    fake = FakeXapi()
    transport: MockTransport | None = None
    with anyio.move_on_after(0.05):
        async with client(fake) as xapi:
            assert isinstance(xapi._transport, MockTransport)
            transport = xapi._transport
            await anyio.sleep(10)
    assert transport is not None
    assert fake.sessions == {}
    assert transport.closed


async def test_a_malformed_answer_is_a_protocol_error_naming_method_and_url() -> None:
    fake = FakeXapi()
    async with client(fake, protocol="jsonrpc") as xapi:
        for body in (b"not json", b'{"jsonrpc": "2.0", "id": 99, "result": 1}', b"[1]"):
            fake.canned = body
            with pytest.raises(ProtocolError) as bad:
                await xapi.call("VM.get_all")
            assert "VM.get_all" in str(bad.value)
            assert URL in str(bad.value)
    async with client(fake, protocol="xmlrpc") as xapi:
        fake.canned, fake.canned_type = b"<html>oops</html>", "text/html"
        with pytest.raises(ProtocolError, match=r"VM\.get_all"):
            await xapi.call("VM.get_all")


async def test_a_proxy_error_is_a_json_rpc_error_with_its_text() -> None:
    from aioxend.xenapi import JsonRpcError

    fake = FakeXapi()
    async with client(fake, protocol="jsonrpc") as xapi:
        fake.canned = b'{"jsonrpc":"2.0","id":null,"error":{"code":500,"message":"Bad gateway"}}'
        with pytest.raises(JsonRpcError, match="Bad gateway") as err:
            await xapi.call("VM.get_all")
        assert err.value.code == 500


async def test_http_errors_are_http_status_errors() -> None:
    def handler(request: object) -> tuple[int, list[tuple[str, str]], bytes]:
        return 502, [("content-type", "text/plain")], b"upstream down"

    transport = MockTransport(handler)
    with pytest.raises(HTTPStatusError, match="upstream down"):
        async with XenAPIClient(URL, protocol="xmlrpc", transport=lambda e: transport):
            pass
    assert transport.closed


async def test_extra_headers_go_on_every_request() -> None:
    fake = FakeXapi()
    made: list[MockTransport] = []

    def factory(endpoint: Endpoint) -> MockTransport:
        made.append(fake.transport(endpoint))
        return made[-1]

    async with XenAPIClient(
        URL,
        transport=factory,
        username="root",
        password="xenroot",
        headers={"traceparent": "00-ab"},
    ) as xapi:
        await xapi.call("VM.get_all")
    assert all(("traceparent", "00-ab") in r.headers for r in made[0].requests)


def test_options_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="protocol"):
        connect(URL, protocol="soap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        connect(URL, timeout=0)
    with pytest.raises(ValueError, match="Xen-API"):
        connect("ssh://host/")
    with pytest.raises(ValueError, match="scheme"):
        connect("ftp://host/")


def test_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.path.exists", lambda path: path == LOCAL_XAPI[len("unix://") :])
    assert default_url() == LOCAL_XAPI
    monkeypatch.setattr("os.path.exists", lambda path: False)
    assert default_url() == LOCAL_XEND
    assert connect().url == LOCAL_XEND


async def test_calls_outside_the_context_raise_runtime_error() -> None:
    fake = FakeXapi()
    xapi = client(fake)
    with pytest.raises(RuntimeError, match="open the client"):
        await xapi.call("VM.get_all")
    async with xapi:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await xapi.call("VM.get_all")
    with pytest.raises(RuntimeError):
        async with xapi:
            pass


async def test_limits_bound_what_an_xmlrpc_answer_may_decode_to() -> None:
    from aioxend.errors import LimitExceeded
    from aioxend.xmlrpc import Limits

    fake = FakeXapi(vms=20)
    async with client(fake, protocol="xmlrpc", limits=Limits(max_elements=60)) as xapi:
        assert len(await xapi.call("VM.get_all", read=True)) == 20  # type: ignore[arg-type]
        with pytest.raises(LimitExceeded, match="max_elements") as info:
            await xapi.call("VM.get_all_records", read=True)
        assert any("VM.get_all_records" in note for note in info.value.__notes__)
    async with client(FakeXapi(vms=20), protocol="xmlrpc") as xapi:
        records = await xapi.call("VM.get_all_records", read=True)
        assert isinstance(records, dict)
        assert len(records) == 20
    with pytest.raises(TypeError, match=r"aioxend\.xmlrpc\.Limits"):
        client(fake, limits={"max_bytes": 1})
