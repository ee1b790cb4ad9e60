"""Logging: the loggers, one DEBUG line per call sent and ended, the wire trace at TRACE,
nothing at INFO, nothing done when logging is off, ``-v``/``-vv`` and ``AIOXEND_LOG``."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

import aioxend
from aioxend import _log, _observe, xenapi
from aioxend.emulator import Emulator
from aioxend.transport import MockConnector, RawTransport
from aioxend.xenapi import XenAPIClient
from tests._logcapture import OK_NIL, collecting, http, jsonrpc_server, xml_answer


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    folder = f"/tmp/logs{uuid.uuid4().hex[:10]}"
    os.mkdir(folder, 0o700)
    try:
        with Emulator.in_thread(
            domains=2, xmlrpc_unix=f"{folder}/x.sock", sxp_unix=f"{folder}/s.sock"
        ) as emu:
            yield emu
    finally:
        for name in ("x.sock", "s.sock"):
            if os.path.exists(f"{folder}/{name}"):
                os.unlink(f"{folder}/{name}")
        os.rmdir(folder)


def test_loggers_are_silent_by_default() -> None:
    root = logging.getLogger("aioxend")
    assert any(isinstance(h, logging.NullHandler) for h in root.handlers)
    for name in ("transport", "client", "xenapi", "emulator", "wire"):
        assert logging.getLogger(f"aioxend.{name}").parent is root
    assert logging.getLevelName(_log.TRACE) == "TRACE"
    assert _log.TRACE < logging.DEBUG


async def test_debug_lines_of_a_call_and_its_answer(emulator: Emulator) -> None:
    assert emulator.xmlrpc_url is not None
    with collecting(logging.DEBUG) as seen:
        async with aioxend.connect(emulator.xmlrpc_url) as client:
            await client.pause("vm1")
            await client.unpause("vm1")
            with pytest.raises(aioxend.InvalidDomain):
                await client.pause("vm9")
    lines = seen.messages("aioxend.client")
    url = emulator.xmlrpc_url
    assert any(m.endswith(f" pause vm1 -> {url} (xmlrpc)") for m in lines), lines
    [answer] = [m for m in lines if " pause vm1 <- " in m]
    assert "<- 200 in " in answer
    assert "1 request, 174 B sent, 114 B received" in answer
    assert answer.endswith("reused connection")
    [connect] = [m for m in lines if " connect <- " in m]
    assert connect.endswith("new connection")
    [failed] = [m for m in lines if " pause vm9 <- " in m]
    assert "<- InvalidDomain in " in failed
    assert "does not exist (fault 3)" in failed
    assert "[200, 1 request" in failed
    assert not [r for r in seen.records if r.name == "aioxend.wire"]  # TRACE is below
    assert all(r.levelno == logging.DEBUG for r in seen.records)


async def test_sxp_call_of_many_requests_is_one_line_pair(emulator: Emulator) -> None:
    assert emulator.sxp_url is not None
    with collecting(logging.DEBUG) as seen:
        async with aioxend.connect(emulator.sxp_url, protocol="sxp") as client:
            await client.domains()
    [answer] = [m for m in seen.messages("aioxend.client") if " domains <- " in m]
    assert "4 requests" in answer
    assert "new connection" in answer
    opened = [m for m in seen.messages("aioxend.transport") if m.startswith("opened connection")]
    assert opened
    assert all("UNIX socket" in m for m in opened)


async def test_wire_trace_shows_bodies_cut_at_the_configured_length(emulator: Emulator) -> None:
    assert emulator.xmlrpc_url is not None
    before = _log._settings["body_bytes"]
    _log._settings["body_bytes"] = 60
    try:
        with collecting() as seen:
            async with aioxend.connect(emulator.xmlrpc_url) as client:
                await client.pause("vm2")
                await client.unpause("vm2")
    finally:
        _log._settings["body_bytes"] = before
    wire = seen.messages("aioxend.wire")
    sent = [m for m in wire if ">> POST /RPC2 HTTP/1.1" in m]
    got = [m for m in wire if "<< HTTP/1.1 200 OK" in m]
    assert len(sent) == len(got) == 3  # the probe, pause, unpause
    pause = sent[1]
    assert "Content-Type: text/xml" in pause
    assert pause.endswith("<methodCall><methodNa... (174 bytes)")
    assert "content-length: 5367" in got[0]
    assert got[0].endswith("... (5367 bytes)")
    ids = {m.split()[0] for m in wire}
    assert len(ids) == 3  # each call's lines carry its number


@pytest.fixture
def quiet() -> Iterator[None]:
    """The aioxend loggers at WARNING, whatever an earlier test configured."""
    before = _log.ROOT.level
    _log.ROOT.setLevel(logging.WARNING)
    try:
        yield
    finally:
        _log.ROOT.setLevel(before)


@pytest.mark.usefixtures("quiet")
async def test_nothing_is_observed_when_logging_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tally(*args: object, **kwargs: object) -> object:
        raise AssertionError("a Tally was made with logging off")

    monkeypatch.setattr(_observe, "Tally", no_tally)
    connector = MockConnector(lambda data: http(OK_NIL))
    async with aioxend.connect("http://xen1:8006/", protocol="xmlrpc", connector=connector) as c:
        await c.pause("vm1")
        await c.call("xend.domain.unpause", "vm1")
    connector = MockConnector(jsonrpc_server([]))

    def transport(endpoint: object) -> RawTransport:
        return RawTransport(endpoint, connector=connector)  # type: ignore[arg-type]

    async with XenAPIClient("http://xapi1/", protocol="jsonrpc", transport=transport) as xapi:
        assert await xapi.call("VM.get_power_state", "OpaqueRef:vm1") == "ok"


async def test_a_resent_read_says_so() -> None:
    connector: MockConnector
    answers = iter([xml_answer(["system.listMethods"]), None, xml_answer(["a", "b"])])

    def respond(data: bytes) -> bytes | None:
        answer = next(answers)
        if answer is None:  # the kept-alive connection dies before answering
            connector.streams[0].feed_eof()
        return answer

    connector = MockConnector(respond)
    with collecting(logging.DEBUG) as seen:
        async with aioxend.connect("http://xen1:8006/", connector=connector) as client:
            assert await client.list_methods() == ["a", "b"]
    [line] = [m for m in seen.messages("aioxend.client") if " list_methods <- " in m]
    assert "1 request, 125 B sent, 206 B received, new connection, resent 1x" in line
    assert any("resending" in m for m in seen.messages("aioxend.transport"))


async def test_xenapi_lines_name_the_method_and_object() -> None:
    seen_bytes: list[bytes] = []
    connector = MockConnector(jsonrpc_server(seen_bytes))

    def transport(endpoint: object) -> RawTransport:
        return RawTransport(endpoint, connector=connector)  # type: ignore[arg-type]

    with collecting(logging.DEBUG) as seen:
        async with XenAPIClient(
            "http://xapi1/", protocol="jsonrpc", password="pw-123456", transport=transport
        ) as xapi:
            await xapi.call("VM.get_power_state", "OpaqueRef:vm1")
            with pytest.raises(xenapi.errors.HandleInvalid):
                await xapi.call("VM.get_record", "OpaqueRef:bad")
    lines = seen.messages("aioxend.xenapi")
    assert any(
        m.endswith(" VM.get_power_state OpaqueRef:vm1 -> http://xapi1/ (jsonrpc)") for m in lines
    )
    assert any(" VM.get_record OpaqueRef:bad <- HandleInvalid in " in m for m in lines)
    assert any(" session.login_with_password <- 200 " in m for m in lines)
    assert any(" session.logout <- 200 " in m for m in lines)


def _run(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_cli_verbose_and_very_verbose(emulator: Emulator) -> None:
    url = emulator.xmlrpc_url
    assert url is not None
    plain = _run([sys.executable, "-m", "aioxend", "--url", url, "pause", "vm1"])
    assert plain.returncode == 0
    assert plain.stderr == ""
    debug = _run([sys.executable, "-m", "aioxend", "--url", url, "unpause", "vm1", "-v"])
    assert debug.returncode == 0, debug.stderr
    assert "DEBUG aioxend.client: #2 unpause vm1 -> " in debug.stderr
    assert " unpause vm1 <- 200 in " in debug.stderr
    assert "TRACE" not in debug.stderr
    trace = _run([sys.executable, "-m", "aioxend", "-vv", "--url", url, "list"])
    assert trace.returncode == 0, trace.stderr
    assert "TRACE aioxend.wire: #2 >> POST /RPC2 HTTP/1.1" in trace.stderr
    assert "<methodName>xend.domains_with_state</methodName>" in trace.stderr


PROGRAM = """
import asyncio, sys, aioxend
async def main():
    async with aioxend.connect(sys.argv[1]) as client:
        await client.domain("vm1")
asyncio.run(main())
"""


@pytest.mark.parametrize("level", ["debug", "trace", "bogus"])
def test_aioxend_log_environment_variable(emulator: Emulator, level: str) -> None:
    url = emulator.xmlrpc_url
    assert url is not None
    env = {"AIOXEND_LOG": level, "AIOXEND_LOG_BODY": "100"}
    proc = _run([sys.executable, "-c", PROGRAM, url], env)
    assert proc.returncode == 0, proc.stderr
    if level == "bogus":
        assert "ignoring AIOXEND_LOG='bogus'" in proc.stderr
        assert "DEBUG" not in proc.stderr
        return
    assert " domain vm1 <- 200 in " in proc.stderr
    assert ("TRACE aioxend.wire" in proc.stderr) is (level == "trace")
    if level == "trace":
        assert "... (" in proc.stderr  # bodies cut at 100 bytes


def test_configure_logging_refuses_what_it_cannot_use() -> None:
    with pytest.raises(ValueError, match="'debug', 'trace' or 'off'"):
        _log.configure_logging("loud")
    with pytest.raises(ValueError, match="body_bytes"):
        _log.configure_logging("debug", body_bytes=-1)


def test_configure_logging_on_and_off() -> None:
    stream = io.StringIO()
    _log.configure_logging("trace", stream=stream)
    try:
        assert _log.ROOT.isEnabledFor(_log.TRACE)
        _log.CLIENT.debug("seen")
    finally:
        _log.configure_logging("off")
    _log.CLIENT.debug("not seen")
    assert stream.getvalue().endswith("DEBUG aioxend.client: seen\n")
    assert _log.ROOT.level == logging.NOTSET


async def test_emulator_logs_what_it_serves() -> None:
    folder = f"/tmp/logs{uuid.uuid4().hex[:10]}"
    os.mkdir(folder, 0o700)
    try:
        with collecting(logging.DEBUG) as seen:
            async with Emulator(domains=1, xmlrpc_unix=f"{folder}/x.sock") as emu:
                assert emu.xmlrpc_url is not None
                async with aioxend.connect(emu.xmlrpc_url) as client:
                    await client.pause("vm1")
                    with pytest.raises(aioxend.InvalidDomain):
                        await client.pause("vm9")
    finally:
        os.rmdir(folder)
    said = seen.messages("aioxend.emulator")
    assert f"serving xmlrpc at httpu://{folder}/x.sock" in said
    assert "xmlrpc xend.domain.pause: answered" in said
    assert "xmlrpc xend.domain.pause: fault 3" in said
