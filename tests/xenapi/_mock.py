"""A small in-memory xapi (or xend) behind a mock transport, for the client's tests.

``FakeXapi`` answers a handful of messages the way xapi does over both wires (its
answers are written by the standard library's ``json`` and ``xmlrpc.client``, not by
our encoders), and ``MockTransport`` hands it each request with no socket at all. Knobs
make it a pool member (``HOST_IS_SLAVE``), xend (two-argument login, XML-RPC only,
UUID references), expire sessions, stall, or answer a canned body.
"""

from __future__ import annotations

import json
import uuid
import xmlrpc.client
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import anyio

from aioxend.transport import Endpoint, Request, Response, Transport

Answer = tuple[int, list[tuple[str, str]], bytes]


class MockResponse(Response):
    """A response whose body is given, served in ``chunk`` sized pieces."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes, chunk: int):
        super().__init__(status=status, reason="OK" if status == 200 else "Error", headers=headers)
        self._body = body
        self._chunk = chunk
        self.closed = False

    async def _chunks(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._chunk):
            yield self._body[start : start + self._chunk]

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def aclose(self) -> None:
        self.closed = True


class MockTransport(Transport):
    """Sends every request to ``handler``; counts requests and closes."""

    def __init__(self, handler: Callable[[Request], Answer], chunk: int = 1 << 30) -> None:
        self.handler = handler
        self.chunk = chunk
        self.requests: list[Request] = []
        self.closed = False
        self.delay = 0.0

    async def send(self, request: Request) -> Response:
        if self.closed:
            raise RuntimeError("closed")
        self.requests.append(request)
        if self.delay:
            await anyio.sleep(self.delay)
        status, headers, body = self.handler(request)
        return MockResponse(status, headers, body, self.chunk)

    async def aclose(self) -> None:
        self.closed = True


class Failure(Exception):
    """A Xen-API failure inside the fake: code and parameters."""

    def __init__(self, *description: str) -> None:
        super().__init__(*description)
        self.description = list(description)


@dataclass
class FakeXapi:
    """The server side: users, sessions, a host and some VMs."""

    dialect: str = "xapi"
    vms: int = 3
    users: dict[str, str] = field(default_factory=lambda: {"root": "xenroot"})
    master: str | None = None  # set: a pool member naming this master address
    sessions: dict[str, str] = field(default_factory=dict)
    logged_out: list[str] = field(default_factory=list)
    calls: list[tuple[str, str, list[object]]] = field(default_factory=list)
    canned: bytes | None = None  # answer this body, as it is, to the next request
    canned_type: str = "application/json"
    stall: float = 0.0

    def __post_init__(self) -> None:
        self.host = self.ref("host")
        self.records: dict[str, dict[str, object]] = {}
        for n in range(1, self.vms + 1):
            self.records[self.ref("VM")] = {
                "uuid": str(uuid.uuid4()),
                "name_label": f"vm{n}",
                "power_state": "Halted",
                "memory_static_max": 4 * 1024**3 + n,
                "VCPUs_max": 2,
                "other_config": {"n": str(n)},
                "is_a_template": False,
            }

    def ref(self, kind: str) -> str:
        made = str(uuid.uuid4())
        return made if self.dialect == "xend" else f"OpaqueRef:{made}"

    def expire(self) -> None:
        self.sessions.clear()

    # --- dispatch -------------------------------------------------------------------
    def run(self, method: str, params: list[object]) -> object:
        if method == "session.login_with_password":
            want = 2 if self.dialect == "xend" else 4
            if len(params) != want and not (self.dialect == "xapi" and len(params) == 2):
                raise Failure(
                    "MESSAGE_PARAMETER_COUNT_MISMATCH", method, str(want), str(len(params))
                )
            user, password = str(params[0]), str(params[1])
            if self.master is not None:
                raise Failure("HOST_IS_SLAVE", self.master)
            if self.users.get(user) != password:
                raise Failure("SESSION_AUTHENTICATION_FAILED", user, "Authentication failure")
            session = self.ref("session")
            self.sessions[session] = user
            return session
        if not params or params[0] not in self.sessions:
            raise Failure("SESSION_INVALID", str(params[0] if params else ""))
        args = params[1:]
        if method == "session.logout":
            self.logged_out.append(self.sessions.pop(str(params[0])))
            return ""
        if method == "session.get_this_host":
            return self.host
        if method in ("host.get_API_version_major", "host.get_API_version_minor"):
            value = 2 if method.endswith("major") else 21
            return str(value) if self.dialect == "xend" else value
        if method == "VM.get_all":
            return list(self.records)
        if method == "VM.get_all_records":
            return self.records
        if method in ("VM.get_record", "VM.get_power_state", "VM.start"):
            ref = str(args[0]) if args else ""
            if ref not in self.records:
                raise Failure("HANDLE_INVALID", "VM", ref)
            record = self.records[ref]
            if method == "VM.get_record":
                return record
            if method == "VM.get_power_state":
                return record["power_state"]
            if record["power_state"] != "Halted":
                raise Failure(
                    "VM_BAD_POWER_STATE", ref, "halted", str(record["power_state"]).lower()
                )
            record["power_state"] = "Running"
            return ""
        raise Failure("MESSAGE_METHOD_UNKNOWN", method)

    def handle(self, request: Request) -> Answer:
        if self.canned is not None:
            body, self.canned = self.canned, None
            return 200, [("content-type", self.canned_type)], body
        if request.target == "/jsonrpc":
            if self.dialect == "xend":  # xend's XML-RPC server reads any path as XML-RPC
                fault = xmlrpc.client.dumps(xmlrpc.client.Fault(1, "not XML"), methodresponse=True)
                return 200, [("content-type", "text/xml")], fault.encode()
            return self._json(request.body)
        return self._xml(request.body)

    def _json(self, body: bytes) -> Answer:
        message = json.loads(body)
        method, params = message["method"], message["params"]
        self.calls.append(("jsonrpc", method, params))
        try:
            answer: dict[str, object] = {"result": self.run(method, params)}
        except Failure as failure:
            code, *data = failure.description
            answer = {"error": {"code": 1, "message": code, "data": data}}
        answer.update(jsonrpc="2.0", id=message["id"])
        return 200, [("content-type", "application/json")], json.dumps(answer).encode()

    def _xml(self, body: bytes) -> Answer:
        params, method = xmlrpc.client.loads(body)
        self.calls.append(("xmlrpc", str(method), list(params)))
        try:
            value = _ints_as_strings(self.run(str(method), list(params)))
            answer: dict[str, object] = {"Status": "Success", "Value": value}
        except Failure as failure:
            answer = {"Status": "Failure", "ErrorDescription": failure.description}
        text = xmlrpc.client.dumps((answer,), methodresponse=True, allow_none=True)
        return 200, [("content-type", "text/xml")], text.encode()

    def transport(self, endpoint: Endpoint) -> MockTransport:
        """A transport factory for ``XenAPIClient(transport=...)``."""
        made = MockTransport(self.handle)
        made.delay = self.stall
        return made


def _ints_as_strings(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _ints_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints_as_strings(v) for v in value]
    return value
