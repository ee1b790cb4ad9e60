"""Xen-API over JSON-RPC (xapi only, ``POST /jsonrpc``), v1.0 and v2.0, with stdlib json.

The envelopes are those of xapi's ``Api_server.jsoncallback`` and rpclib's
``Jsonrpc.string_of_response``: v2 answers ``{"jsonrpc": "2.0", "result": v, "id": n}``
or ``"error": {"code": 1, "message": CODE, "data": [params]}`` (xapi sets code 1,
``Api_server_common.error_code_lit``); v1 answers ``{"result": v, "error": null, "id":
n}`` or ``{"result": null, "error": [CODE, params...], "id": n}``. Ints are JSON
numbers, datetimes strings (``20240420T12:00:00Z``), floats may be bare ``Infinity``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["MALFORMED", "JsonCall", "decode_call", "encode_failure", "encode_success", "wire"]

MALFORMED = b'{"jsonrpc": "2.0", "result": {"OpaqueRef:1": [1, 2,, "id": '


class JsonCall:
    """A decoded request: method, params, id, and whether it said ``"jsonrpc": "2.0"``."""

    def __init__(self, method: str, params: list[Any], id_: object, v2: bool) -> None:
        self.method = method
        self.params = params
        self.id = id_
        self.v2 = v2


def decode_call(body: bytes) -> JsonCall:
    """The call in a JSON-RPC request body (ValueError if it is not one)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("method"), str):
        raise ValueError("not a JSON-RPC request")
    params = doc.get("params", [])
    if not isinstance(params, list):
        raise ValueError("JSON-RPC params must be a list")
    return JsonCall(doc["method"], params, doc.get("id"), doc.get("jsonrpc") == "2.0")


def wire(value: object) -> Any:
    """A value as xapi sends it over JSON-RPC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {str(wire(k)): wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v) for v in value]
    return value


def encode_success(call: JsonCall, value: object) -> bytes:
    """The answer carrying ``value`` in the request's version."""
    if call.v2:
        doc: dict[str, Any] = {"jsonrpc": "2.0", "result": wire(value), "id": call.id}
    else:
        doc = {"result": wire(value), "error": None, "id": call.id}
    return json.dumps(doc).encode("utf-8")


def encode_failure(call: JsonCall, description: list[str]) -> bytes:
    """The error answer for a Xen-API error description, in the request's version."""
    if call.v2:
        error = {"code": 1, "message": description[0], "data": description[1:]}
        doc: dict[str, Any] = {"jsonrpc": "2.0", "error": error, "id": call.id}
    else:
        doc = {"result": None, "error": description, "id": call.id}
    return json.dumps(doc).encode("utf-8")
