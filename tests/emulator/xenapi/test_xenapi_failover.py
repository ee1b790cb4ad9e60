"""The emulator's failover faults, seen by the official SDK: a master that crashes or
hangs, and a member promoted to master (``kill_master``, ``promote``)."""

from __future__ import annotations

import socket
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import XenAPI  # type: ignore[import-untyped]

from aioxend.emulator import Emulator
from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import failure, login


@pytest.fixture
def pool() -> Iterator[XenAPIServer]:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", hosts=3, vms=2) as server:
        yield server


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


def test_promote_makes_the_member_master_and_the_others_name_it(pool: XenAPIServer) -> None:
    master, member, other = pool.url, *pool.member_urls
    before = login(master)
    assert failure(login, other) == ["HOST_IS_SLAVE", "127.0.0.1"]
    pool.promote(member)
    assert pool.url == member
    assert sorted(pool.member_urls) == sorted([master, other])
    assert failure(login, other) == ["HOST_IS_SLAVE", "127.0.0.2"]
    assert failure(login, master) == ["HOST_IS_SLAVE", "127.0.0.2"]  # alive, demoted
    # the sessions of the old master are gone: a client logs in at the new one
    answer: Any = xmlrpc.client.ServerProxy(member).VM.get_all(before.handle)
    assert answer["ErrorDescription"][0] == "SESSION_INVALID"
    session = login(member)
    [pool_ref] = session.xenapi.pool.get_all()
    [new_master] = session.xenapi.host.get_by_name_label("host1")
    assert session.xenapi.pool.get_master(pool_ref) == new_master
    assert pool.pool.master == new_master


def test_promote_by_name_or_ref(pool: XenAPIServer) -> None:
    pool.promote("host2")
    assert pool.url == pool._host_urls[pool.pool.master][0]
    assert pool.pool.get("host", pool.pool.master)["name_label"] == "host2"
    pool.promote(pool.pool.hosts[1])
    with pytest.raises(ValueError, match="no host of this pool"):
        pool.promote("host9")


def test_crashed_master_refuses_and_resets(pool: XenAPIServer) -> None:
    master = pool.url
    session = login(master)
    pool.faults.add("latency", "VM.get_all", delay=5.0, count=1)
    caught: list[BaseException] = []

    def slow_call() -> None:
        try:
            session.xenapi.VM.get_all()
        except BaseException as exc:  # what the in-flight call saw
            caught.append(exc)

    thread = threading.Thread(target=slow_call)
    thread.start()
    deadline = time.monotonic() + 5
    while pool.liveness.serving(pool.pool.master) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    pool.kill_master()
    thread.join(5)
    assert time.monotonic() - started < 4  # reset at once, not after the 5 s latency
    assert caught
    assert not isinstance(caught[0], XenAPI.Failure)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address(master), timeout=2).close()
    assert pool.liveness.how(pool.pool.master) == "crash"
    assert failure(login, pool.member_urls[0]) == ["HOST_IS_SLAVE", "127.0.0.1"]  # not yet


def test_hung_master_accepts_and_never_answers(pool: XenAPIServer) -> None:
    pool.kill_master("hang")
    with socket.create_connection(address(pool.url), timeout=2) as sock:
        body = b"<?xml version='1.0'?><methodCall><methodName>VM.get_all</methodName></methodCall>"
        head = f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_kill_refuses_bad_arguments(pool: XenAPIServer) -> None:
    with pytest.raises(ValueError, match="crash"):
        pool.kill_master("explode")  # type: ignore[arg-type]
    pool.kill_master()
    with pytest.raises(RuntimeError, match="already dead"):
        pool.kill_master()


def test_the_legacy_emulator_delegates_to_its_pool() -> None:
    with Emulator.in_thread(
        xmlrpc_tcp="127.0.0.1:0", xenapi_tcp="127.0.0.1:0", xenapi_hosts=2
    ) as emu:
        assert emu.xenapi is not None
        member = emu.xenapi.member_urls[0]
        emu.kill_master()
        emu.promote(member)
        assert emu.xenapi.url == member
        assert login(member).xenapi.VM.get_all()
    with (
        Emulator.in_thread(xmlrpc_tcp="127.0.0.1:0") as plain,
        pytest.raises(RuntimeError, match="no Xen-API pool"),
    ):
        plain.promote("host1")
