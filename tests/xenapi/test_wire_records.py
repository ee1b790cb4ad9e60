"""Typed records of every class round-trip through the client's own wires, both ways.

Answers: a record's ``to_wire`` value, sent as xapi would (by the standard library's
``json`` and ``xmlrpc.client``, ints as decimal strings over XML-RPC), is read back by
``JsonRpcWire``/``XmlRpcWire``, and ``from_wire`` gives the record again. Requests: the
same value as a call parameter, encoded by each wire and read by the standard library as
a server would, gives the record again too.
"""

from __future__ import annotations

import datetime
import json
import math
import xmlrpc.client
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.errors import LocalProtocolError
from aioxend.xenapi._generated import CLASSES
from aioxend.xenapi._json import xapi_datetime
from aioxend.xenapi._wire import _xml_value
from tests.xenapi.test_generated_records import record_class, record_strategy
from tests.xenapi.test_wire import answer, json_wire, xml_wire


def json_default(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return xapi_datetime(value)
    raise TypeError(value)


def json_answer(value: object) -> bytes:
    envelope = {"jsonrpc": "2.0", "id": 1, "result": value}
    return json.dumps(envelope, default=json_default).encode()


def xml_answer(value: object) -> bytes:
    """As xapi writes it; the standard library's encoder, as xapi's, writes ``inf``."""
    envelope: Any = {"Status": "Success", "Value": _xml_value(value)}
    return xmlrpc.client.dumps((envelope,), methodresponse=True).encode()


def finite(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, list):
        return all(finite(v) for v in value)
    return True


@pytest.mark.parametrize("name", CLASSES)
@settings(max_examples=4)
@given(data=st.data())
def test_records_round_trip_through_both_wires(name: str, data: st.DataObject) -> None:
    cls = record_class(name)
    record: Any = data.draw(record_strategy(cls))
    wire = record.to_wire()
    assert cls.from_wire(answer(json_wire(), json_answer(wire))) == record
    assert cls.from_wire(answer(xml_wire(), xml_answer(wire))) == record
    sent_json, _ = json_wire().body("m", (wire,))
    assert cls.from_wire(json.loads(sent_json)["params"][0]) == record
    if not finite(wire):  # XML-RPC has no infinity: refused before anything is sent
        with pytest.raises(LocalProtocolError, match="non-finite"):
            xml_wire().body("m", (wire,))
        return
    sent_xml, _ = xml_wire().body("m", (wire,))
    (param,), _ = xmlrpc.client.loads(sent_xml)
    assert cls.from_wire(param) == record
