"""The client against the Xen-API emulator: {JSON-RPC, XML-RPC} x {TCP, UNIX, TLS}, xend's
dialect, the pool redirect, expiry, adopted sessions, cancellation, and the official SDK
as the oracle (it must see the same records and errors as we do)."""

from __future__ import annotations

import functools
import os
import shutil
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme
import XenAPI  # type: ignore[import-untyped]

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import VmPowerState, VMRef, XenAPIClient, connect, errors
from aioxend.xenapi._generated.vm import VMRecord


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "127.0.0.2", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return ca, str(cert_file), str(key_file)


@pytest.fixture(scope="module")
def pool(tls: tuple[trustme.CA, str, str]) -> Iterator[tuple[XenAPIServer, XenAPIServer]]:
    """A two-host xapi pool on TCP and a UNIX socket, and one with TLS."""
    folder = f"/tmp/xclient{uuid.uuid4().hex[:12]}"
    os.mkdir(folder, 0o700)
    _, cert, key = tls
    try:
        with (
            XenAPIServer.in_thread(
                tcp="127.0.0.1:0", unix=f"{folder}/xapi.sock", hosts=2, vms=4, seed=1
            ) as plain,
            XenAPIServer.in_thread(
                tcp="127.0.0.1:0", hosts=2, vms=4, seed=1, tls_cert=cert, tls_key=key
            ) as secure,
        ):
            yield plain, secure
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def xend() -> Iterator[XenAPIServer]:
    folder = f"/tmp/xclient{uuid.uuid4().hex[:12]}"
    os.mkdir(folder, 0o700)
    try:
        with XenAPIServer.in_thread(
            tcp="127.0.0.1:0", unix=f"{folder}/xen-api.sock", dialect="xend", seed=1
        ) as server:
            yield server
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def trust(tls: tuple[trustme.CA, str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    tls[0].configure_trust(context)
    return context


def where(
    kind: str, pool: tuple[XenAPIServer, XenAPIServer], tls: tuple[trustme.CA, str, str]
) -> tuple[XenAPIServer, str, dict[str, Any]]:
    plain, secure = pool
    if kind == "tls":
        return secure, secure.url, {"ssl_context": trust(tls)}
    url = plain.urls[0 if kind == "tcp" else 1]
    if kind == "unix":
        url = url.replace("httpu://", "unix://")  # both spellings name the socket
    return plain, url, {}


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
@pytest.mark.parametrize("kind", ["tcp", "unix", "tls"])
async def test_matrix(
    protocol: str,
    kind: str,
    pool: tuple[XenAPIServer, XenAPIServer],
    tls: tuple[trustme.CA, str, str],
) -> None:
    server, url, options = where(kind, pool, tls)
    sessions_before = set(server.pool.sessions())
    async with connect(
        url,
        username="root",
        password="xenroot",
        protocol=protocol,  # type: ignore[arg-type]
        originator="aioxend-client-tests",
        **options,
    ) as xapi:
        assert xapi.protocol == protocol
        assert xapi.session_id in server.pool.sessions()
        assert xapi.api_version is not None
        assert xapi.api_version[0] >= 1
        records = await xapi.VM.get_all_records()
        names = sorted(r.name_label for r in records.values() if not r.is_control_domain)
        assert names == ["vm1", "vm2", "vm3", "vm4"]
        [ref] = await xapi.VM.get_by_name_label("vm2")
        record = await xapi.VM.get_record(ref)
        assert record == records[ref]
        assert isinstance(record.memory_static_max, int)
        state = await xapi.VM.get_power_state(ref)
        assert state is VmPowerState.HALTED
        assert await xapi.call("VM.get_power_state", ref) == "Halted"
        await xapi.VM.start(ref, False, False)
        assert await xapi.VM.get_power_state(ref) is VmPowerState.RUNNING
        with pytest.raises(errors.VmBadPowerState) as bad:
            await xapi.VM.start(ref, False, False)
        assert bad.value.params == [ref, "halted", "running"]
        await xapi.VM.hard_shutdown(ref)
        with pytest.raises(errors.HandleInvalid) as handle:
            await xapi.VM.get_record(VMRef("OpaqueRef:no-such-vm"))
        assert handle.value.params == ["VM", "OpaqueRef:no-such-vm"]
        with pytest.raises(errors.MessageMethodUnknown):
            await xapi.call("VM.no_such_message", ref)
        with pytest.raises(errors.MessageParameterCountMismatch):
            await xapi.call("VM.get_record")
    assert set(server.pool.sessions()) == sessions_before  # logged out


async def test_auto_chooses_json_rpc_on_xapi_and_xml_rpc_where_there_is_none(
    pool: tuple[XenAPIServer, XenAPIServer],
) -> None:
    plain, _ = pool
    async with connect(plain.url, username="root", password="xenroot") as xapi:
        assert xapi.protocol == "jsonrpc"
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", jsonrpc=False) as old:
        async with connect(old.url, username="root", password="xenroot") as xapi:
            assert xapi.protocol == "xmlrpc"
            assert len(await xapi.VM.get_all()) >= 3


@pytest.mark.parametrize("transport", ["tcp", "unix"])
async def test_xend_dialect(transport: str, xend: XenAPIServer) -> None:
    url = xend.urls[0 if transport == "tcp" else 1]
    async with connect(url, username="root", password="xenroot") as xapi:
        assert xapi.protocol == "xmlrpc"  # auto: /jsonrpc is a 404 on xend
        assert xapi.session_id is not None
        assert not xapi.session_id.startswith("OpaqueRef:")  # xend's UUID references
        assert xapi.api_version is not None
        records = await xapi.VM.get_all_records()
        guests = {r.name_label: ref for ref, r in records.items() if not r.is_control_domain}
        assert sorted(guests) == ["vm1", "vm2", "vm3"]
        ref = guests["vm2"]
        assert (await xapi.VM.get_record(ref)).memory_static_max > 0
        await xapi.VM.start(ref, False, False)
        with pytest.raises(errors.VmBadPowerState):
            await xapi.VM.start(ref, False, False)
        await xapi.VM.hard_shutdown(ref)
        with pytest.raises(errors.MessageMethodUnknown):
            await xapi.call("pool.get_all")  # xend has no pool class
        session = xapi.session_id
    assert session not in xend.pool.sessions()


async def test_wrong_password(pool: tuple[XenAPIServer, XenAPIServer]) -> None:
    plain, _ = pool
    with pytest.raises(errors.SessionAuthenticationFailed) as failed:
        async with connect(plain.url, username="root", password="not-the-password"):
            pass
    assert "not-the-password" not in str(failed.value)


@pytest.mark.parametrize("kind", ["tcp", "tls"])
async def test_host_is_slave_follows_the_master(
    kind: str, pool: tuple[XenAPIServer, XenAPIServer], tls: tuple[trustme.CA, str, str]
) -> None:
    server, _, options = where(kind, pool, tls)
    member = server.member_urls[0]
    assert "127.0.0.2" in member
    async with connect(member, username="root", password="xenroot", **options) as xapi:
        assert "127.0.0.1" in xapi.url
        assert xapi.session_id in server.pool.sessions()
        assert await xapi.VM.get_all()
    assert xapi.session_id not in server.pool.sessions()


@pytest.mark.parametrize("protocol", ["jsonrpc", "xmlrpc"])
async def test_expired_session_logs_in_again(
    protocol: str, pool: tuple[XenAPIServer, XenAPIServer]
) -> None:
    plain, _ = pool
    async with connect(
        plain.url,
        username="root",
        password="xenroot",
        protocol=protocol,  # type: ignore[arg-type]
    ) as xapi:
        first = xapi.session_id
        plain.expire_session(first)
        assert len(await xapi.VM.get_all()) >= 4  # a read: sent again on the new session
        assert xapi.session_id != first
        [ref] = await xapi.VM.get_by_name_label("vm2")
        plain.expire_session(xapi.session_id)
        with pytest.raises(errors.SessionInvalid):
            await xapi.VM.start(ref, False, False)  # not a read: not sent again
        assert await xapi.VM.get_power_state(ref) is VmPowerState.HALTED


async def test_adopted_session(pool: tuple[XenAPIServer, XenAPIServer]) -> None:
    plain, _ = pool
    async with connect(plain.url, username="root", password="xenroot") as owner:
        session = owner.session_id
        async with connect(plain.url, session_id=session, protocol="xmlrpc") as adopted:
            assert adopted.session_id == session
            assert await adopted.VM.get_all()
        assert session in plain.pool.sessions()  # the adopter did not log it out
        plain.expire_session(session)
        with pytest.raises(errors.SessionInvalid):  # entering reads api_version: refused
            async with connect(plain.url, session_id=session):
                pass


async def test_adopted_session_is_never_replaced(pool: tuple[XenAPIServer, XenAPIServer]) -> None:
    plain, _ = pool
    async with connect(plain.url, username="root", password="xenroot") as owner:
        session = owner.session_id
        async with connect(plain.url, session_id=session) as adopted:
            plain.expire_session(session)
            with pytest.raises(errors.SessionInvalid):
                await adopted.VM.get_all()
            assert adopted.session_id == session


async def test_cancellation_mid_call_leaves_the_client_healthy(
    pool: tuple[XenAPIServer, XenAPIServer],
) -> None:
    plain, _ = pool
    async with connect(plain.url, username="root", password="xenroot") as xapi:
        for _ in range(5):
            with anyio.move_on_after(0.001):
                await xapi.VM.get_all_records()
        assert len(await xapi.VM.get_all()) >= 4
        session = xapi.session_id
    assert session not in plain.pool.sessions()


def sdk_login(url: str) -> Any:
    session = XenAPI.Session(url)
    session.xenapi.login_with_password("root", "xenroot", "1.0", "oracle")
    return session


async def test_the_official_sdk_sees_what_we_see(pool: tuple[XenAPIServer, XenAPIServer]) -> None:
    plain, _ = pool
    sdk = sdk_login(plain.url)
    try:
        theirs = await anyio.to_thread.run_sync(sdk.xenapi.VM.get_all_records)
        for protocol in ("xmlrpc", "jsonrpc"):
            async with connect(
                plain.url,
                username="root",
                password="xenroot",
                protocol=protocol,
            ) as xapi:
                ours = await xapi.VM.get_all_records()
                assert set(ours) == set(theirs)
                for ref, record in theirs.items():
                    assert ours[VMRef(ref)] == VMRecord.from_wire(record)
                raw = await xapi.call("VM.get_record", next(iter(theirs)), read=True)
                assert isinstance(raw, dict)
                assert set(raw) == set(theirs[next(iter(theirs))])
                # the same errors, code and parameters
                cases: list[tuple[str, tuple[Any, ...]]] = [
                    ("VM.get_record", ("OpaqueRef:nothing",)),
                    ("VM.no_such_message", ()),
                    ("VM.get_record", ("a", "b")),
                ]
                [halted] = await xapi.VM.get_by_name_label("vm2")
                cases.append(("VM.unpause", (halted,)))
                for method, params in cases:
                    with pytest.raises(errors.XenAPIError) as ours_error:
                        await xapi.call(method, *params)
                    cls, name = method.split(".")
                    call = getattr(getattr(sdk.xenapi, cls), name)
                    with pytest.raises(XenAPI.Failure) as their_error:
                        await anyio.to_thread.run_sync(functools.partial(call, *params))
                    assert [ours_error.value.code, *ours_error.value.params] == [
                        str(d) for d in their_error.value.details
                    ]
    finally:
        sdk.xenapi.session.logout()


def test_readme_forms_parse() -> None:
    for url in ("https://pool.example/", "http://host:9363/", "httpu:///var/run/x.sock"):
        assert XenAPIClient(url).url == url
    assert Path("/").exists()


def test_the_client_runs_on_trio(pool: tuple[XenAPIServer, XenAPIServer]) -> None:
    import trio

    plain, _ = pool
    seen: list[tuple[str, int]] = []

    async def main() -> None:
        for protocol in ("jsonrpc", "xmlrpc"):
            async with connect(
                plain.url,
                username="root",
                password="xenroot",
                protocol=protocol,
            ) as xapi:
                seen.append((xapi.protocol, len(await xapi.VM.get_all())))

    trio.run(main)
    assert [protocol for protocol, _ in seen] == ["jsonrpc", "xmlrpc"]
    assert all(count >= 4 for _, count in seen)
