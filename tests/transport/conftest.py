"""Fixtures for the transport tests: servers, a test CA, a short UNIX socket directory."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import Callable, Iterator

import pytest
import trustme

from tests.transport.transport_servers import Handler, Server

Start = Callable[..., Server]


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_ssl(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def sock_dir() -> Iterator[str]:
    """A short temp dir: UNIX socket paths must stay under 108 bytes."""
    path = tempfile.mkdtemp(prefix="axt")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start(sock_dir: str, server_ssl: ssl.SSLContext) -> Iterator[Start]:
    """``start(handler, where="tcp"|"unix"|"tls")`` runs a server until the test ends."""
    servers: list[Server] = []

    def _start(handler: Handler, where: str = "tcp") -> Server:
        unix_path = f"{sock_dir}/s{len(servers)}.sock" if where == "unix" else None
        server = Server(
            handler, unix_path=unix_path, ssl_context=server_ssl if where == "tls" else None
        )
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()
