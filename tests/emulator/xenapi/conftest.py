"""Fixtures: Xen-API emulators on background threads, and clients we did not write.

The official ``XenAPI`` SDK (PyPI, synchronous, XML-RPC only) is the oracle; JSON-RPC,
which it does not speak, is driven with the standard library's ``json`` and
``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import uuid
import xmlrpc.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import XenAPI  # type: ignore[import-untyped]

from aioxend.emulator.xenapi import XenAPIServer


@pytest.fixture
def sock_dir() -> Iterator[str]:
    # XenAPI's UNIX transport spells the socket path in the URL's host with "_" for "/",
    # so the path must hold no "_" of its own (tempfile's names may)
    path = f"/tmp/xemu{uuid.uuid4().hex}"
    os.mkdir(path, 0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def xapi(sock_dir: str) -> Iterator[XenAPIServer]:
    """A xapi pool of two hosts and four guests, on TCP and a UNIX socket."""
    with XenAPIServer.in_thread(
        tcp="127.0.0.1:0", unix=f"{sock_dir}/xapi.sock", hosts=2, vms=4, seed=3
    ) as server:
        yield server


@pytest.fixture
def xend(sock_dir: str) -> Iterator[XenAPIServer]:
    """xend's Xen-API (one host, three guests), on TCP and a UNIX socket."""
    with XenAPIServer.in_thread(
        tcp="127.0.0.1:0", unix=f"{sock_dir}/xen-api.sock", dialect="xend", seed=3
    ) as server:
        yield server


def sdk(url: str) -> Any:
    """An official ``XenAPI.Session`` for an emulator URL (``http://`` or ``httpu://``)."""
    if url.startswith("httpu://"):
        host = url[len("httpu://") :].replace("/", "_")
        return XenAPI.Session(f"http://{host}/", transport=XenAPI.UDSTransport())
    return XenAPI.Session(url)


def login(url: str, user: str = "root", password: str = "xenroot") -> Any:
    """An SDK session logged in with xapi's four-argument login."""
    session = sdk(url)
    session.xenapi.login_with_password(user, password, "2.21", "aioxend-tests")
    return session


def failure(call: Any, *args: Any) -> list[str]:
    """The ``ErrorDescription`` of an SDK call that must fail."""
    with pytest.raises(XenAPI.Failure) as info:
        call(*args)
    details: list[str] = info.value.details
    return details


def proxy(url: str, **kwargs: Any) -> Any:
    """A stdlib ``ServerProxy`` (its answers are whatever was marshalled)."""
    return xmlrpc.client.ServerProxy(url, **kwargs)


def post(url: str, path: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    """POST ``body`` to a TCP emulator URL; the status and the body of the answer."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", path, body, {"Content-Type": content_type})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def jsonrpc(url: str, method: str, *params: Any, version: str = "2.0") -> dict[str, Any]:
    """One JSON-RPC call; the decoded answer document."""
    doc: dict[str, Any] = {"method": method, "params": list(params), "id": 7}
    if version == "2.0":
        doc["jsonrpc"] = "2.0"
    status, body = post(url, "/jsonrpc", json.dumps(doc).encode(), "application/json")
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer
