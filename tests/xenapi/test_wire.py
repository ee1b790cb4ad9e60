"""The two wires on their own: request bodies, envelopes, errors, and large answers."""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import xmlrpc.client
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.xenapi import JsonRpcError, errors
from aioxend.xenapi import _json as wire_json
from aioxend.xenapi._wire import JsonRpcWire, Wire, XmlRpcWire
from tests.xenapi._mock import MockResponse, MockTransport

URL = "https://xapi.example/"
SESSION = "OpaqueRef:7f3a1c44-secret"


def _unused(request: object) -> tuple[int, list[tuple[str, str]], bytes]:
    raise AssertionError("no request expected")


def json_wire() -> JsonRpcWire:
    return JsonRpcWire(MockTransport(_unused), URL)


def xml_wire() -> XmlRpcWire:
    return XmlRpcWire(MockTransport(_unused), URL)


def answer(wire: Wire, body: bytes, ident: int = 1, chunk: int = 1 << 30) -> Any:
    kind = "application/json" if isinstance(wire, JsonRpcWire) else "text/xml"
    response = MockResponse(200, [("content-type", kind)], body, chunk)

    async def run() -> object:
        return await wire.answer(response, "VM.get_record", ident, (SESSION,))

    return anyio.run(run)


def xml_answer(value: Any) -> bytes:
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


# --- requests ----------------------------------------------------------------------------
def test_json_request_body() -> None:
    body, ident = json_wire().body("VM.start", (SESSION, "OpaqueRef:vm", False, True))
    assert json.loads(body) == {
        "jsonrpc": "2.0",
        "method": "VM.start",
        "params": [SESSION, "OpaqueRef:vm", False, True],
        "id": ident,
    }


def test_json_ids_count_up() -> None:
    wire = json_wire()
    ids = [wire.body("VM.get_all", ())[1] for _ in range(3)]
    assert ids == sorted(set(ids))


def test_json_request_values() -> None:
    when = datetime.datetime(
        2024, 4, 20, 14, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    body, _ = json_wire().body("m", (when, datetime.datetime(2024, 4, 20, 12), {"a": (1, 2)}))
    assert json.loads(body)["params"] == ["20240420T12:00:00Z", "20240420T12:00:00", {"a": [1, 2]}]
    body, _ = json_wire().body("m", (math.inf, -math.inf, 1.5))
    assert json.loads(body)["params"] == [math.inf, -math.inf, 1.5]


def test_xml_request_sends_ints_as_strings_and_keeps_bools() -> None:
    when = datetime.datetime(
        2024, 4, 20, 14, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    body, _ = xml_wire().body(
        "VM.set_memory", (SESSION, 2**40, True, [1, "x"], {"k": 7, 3: "v"}, 1.5, when)
    )
    params, method = xmlrpc.client.loads(body)
    assert method == "VM.set_memory"
    assert params[:6] == (SESSION, str(2**40), True, ["1", "x"], {"k": "7", "3": "v"}, 1.5)
    assert str(params[6]) == "20240420T12:00:00"


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(st.lists(json_values, max_size=4))
def test_json_request_round_trips(params: list[object]) -> None:
    body, _ = json_wire().body("m", tuple(params))
    assert json.loads(body)["params"] == params


# --- JSON-RPC answers --------------------------------------------------------------------
def test_json_result_and_v1_answers() -> None:
    assert answer(json_wire(), b'{"jsonrpc":"2.0","id":1,"result":{"a":1}}') == {"a": 1}
    assert answer(json_wire(), b'{"id":1,"result":[1],"error":null}') == [1]


def test_json_xapi_error_with_list_or_single_data_and_redacted_session() -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": 1, "message": "HANDLE_INVALID", "data": ["VM", "x"]},
        }
    ).encode()
    with pytest.raises(errors.HandleInvalid) as handle:
        answer(json_wire(), body)
    assert handle.value.params == ["VM", "x"]
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": 1, "message": "SESSION_INVALID", "data": SESSION},
        }
    ).encode()
    with pytest.raises(errors.SessionInvalid) as invalid:
        answer(json_wire(), body)
    assert invalid.value.params == ["<redacted>"]
    assert SESSION not in str(invalid.value)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html/>", "not JSON"),
        (b"[1, 2]", "not a JSON-RPC object"),
        (b'{"jsonrpc":"2.0","id":1}', "neither"),
        (b'{"jsonrpc":"2.0","id":2,"result":1}', "id"),
        (b'{"jsonrpc":"2.0","id":"1","result":1}', "id"),
        (b'{"jsonrpc":"3.0","id":1,"result":1}', "version"),
        (b'{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"X"}}', "both"),
        (b'{"jsonrpc":"2.0","id":1,"error":"SESSION_INVALID"}', "error object"),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":"1","message":"X"}}', "code"),
        (b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}', "code"),
    ],
)
def test_json_malformed_envelopes_are_protocol_errors(body: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why) as bad:
        answer(json_wire(), body)
    assert "VM.get_record" in str(bad.value)
    assert URL in str(bad.value)


def test_json_error_that_is_not_xapis_is_a_json_rpc_error() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":500,"message":"Internal Server Error"}}'
    with pytest.raises(JsonRpcError, match="Internal Server Error") as err:
        answer(json_wire(), body)
    assert err.value.code == 500


def test_json_bare_non_finite_floats_are_read() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":[NaN, Infinity, -Infinity, "+Infinity"]}'
    value = answer(json_wire(), body)
    assert math.isnan(value[0])
    assert value[1:] == [math.inf, -math.inf, "+Infinity"]


def test_json_deep_nesting_is_a_protocol_error() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(ProtocolError):
        answer(json_wire(), body)


def big_records(count: int) -> dict[str, dict[str, object]]:
    return {
        f"OpaqueRef:{n:08d}": {
            "name_label": f"vm{n}",
            "memory": 2**30 + n,
            "other_config": {f"k{i}": "v" * 40 for i in range(20)},
            "VCPUs_utilisation": {"0": 0.25},
            "tags": ["a", "b"],
        }
        for n in range(count)
    }


@pytest.mark.parametrize("nan", [False, True])
def test_json_large_answers_decode_in_slices_to_the_same_value(nan: bool) -> None:
    records: dict[str, Any] = big_records(2000)
    if nan:
        records["OpaqueRef:00000007"]["VCPUs_utilisation"] = {"0": math.inf}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": records}).encode()
    assert len(body) > 4 * wire_json.SPLIT_BYTES
    assert answer(json_wire(), body) == records
    listed = json.dumps({"jsonrpc": "2.0", "id": 1, "result": list(records.values())}).encode()
    assert answer(json_wire(), listed) == list(records.values())


async def loop_turns_during(wire: Wire, body: bytes) -> tuple[object, int]:
    """The answer's value and how often another task ran while it was decoded."""
    ticks = [0]
    running = [True]

    async def ticker() -> None:
        while running[0]:
            ticks[0] += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        before = ticks[0]
        value = await wire.answer(MockResponse(200, [], body, 1 << 30), "m", 1, ())
        running[0] = False
    return value, ticks[0] - before


async def test_large_answers_let_other_tasks_run_while_they_decode() -> None:
    records = big_records(6000)
    json_body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": records}).encode()
    xml_body = xml_answer({"Status": "Success", "Value": records})
    for wire, body in ((json_wire(), json_body), (xml_wire(), xml_body)):
        value, turns = await loop_turns_during(wire, body)
        assert value == records
        assert turns >= 5, f"{type(wire).__name__}: the loop ran {turns} times"


# --- XML-RPC answers ---------------------------------------------------------------------
def test_xml_success_and_failure() -> None:
    assert answer(xml_wire(), xml_answer({"Status": "Success", "Value": ["a"]})) == ["a"]
    failure = {
        "Status": "Failure",
        "ErrorDescription": ["VM_BAD_POWER_STATE", "vm", "halted", "running"],
    }
    with pytest.raises(errors.XenAPIError) as bad:
        answer(xml_wire(), xml_answer(failure))
    assert bad.value.code == "VM_BAD_POWER_STATE"
    assert bad.value.params == ["vm", "halted", "running"]
    assert bad.value.method == "VM.get_record"
    xend = {"Status": "Failure", "ErrorDescription": ["SESSION_INVALID", SESSION, 3]}
    with pytest.raises(errors.SessionInvalid) as invalid:
        answer(xml_wire(), xml_answer(xend))
    assert invalid.value.params == ["<redacted>", "3"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (["Status"], "not a Status struct"),
        ({"Status": "Success"}, "without a Value"),
        ({"Status": "Failure", "ErrorDescription": "SESSION_INVALID"}, "not a list"),
        ({"Status": "Failure", "ErrorDescription": []}, "no error code"),
        ({"Status": "Failure", "ErrorDescription": [1]}, "no error code"),
        ({"Status": "Maybe"}, "unknown Status"),
    ],
)
def test_xml_malformed_envelopes_are_protocol_errors(value: object, why: str) -> None:
    with pytest.raises(ProtocolError, match=why) as bad:
        answer(xml_wire(), xml_answer(value))
    assert "VM.get_record" in str(bad.value)
    assert URL in str(bad.value)


def test_xml_faults_html_and_two_params_are_protocol_errors() -> None:
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(1, "boom"), methodresponse=True).encode()
    with pytest.raises(ProtocolError, match="fault 1: boom"):
        answer(xml_wire(), fault)
    with pytest.raises(ProtocolError, match=r"VM\.get_record"):
        answer(xml_wire(), b"<html><body>502</body></html>")
    two = xmlrpc.client.dumps((1, 2)).replace("methodCall", "methodResponse").encode()
    with pytest.raises(ProtocolError):
        answer(xml_wire(), two)


def test_xml_large_answer_fed_in_small_chunks() -> None:
    records = big_records(500)
    body = xml_answer({"Status": "Success", "Value": records})
    decoded = answer(xml_wire(), body, chunk=7001)
    assert decoded == records


def test_limit_exceeded_keeps_its_class() -> None:
    body = xml_answer({"Status": "Success", "Value": "x" * 100}).replace(
        b"x" * 100, b"<" * 0 + b"x" * 100
    )
    assert answer(xml_wire(), body) == "x" * 100
    deep = b"<?xml version='1.0'?><methodResponse><params><param>" + b"<value><array><data>" * 300
    with pytest.raises(LimitExceeded):
        answer(xml_wire(), deep)


# --- any body: a value or one of our errors ----------------------------------------------
ours: tuple[type[Exception], ...] = (ProtocolError, errors.XenAPIError, JsonRpcError)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_on_either_wire(body: bytes) -> None:
    for wire in (json_wire(), xml_wire()):
        with contextlib.suppress(*ours):
            answer(wire, body)


envelope_members = st.dictionaries(
    st.sampled_from(["jsonrpc", "id", "result", "error", "x"]),
    json_values
    | st.fixed_dictionaries(
        {},
        optional={
            "code": json_values,
            "message": json_values | st.sampled_from(["SESSION_INVALID", "X"]),
            "data": json_values,
        },
    ),
)


@settings(max_examples=300)
@given(envelope_members)
def test_any_json_envelope(envelope: dict[str, object]) -> None:
    with contextlib.suppress(*ours):
        answer(json_wire(), json.dumps(envelope).encode())


xml_values = st.recursive(
    st.booleans()
    | st.integers(-(2**31), 2**31 - 1)
    | st.text(st.characters(codec="ascii", exclude_categories=["Cc"]), max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["Status", "Value", "ErrorDescription", "x"]), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(
    xml_values
    | st.fixed_dictionaries(
        {"Status": st.sampled_from(["Success", "Failure"])},
        optional={"Value": xml_values, "ErrorDescription": xml_values},
    )
)
def test_any_xml_envelope(value: object) -> None:
    with contextlib.suppress(*ours):
        answer(xml_wire(), xml_answer(value))


@settings(max_examples=200)
@given(json_values, st.integers(1, 5))
def test_json_answers_survive_any_cut_of_the_stream(value: object, parts: int) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "result": value}).encode()
    chunk = max(1, len(body) // parts)
    assert answer(json_wire(), body, chunk=chunk) == value
