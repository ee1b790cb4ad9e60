"""Helpers of the logging, hooks and redaction tests: a record collector and mock servers."""

from __future__ import annotations

import json
import logging
import xmlrpc.client
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aioxend._log import ROOT, TRACE

OK_NIL = (
    b"<?xml version='1.0'?><methodResponse><params><param><value><nil/></value></param>"
    b"</params></methodResponse>"
)


def http(body: bytes, status: str = "200 OK", kind: str = "text/xml") -> bytes:
    """One HTTP/1.1 answer carrying ``body``."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def xml_answer(value: Any) -> bytes:
    """An XML-RPC answer of ``value``, as the standard library writes it."""
    return http(xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode())


class Collector(logging.Handler):
    """Keeps every record it is given, and each formatted as a handler would print it."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))

    def messages(self, name: str | None = None) -> list[str]:
        return [r.getMessage() for r in self.records if name is None or r.name == name]


@contextmanager
def collecting(level: int = TRACE) -> Iterator[Collector]:
    """Every record of the ``aioxend`` loggers at ``level`` and above, while inside."""
    collector = Collector()
    before = ROOT.level
    ROOT.addHandler(collector)
    ROOT.setLevel(level)
    try:
        yield collector
    finally:
        ROOT.removeHandler(collector)
        ROOT.setLevel(before)


def jsonrpc_server(
    seen: list[bytes], session: str = "OpaqueRef:5e55-10n"
) -> Callable[[bytes], bytes]:
    """A ``MockConnector`` respond function playing a small xapi over JSON-RPC: it logs
    in as ``session``, names one host, and answers every other call with ``"ok"``, or a
    ``HANDLE_INVALID`` for ``VM.get_record`` of ``OpaqueRef:bad``."""

    def respond(data: bytes) -> bytes:
        seen.append(data)
        request = json.loads(data.partition(b"\r\n\r\n")[2])
        method, params = request["method"], request["params"]
        answer: dict[str, object] = {"jsonrpc": "2.0", "id": request["id"]}
        if method == "session.login_with_password":
            answer["result"] = session
        elif method == "session.get_this_host":
            answer["result"] = "OpaqueRef:host1"
        elif method.startswith("host.get_API_version"):
            answer["result"] = 2 if method.endswith("major") else 21
        elif method == "VM.get_record" and params[1:] == ["OpaqueRef:bad"]:
            answer["error"] = {"code": 1, "message": "HANDLE_INVALID", "data": ["VM", params[1]]}
        else:
            answer["result"] = "ok"
        return http(json.dumps(answer).encode(), kind="application/json")

    return respond
