"""The emulator's request decoders: any body is a call of its wire or a ValueError."""

from __future__ import annotations

import contextlib
import json
import xmlrpc.client

from hypothesis import given, settings
from hypothesis import strategies as st

from aioxend.emulator.xenapi import _jsonrpc, _xmlrpc

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(), inner)),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_value_error(body: bytes) -> None:
    for decode in (_xmlrpc.decode_call, _jsonrpc.decode_call):
        with contextlib.suppress(ValueError):  # anything else fails the test
            decode(body)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_any_json_document_decodes_or_raises_value_error(doc: object) -> None:
    body = json.dumps(doc).encode()
    try:
        call = _jsonrpc.decode_call(body)
    except ValueError:
        return
    assert isinstance(doc, dict)
    assert call.method == doc["method"]


@settings(max_examples=100, deadline=None)
@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,19}", fullmatch=True),
    st.lists(json_values.filter(lambda v: v is not None), max_size=4),
)
def test_stdlib_calls_round_trip(method: str, params: list[object]) -> None:
    try:
        body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()  # type: ignore[arg-type]
    except (TypeError, OverflowError):
        return  # not marshallable by the stdlib (e.g. an int beyond 32 bits)
    try:
        name, decoded = _xmlrpc.decode_call(body)
    except ValueError:
        return  # characters XML cannot carry
    assert name == method
    assert len(decoded) == len(params)
