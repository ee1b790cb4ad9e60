"""XML-RPC values to SXP and back, checked against a port of xend's own printer."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any, cast

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import aioxend.xmlrpc
from aioxend.emulator._show import show as xend_show
from aioxend.errors import LimitExceeded, LocalProtocolError, ProtocolError
from aioxend.sxp import Limits, dumps, from_xmlrpc, loads, to_xmlrpc
from tests.xmlrpc.test_xmlrpc_properties import xml_text


@pytest.mark.parametrize(
    ("value", "expr"),
    [
        (["domain", ["domid", 5], ["name", "x"]], ["domain", ["domid", "5"], ["name", "x"]]),
        (("t", (1, 2)), ["t", ["1", "2"]]),
        (1.0, "1.0"),
        (123.456789012345, "123.456789012"),
        (1e20, "1e+20"),
        (-7, "-7"),
        (True, "True"),
        (False, "False"),
        (None, "None"),
        ({"weight": 256, "cap": 0}, [["weight", "256"], ["cap", "0"]]),
        (xmlrpc.client.Binary(b"caf\xc3\xa9"), "café"),
        (b"\xff", "\xff"),
        (datetime.datetime(2026, 1, 2, 3, 4, 5), "20260102T03:04:05"),
        (xmlrpc.client.DateTime("20260102T03:04:05"), "20260102T03:04:05"),
        ([], []),
    ],
)
def test_from_xmlrpc(value: object, expr: object) -> None:
    assert from_xmlrpc(value) == expr


def test_from_xmlrpc_refuses_unknown_types_and_cycles() -> None:
    with pytest.raises(ProtocolError, match="cannot convert"):
        from_xmlrpc(["a", object()])
    cyclic: list[object] = ["a"]
    cyclic.append(cyclic)
    with pytest.raises(LimitExceeded):
        from_xmlrpc(cyclic)
    with pytest.raises(LimitExceeded):
        from_xmlrpc([[["x"]]], limits=Limits(max_depth=2))


def test_to_xmlrpc() -> None:
    config = loads("(vm (name x) (memory 512) (image (linux (kernel /k))))")
    assert to_xmlrpc(config) == config
    assert to_xmlrpc(("vm", ("vcpus", 2), None, 1.5, True)) == ["vm", ["vcpus", 2], None, 1.5, True]
    with pytest.raises(LocalProtocolError):
        to_xmlrpc(["vm", {"a": 1}])
    cyclic: list[object] = ["a"]
    cyclic.append(cyclic)
    with pytest.raises(LocalProtocolError):
        to_xmlrpc(cyclic)


def test_config_survives_the_wire() -> None:
    config = loads("(vm (name 'a b') (memory 512) (args 'ro quiet') (cpus ((0 1))) (desc ''))")
    wire = cast(Any, to_xmlrpc(config))
    body = xmlrpc.client.dumps((wire,), "xend.domain.create", allow_none=True)
    params, method = aioxend.xmlrpc.loads(body, expect="methodCall")
    assert method == "xend.domain.create"
    assert from_xmlrpc(params[0]) == config


# What xend's XML-RPC server can send: strings, i4 ints, doubles, booleans, nil, arrays,
# and structs of them (sched_credit_get).
_scalars = (
    st.text()
    | st.integers(min_value=-(2**31), max_value=2**31 - 1)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
)
# xend's HTTP server printed a dict as one repr string, not as pairs, so the HTTP/XML-RPC
# equivalence is over arrays and scalars; structs are checked by shape below.
array_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=5), max_leaves=25)
struct_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(array_values)
def test_xmlrpc_and_http_give_the_same_expression(value: object) -> None:
    # The text xend's HTTP server would have sent for the value reads back as the
    # expression from_xmlrpc builds from the XML-RPC form of the same value.
    assert loads(xend_show(value)) == from_xmlrpc(value)


@given(array_values)
def test_dumps_of_python_values_is_xends_printer(value: object) -> None:
    assert dumps(value) == xend_show(value)  # type: ignore[arg-type]


@given(array_values)
def test_dumps_of_converted_values_matches_xend_but_for_quoting(value: object) -> None:
    # dumps(from_xmlrpc(v)) equals xend's text for v except where xend printed a value
    # bare that atomp() would quote (floats such as 1e+20) or quoted one atomp() would
    # leave bare ('None'); either way the two texts read back the same.
    ours = dumps(from_xmlrpc(value))
    theirs = xend_show(value)
    assert loads(ours) == loads(theirs)
    if not _has_special(value):
        assert ours == theirs


def _has_special(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return "e" in f"{value:.12g}"
    if isinstance(value, list):
        return any(_has_special(item) for item in value)
    return False


@given(struct_values)
@example({"k": "a\ufffe"})  # XML forbids it: the stdlib writes it, our reader refuses it
def test_structs_become_pair_lists_that_survive_the_wire(value: object) -> None:
    expr = from_xmlrpc(value)
    assert loads(dumps(expr)) == expr
    if isinstance(value, dict):
        assert isinstance(expr, list)
        assert [pair[0] for pair in expr] == list(value)
    if _xml_safe(value):  # the stdlib encoder writes characters XML forbids
        body = xmlrpc.client.dumps((cast(Any, value),), methodresponse=True, allow_none=True)
        params, _ = aioxend.xmlrpc.loads(body)
        assert from_xmlrpc(params[0]) == expr


def _xml_safe(value: object) -> bool:
    if isinstance(value, str):
        return all(
            c in "\t\n" or (c >= " " and not "\ud800" <= c <= "\udfff" and c not in "\ufffe\uffff")
            for c in value
        )
    if isinstance(value, list):
        return all(_xml_safe(item) for item in value)
    if isinstance(value, dict):
        return all(_xml_safe(k) and _xml_safe(v) for k, v in value.items())
    return True


def test_from_xmlrpc_keeps_depth_limits_and_refuses_foreign_types() -> None:
    assert from_xmlrpc(["domain", ("t", 1), {"k": 2}]) == ["domain", ["t", "1"], [["k", "2"]]]
    assert from_xmlrpc(7) == "7"
    with pytest.raises(LimitExceeded):
        from_xmlrpc([[["x"]]], limits=Limits(max_depth=2))
    with pytest.raises(LimitExceeded):
        from_xmlrpc(["a", [{"k": ["deep"]}]], limits=Limits(max_depth=3))
    cyclic: list[object] = ["a"]
    cyclic.append(cyclic)
    with pytest.raises(LimitExceeded):
        from_xmlrpc(cyclic, limits=Limits(max_depth=32))
    with pytest.raises(ProtocolError, match="cannot convert"):
        from_xmlrpc(["a", [object()]])


_wire_text = xml_text(carriage_return=False)  # a raw CR would read back as LF
_wire_values = st.recursive(
    _wire_text | _scalars.filter(lambda leaf: not isinstance(leaf, str)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_wire_text, inner, max_size=3),
    max_leaves=20,
)


@given(st.lists(_wire_values, max_size=5), st.booleans())
def test_converting_while_decoding_equals_from_xmlrpc(value: list[object], ints: bool) -> None:
    # The XML-RPC backend decodes array answers with from_xmlrpc as the decoder's hook
    # (int_text: its ints spelled by the decoder) and uses the result as it is: it must
    # be what from_xmlrpc makes of the value.
    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
    decoder = aioxend.xmlrpc.Decoder(leaf=from_xmlrpc, int_text=ints)
    decoder.feed(body)
    assert decoder.close()[0][0] == from_xmlrpc(value)


@pytest.mark.parametrize("digits", ["0", "7", "123456789", "+7", "007", "00", "-0", "-5", "-05"])
@pytest.mark.parametrize("tag", ["int", "i4"])
def test_ints_spelled_by_the_decoder_are_what_from_xmlrpc_spells(digits: str, tag: str) -> None:
    # int_text keeps a pair's digits only where they are str(int)'s spelling.
    pair = f"<value><string>k</string></value><value><{tag}>{digits}</{tag}></value>"
    body = (
        "<methodResponse><params><param><value><array><data>"
        f"<value><array><data>{pair}</data></array></value>"
        "</data></array></value></param></params></methodResponse>"
    ).encode()
    decoder = aioxend.xmlrpc.Decoder(leaf=from_xmlrpc, int_text=True)
    decoder.feed(body)
    assert decoder.close()[0][0] == [["k", str(int(digits))]]
