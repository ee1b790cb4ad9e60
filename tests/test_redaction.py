"""Secrets stay out of sight: ``redact`` itself (by example and by property), and full
sessions of both clients logged at TRACE whose every log line, hook event, exception
message, note and ``repr`` is searched for the password and the session references."""

from __future__ import annotations

import base64
import json
import os
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aioxend
from aioxend._log import REDACTED, Secrets, redact
from aioxend.emulator import Emulator
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.hooks import CallEvent, Hooks
from aioxend.transport import parse_url
from aioxend.xenapi import VMRef, XenAPIClient, connect, errors
from aioxend.xenapi._client import Protocol
from tests._logcapture import collecting

PASSWORD = 'Pa55-w&rd<"ü">'
BASIC = base64.b64encode(f"root:{PASSWORD}".encode()).decode()


def test_redact_examples() -> None:
    secret = "OpaqueRef:0a1b2c3d-4e5f"
    assert redact(f"VM.start: SESSION_INVALID ({secret})", [secret]) == (
        f"VM.start: SESSION_INVALID ({REDACTED})"
    )
    assert redact("Authorization: Basic cm9vdDpwdw==\r\nHost: x") == (
        f"Authorization: {REDACTED}\r\nHost: x"
    )
    assert redact("[('Authorization', 'Bearer abc'), ('Cookie', 'session_id=1')]") == (
        f"[('Authorization', '{REDACTED}'), ('Cookie', '{REDACTED}')]"
    )
    assert redact("PUT /import?session_id=OpaqueRef:ab&task_id=t HTTP/1.1") == (
        f"PUT /import?session_id={REDACTED}&task_id=t HTTP/1.1"
    )
    assert redact("https://root:hunter2@pool/") == f"https://root:{REDACTED}@pool/"
    assert redact("nothing to hide, OpaqueRef:vm1") == "nothing to hide, OpaqueRef:vm1"


@given(
    secret=st.text(min_size=1).filter(lambda s: s not in REDACTED and s.strip() == s),
    before=st.text(),
    after=st.text(),
    spelling=st.sampled_from(["plain", "xml", "json", "ascii-json", "form"]),
)
def test_a_known_secret_never_survives_in_any_spelling(
    secret: str, before: str, after: str, spelling: str
) -> None:
    xml = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    form = {
        "plain": secret,
        "xml": xml,
        "json": json.dumps(secret, ensure_ascii=False)[1:-1],
        "ascii-json": json.dumps(secret)[1:-1],
        "form": urllib.parse.quote_plus(secret),
    }[spelling]
    cleaned = redact(before + form + after, [secret])
    assert form not in cleaned.replace(REDACTED, "\0") or form in (before + after)


def test_secrets_keep_the_last_few() -> None:
    secrets = Secrets("pw", None, "")
    for n in range(20):
        secrets.add(f"OpaqueRef:{n}")
    assert secrets.values[0] == "OpaqueRef:12"
    assert len(secrets.values) == 8


class Evidence:
    """Everything a session showed: log lines, hook events, exceptions and reprs."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.events: list[CallEvent] = []
        self.hooks = Hooks(self.events.append, self.events.append, self.events.append)

    def exception(self, exc: BaseException) -> None:
        self.texts += [str(exc), repr(exc), *getattr(exc, "__notes__", [])]
        if exc.__cause__ is not None:
            self.exception(exc.__cause__)

    def search(self, lines: list[str], secrets: list[str]) -> None:
        shown = [*lines, *self.texts, *(repr(e) for e in self.events)]
        assert shown
        assert secrets
        for secret in secrets:
            for text in shown:
                assert secret not in text, f"{secret!r} shown in {text!r}"


@pytest.fixture
def folder() -> Iterator[str]:
    path = f"/tmp/redact{uuid.uuid4().hex[:10]}"
    os.mkdir(path, 0o700)
    try:
        yield path
    finally:
        for name in os.listdir(path):
            os.unlink(f"{path}/{name}")
        os.rmdir(path)


async def _xenapi_session(
    server: XenAPIServer, url: str, protocol: Protocol, seen: Evidence
) -> list[str]:
    """Log in, call, fail, lose the session and log in again, adopt a dead session, and be
    refused a wrong password; the session references the server made."""
    async with connect(
        url,
        username="root",
        password=PASSWORD,
        protocol=protocol,
        hooks=seen.hooks,
    ) as xapi:
        seen.texts.append(repr(xapi))
        vms = await xapi.VM.get_all_records()
        running = [ref for ref, vm in vms.items() if vm.power_state.value == "Running"]
        for call in (
            xapi.VM.start(running[0], False, False),
            xapi.VM.get_record(VMRef("OpaqueRef:no-such-vm")),
        ):
            with pytest.raises(aioxend.XenAPIError) as failed:
                await call
            seen.exception(failed.value)
        first = xapi.session_id
        assert first is not None
        server.pool.expire_session(first)
        await xapi.VM.get_all()  # a read: logs in again and resends
        assert xapi.session_id != first
        assert xapi.session_id is not None
        sessions = [first, xapi.session_id]
        seen.texts.append(repr(xapi))
    dead = XenAPIClient(url, session_id=first, protocol=protocol, hooks=seen.hooks)
    with pytest.raises(errors.SessionInvalid) as invalid:
        async with dead:
            pass
    seen.exception(invalid.value)
    seen.texts.append(repr(dead))
    wrong = connect(url, username="root", password=PASSWORD + "x", protocol=protocol)
    with pytest.raises(errors.SessionAuthenticationFailed) as refused:
        async with wrong:
            pass
    seen.exception(refused.value)
    return sessions


@pytest.mark.parametrize(
    ("dialect", "protocol"), [("xapi", "jsonrpc"), ("xapi", "xmlrpc"), ("xend", "auto")]
)
async def test_a_full_xenapi_session_shows_no_secret(
    folder: str, dialect: str, protocol: Protocol
) -> None:
    seen = Evidence()
    async with XenAPIServer(
        tcp="127.0.0.1:0",
        unix=f"{folder}/xapi.sock",
        dialect=dialect,
        vms=3,
        users={"root": PASSWORD, "admin": "other"},
    ) as server:
        with collecting() as logged:
            sessions = []
            for url in (server.url, f"httpu://{folder}/xapi.sock"):
                sessions += await _xenapi_session(server, url, protocol, seen)
    assert {e.protocol for e in seen.events} >= ({"xmlrpc"} if dialect == "xend" else {protocol})
    if dialect == "xend":
        assert all(uuid.UUID(s) for s in sessions)  # xend's sessions are UUIDs
    else:
        assert all(s.startswith("OpaqueRef:") for s in sessions)
    wire = [line for line in logged.lines if "aioxend.wire" in line]
    assert any("session.login_with_password" in line for line in wire)
    assert any(REDACTED in line for line in wire)
    escaped = [PASSWORD.replace("&", "&amp;").replace("<", "&lt;"), json.dumps(PASSWORD)[1:-1]]
    seen.search(logged.lines, [PASSWORD, *escaped, *sessions])


async def test_legacy_client_shows_no_password_or_authorization(folder: str) -> None:
    seen = Evidence()
    with pytest.raises(ValueError, match="passwords do not belong") as refused:
        parse_url(f"http://root:{urllib.parse.quote(PASSWORD)}@xen1:8006/")
    seen.exception(refused.value)
    with pytest.raises(ValueError, match="passwords do not belong") as refused:
        aioxend.connect(f"http://root:{urllib.parse.quote(PASSWORD)}@xen1:8006/")
    seen.exception(refused.value)
    async with Emulator(
        domains=2, xmlrpc_unix=f"{folder}/x.sock", sxp_unix=f"{folder}/s.sock"
    ) as emu:
        with collecting() as logged:
            for url in (emu.xmlrpc_url, emu.sxp_url):
                assert url is not None
                async with aioxend.connect(
                    url, headers={"Authorization": f"Basic {BASIC}"}, hooks=seen.hooks
                ) as client:
                    await client.pause("vm1")
                    await client.unpause("vm1")
                    with pytest.raises(aioxend.InvalidDomain) as failed:
                        await client.pause("vm9")
                    seen.exception(failed.value)
                    seen.texts.append(repr(client))
    assert {e.protocol for e in seen.events} >= {"xmlrpc", "sxp"}
    assert any("Authorization: <redacted>" in line for line in logged.lines)
    seen.search(logged.lines, [PASSWORD, urllib.parse.quote(PASSWORD), BASIC])
