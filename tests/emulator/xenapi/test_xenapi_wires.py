"""Both wires as bytes: JSON-RPC v1/v2 with stdlib json, XML-RPC with stdlib xmlrpc.client.

A session made over one wire works over the other, as on xapi.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from typing import Any

import trustme

from aioxend.emulator.xenapi import XenAPIServer
from tests.emulator.xenapi.conftest import jsonrpc, login, post, proxy


def json_login(url: str) -> str:
    answer = jsonrpc(url, "session.login_with_password", "root", "xenroot", "2.21", "t")
    ref: str = answer["result"]
    return ref


def test_jsonrpc_v2_envelope_and_number_ints(xapi: XenAPIServer) -> None:
    url = xapi.url
    session = json_login(url)
    answer = jsonrpc(url, "VM.get_by_name_label", session, "vm1")
    assert set(answer) == {"jsonrpc", "result", "id"}
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == 7
    [vm] = answer["result"]
    record = jsonrpc(url, "VM.get_record", session, vm)["result"]
    assert record["memory_static_max"] == 1024**3  # a JSON number, not a string
    assert record["domid"] == 1
    assert record["snapshot_time"] == "19700101T00:00:00Z"
    assert record["VCPUs_params"] == {}
    metrics = jsonrpc(url, "VM_metrics.get_record", session, record["metrics"])["result"]
    assert metrics["VCPUs_utilisation"] == {"0": 0.0}  # int keys become strings
    assert jsonrpc(url, "VM.clean_shutdown", session, vm)["result"] == ""


def test_jsonrpc_v2_errors(xapi: XenAPIServer) -> None:
    url = xapi.url
    session = json_login(url)
    answer = jsonrpc(url, "VM.get_record", session, "OpaqueRef:x")
    assert answer == {
        "jsonrpc": "2.0",
        "error": {"code": 1, "message": "HANDLE_INVALID", "data": ["VM", "OpaqueRef:x"]},
        "id": 7,
    }
    error = jsonrpc(url, "VM.nope", session)["error"]
    assert error["message"] == "MESSAGE_METHOD_UNKNOWN"
    assert error["data"] == ["VM.nope"]
    error = jsonrpc(url, "VM.get_all", "OpaqueRef:gone")["error"]
    assert error["message"] == "SESSION_INVALID"
    error = jsonrpc(url, "session.login_with_password", "root", "x", "", "")["error"]
    assert error["data"] == ["root", "Authentication failure"]


def test_jsonrpc_v1(xapi: XenAPIServer) -> None:
    url = xapi.url
    answer = jsonrpc(url, "session.login_with_password", "root", "xenroot", version="1.0")
    assert answer["error"] is None
    assert answer["id"] == 7
    session = answer["result"]
    answer = jsonrpc(url, "VM.start", session, "OpaqueRef:x", False, False, version="1.0")
    assert answer == {"result": None, "error": ["HANDLE_INVALID", "VM", "OpaqueRef:x"], "id": 7}


def test_a_session_serves_both_wires(xapi: XenAPIServer) -> None:
    session = login(xapi.url)
    assert jsonrpc(xapi.url, "VM.get_all", session.handle)["result"] == session.xenapi.VM.get_all()
    json_session = json_login(xapi.url)
    rpc = proxy(xapi.url)
    assert rpc.pool.get_all(json_session)["Status"] == "Success"


def test_xmlrpc_envelope_on_both_paths(xapi: XenAPIServer) -> None:
    for path in ("", "RPC2"):
        rpc = proxy(xapi.url + path)
        answer = rpc.session.login_with_password("root", "xenroot", "1.0", "t")
        assert answer["Status"] == "Success"
        value = rpc.host.get_API_version_minor(answer["Value"], xapi.pool.master)
        assert value == {"Status": "Success", "Value": "21"}  # ints as strings
        assert rpc.VM.get_all("bad")["ErrorDescription"] == ["SESSION_INVALID", "bad"]


def test_ints_may_be_sent_either_way(xapi: XenAPIServer) -> None:
    session = json_login(xapi.url)
    [vm] = jsonrpc(xapi.url, "VM.get_by_name_label", session, "vm2")["result"]
    assert jsonrpc(xapi.url, "VM.set_user_version", session, vm, 4)["result"] == ""
    rpc = proxy(xapi.url)
    assert rpc.VM.set_hardware_platform_version(session, vm, "2")["Status"] == "Success"
    record = jsonrpc(xapi.url, "VM.get_record", session, vm)["result"]
    assert (record["user_version"], record["hardware_platform_version"]) == (4, 2)
    error = jsonrpc(xapi.url, "VM.set_user_version", session, vm, True)["error"]
    assert error["message"] == "FIELD_TYPE_ERROR"


def test_create_and_destroy_through_the_wire(xapi: XenAPIServer) -> None:
    session = json_login(xapi.url)
    ref = jsonrpc(xapi.url, "VM.create", session, {"name_label": "new", "VCPUs_max": 2})["result"]
    record = jsonrpc(xapi.url, "VM.get_record", session, ref)["result"]
    assert record["name_label"] == "new"
    assert record["power_state"] == "Halted"
    assert record["VCPUs_max"] == 2
    assert record["actions_after_softreboot"] == "soft_reboot"
    assert jsonrpc(xapi.url, "VM.destroy", session, ref)["result"] == ""
    assert jsonrpc(xapi.url, "VM.get_record", session, ref)["error"]["message"] == "HANDLE_INVALID"


def test_garbage_bodies_are_400(xapi: XenAPIServer) -> None:
    assert post(xapi.url, "/", b"<nope", "text/xml")[0] == 400
    assert post(xapi.url, "/jsonrpc", b"{", "application/json")[0] == 400
    assert post(xapi.url, "/jsonrpc", b'{"method": 1}', "application/json")[0] == 400
    assert (
        post(xapi.url, "/jsonrpc", b'{"method": "a", "params": {}}', "application/json")[0] == 400
    )


def test_tls(tmp_path: Any) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    with XenAPIServer.in_thread(
        tcp="127.0.0.1:0", hosts=2, tls_cert=str(cert_file), tls_key=str(key_file)
    ) as server:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.member_urls[0].startswith("https://127.0.0.2:")
        ctx = ssl.create_default_context()
        ca.configure_trust(ctx)
        rpc = proxy(server.url, context=ctx)
        answer = rpc.session.login_with_password("root", "xenroot", "1.0", "t")
        assert answer["Status"] == "Success"
        # the official SDK can only switch checking off
        session = __import__("XenAPI").Session(server.url, ignore_ssl=True)
        session.xenapi.login_with_password("root", "xenroot", "1.0", "t")
        assert session.xenapi.VM.get_all()


def test_list_methods(xapi: XenAPIServer, xend: XenAPIServer) -> None:
    names = proxy(xapi.url).system.listMethods()  # a bare list, no Status struct
    assert "VM.start" in names
    assert "pool.get_all" in names
    assert "VM.get_is_snapshot_from_vmpp" not in names  # removed
    assert jsonrpc(xapi.url, "system.listMethods")["result"] == names
    xend_names = proxy(xend.url).system.listMethods()
    assert "VM.start" in xend_names
    assert "pool.get_all" not in xend_names


def test_an_old_xapi_without_jsonrpc() -> None:
    with XenAPIServer.in_thread(jsonrpc=False) as server:
        doc = b'{"jsonrpc": "2.0", "method": "session.login_with_password", "params": [], "id": 1}'
        assert post(server.url, "/jsonrpc", doc, "application/json")[0] == 404
        assert login(server.url).xenapi.VM.get_all()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


def test_jsonrpc_on_the_unix_socket(xapi: XenAPIServer) -> None:
    path = xapi.urls[1][len("httpu://") :]
    conn = _UnixConnection(path)
    doc = {"jsonrpc": "2.0", "method": "session.login_with_password", "id": 1}
    doc["params"] = ["root", "xenroot", "2.21", "t"]
    conn.request("POST", "/jsonrpc", json.dumps(doc), {"Content-Type": "application/json"})
    answer = json.loads(conn.getresponse().read())
    assert answer["result"].startswith("OpaqueRef:")
    doc = {"jsonrpc": "2.0", "method": "VM.get_all", "params": [answer["result"]], "id": 2}
    conn.request("POST", "/jsonrpc", json.dumps(doc), {"Content-Type": "application/json"})
    assert len(json.loads(conn.getresponse().read())["result"]) == 6
    conn.close()
