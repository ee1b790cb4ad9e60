"""Xen-API over XML-RPC: the Status/Value envelope, built with the standard library.

Requests are read and answers written by ``xmlrpc.client.loads``/``dumps``, code we did
not write, so a client's own codec is checked against it. Every answer is a struct,
``{"Status": "Success", "Value": v}`` or ``{"Status": "Failure", "ErrorDescription":
[code, params...]}``; XML-RPC faults are not used. Ints travel as decimal strings (xapi's
``Xmlrpc`` marshalling of ``int64``, xend's ``xmlrpclib2.stringify``); datetimes as
``dateTime.iso8601``, ``20240420T12:00:00Z`` from xapi and without the ``Z`` from xend
(``xmlrpclib.DateTime(time.gmtime())``); map keys that are ints become strings. The
one exception: an ``Int32`` (``event.from``'s ``valid_ref_counts``) is an ``<int>``.
"""

from __future__ import annotations

import xmlrpc.client
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aioxend.emulator.xenapi._events import Int32

__all__ = [
    "MALFORMED",
    "decode_call",
    "encode_bare",
    "encode_failure",
    "encode_success",
    "task_result",
    "wire",
]

MALFORMED = (
    b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
    b"<value><struct><member><name>Status</name><value>Succ</string></value>\n"
)


def decode_call(body: bytes) -> tuple[str, list[Any]]:
    """The method name and parameters of a ``methodCall`` (ValueError if it is not one)."""
    try:
        params, method = xmlrpc.client.loads(body, use_builtin_types=False)
    except Exception as exc:
        raise ValueError(f"not an XML-RPC call: {exc}") from None
    if not isinstance(method, str):
        raise ValueError("not an XML-RPC methodCall")
    return method, list(params)


def wire(value: object, dialect: str) -> Any:
    """A value as the dialect sends it over XML-RPC."""
    if isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, Int32):
        return int(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y%m%dT%H:%M:%S")
        return xmlrpc.client.DateTime(text if dialect == "xend" else text + "Z")
    if isinstance(value, dict):
        return {str(wire(k, dialect)): wire(v, dialect) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [wire(v, dialect) for v in value]
    if value is None:
        return ""
    raise TypeError(f"cannot send {type(value).__name__} over Xen-API")


def _response(struct: dict[str, Any]) -> bytes:
    text = xmlrpc.client.dumps((struct,), methodresponse=True, allow_none=True)
    return text.encode("utf-8")


def encode_success(value: object, dialect: str) -> bytes:
    """The ``Success`` answer carrying ``value``."""
    return _response({"Status": "Success", "Value": wire(value, dialect)})


def encode_bare(value: list[str]) -> bytes:
    """An answer without the Status struct (only ``system.listMethods`` has one)."""
    return xmlrpc.client.dumps((value,), methodresponse=True).encode("utf-8")


def encode_failure(description: list[str]) -> bytes:
    """The ``Failure`` answer carrying an error description (code, then parameters)."""
    return _response({"Status": "Failure", "ErrorDescription": description})


def task_result(value: object, dialect: str) -> object:
    """A task's ``result`` field: the value as one XML-RPC ``<value>`` element, as xapi
    stores it (``Xmlrpc.to_string`` of the marshalled result: a string bare, without
    ``<string>``); xend keeps the value itself (``XendTask.run``: ``result['Value']``)."""
    if dialect == "xend":
        return "" if value is None else value
    if isinstance(value, str):
        return f"<value>{escape(value)}</value>"
    text = xmlrpc.client.dumps((wire(value, dialect),), allow_none=True)
    start = text.index("<value>")
    end = text.rindex("</value>") + len("</value>")
    return text[start:end]
