"""ssh:// transport: HTTP over a command's pipes, with a local relay standing in for ssh."""

from __future__ import annotations

import shlex
import sys

import anyio
import pytest

from aioxend.errors import ConnectError
from aioxend.transport import Request, open_transport
from aioxend.transport._process import ssh_argv
from aioxend.transport._url import parse_url
from tests.transport.conftest import Start
from tests.transport.transport_servers import Peer, first_then, serve


def relay_to(path: str) -> list[str]:
    return [sys.executable, "-m", "aioxend.transport._relay", path]


def test_default_command_is_xm_serve_over_ssh() -> None:
    assert ssh_argv(parse_url("ssh://root@xen1")) == ["ssh", "root@xen1", "xm", "serve"]
    assert ssh_argv(parse_url("ssh://xen1:2222/")) == ["ssh", "-p", "2222", "xen1", "xm", "serve"]
    shared = ssh_argv(parse_url("ssh://xen1"), "/tmp/d/%C")
    assert shared == [
        "ssh",
        "-o",
        "ControlMaster=auto",
        "-o",
        "ControlPath=/tmp/d/%C",
        "-o",
        "ControlPersist=30",
        "xen1",
        "xm",
        "serve",
    ]


async def test_failing_command_reports_its_stderr() -> None:
    fake_ssh = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('ssh: connect to host xen1 port 22: No route to host\\n');"
        " sys.exit(255)",
    ]
    async with open_transport("ssh://xen1", ssh_command=fake_ssh) as t:
        with pytest.raises(ConnectError, match="No route to host") as info:
            await t.send(Request("POST", "/RPC2", body=b"x"))
    assert "status 255" in str(info.value)
    assert "ssh xen1" in str(info.value)


async def test_command_as_a_string(start: Start) -> None:
    server = start(serve(), "unix")
    assert server.unix_path is not None
    command = shlex.join(relay_to(server.unix_path))
    async with (
        open_transport("ssh://xen1", ssh_command=command) as t,
        t.stream(Request("POST", "/RPC2", body=b"x")) as resp,
    ):
        assert await resp.aread() == b"ok"


def test_relay_usage() -> None:
    from aioxend.transport._relay import main

    assert main([]) == 2


async def test_missing_command() -> None:
    async with open_transport("ssh://xen1", ssh_command=["/nonexistent/ssh-binary"]) as t:
        with pytest.raises(ConnectError, match="command not found"):
            await t.send(Request("POST", "/RPC2", body=b"x"))


async def test_relay_to_missing_socket(sock_dir: str) -> None:
    async with open_transport("ssh://xen1", ssh_command=relay_to(f"{sock_dir}/x.sock")) as t:
        with pytest.raises(ConnectError, match="relay: cannot connect"):
            await t.send(Request("POST", "/RPC2", body=b"x"))


async def test_cancelled_mid_body_kills_the_command_then_works(start: Start) -> None:
    def stall_body(peer: Peer) -> None:
        if peer.read_request() is not None:
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart")
            peer.stall()

    server = start(first_then(stall_body, rest=serve()), "unix")
    assert server.unix_path is not None
    async with open_transport("ssh://xen1", ssh_command=relay_to(server.unix_path)) as t:
        async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
            chunks = resp.aiter_bytes()
            assert await chunks.__anext__() == b"part"
            with anyio.move_on_after(0.2) as scope:
                await chunks.__anext__()
        assert scope.cancelled_caught
        assert await server.wait_client_closed(0)
        async with t.stream(Request("POST", "/RPC2", body=b"x")) as resp:
            assert await resp.aread() == b"ok"
