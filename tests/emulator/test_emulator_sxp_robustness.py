"""Any request bytes: the SXP listener answers or hangs up, and keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aioxend.emulator import Emulator
from tests.emulator.emulator_support import SxpClient, raw_exchange

_segments = st.sampled_from(
    ["xend", "domain", "node", "vnet", "dmesg", "log", "vm1", "0", "Domain-0", "", "%20", ".."]
)
_paths = st.lists(_segments, max_size=5).map(lambda parts: "/" + "/".join(parts))
_ops = st.sampled_from(
    ["pause", "unpause", "create", "new", "list", "restore", "save", "dump", "migrate",
     "device_create", "device_destroy", "shutdown", "sysrq", "rename", "clear", "x", ""]
)  # fmt: skip
_fields = st.dictionaries(
    st.sampled_from(["op", "config", "file", "reason", "key", "name", "type", "dev", "vcpus"]),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12) | _ops,
    max_size=4,
)


@pytest.fixture(scope="module")
def sxp_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(tmp_path_factory.mktemp("sxp") / "xend-socket")
    with Emulator.in_thread(sxp_unix=path, domains=2):
        yield path


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.sampled_from(["GET", "POST", "HEAD", "PUT"]), _paths, _fields)
def test_any_request_is_answered(sxp_path: str, method: str, path: str,
                                 fields: dict[str, str]) -> None:  # fmt: skip
    from urllib.parse import urlencode

    body = urlencode(fields).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reply = raw_exchange(path=sxp_path, data=head + body)
    # an answer, or the silent hang-up of a failed threaded op (as xend's thread died)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 ")
    assert SxpClient(path=sxp_path).get("/xend/node").status == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.binary(max_size=200))
def test_garbage_bytes(sxp_path: str, data: bytes) -> None:
    reply = raw_exchange(path=sxp_path, data=data + b"\r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 ")
    assert SxpClient(path=sxp_path).get("/xend/").status == 200
