"""The Python 2 artefacts and xend's printer, checked against known xend output."""

from __future__ import annotations

import ast

from hypothesis import given
from hypothesis import strategies as st

from aioxend.emulator._py2 import (
    Long,
    arity_error,
    dict_order,
    float_str,
    repr_bytes,
    repr_text,
)
from aioxend.emulator._show import atomp, show
from aioxend.sxp import loads


def test_repr_matches_python2() -> None:
    assert repr_bytes(b"abc") == "'abc'"
    assert repr_bytes(b"it's") == '"it\'s"'
    assert repr_bytes(b'it\'s "x"') == "'it\\'s \"x\"'"
    assert repr_bytes(b"a\tb\nc\rd\\e\x00\x7f\xff") == "'a\\tb\\nc\\rd\\\\e\\x00\\x7f\\xff'"
    assert repr_text("caf\u00e9") == "'caf\\xc3\\xa9'"


@given(st.binary(max_size=64))
def test_repr_is_a_python_literal_of_the_same_bytes(data: bytes) -> None:
    assert ast.literal_eval("b" + repr_bytes(data)) == data


def test_float_str_is_python2s() -> None:
    assert float_str(1.0) == "1.0"
    assert float_str(907.159661051) == "907.159661051"
    assert float_str(0.1 + 0.2) == "0.3"
    assert float_str(1233108538.42) == "1233108538.42"
    assert float_str(1e16) == "1e+16"
    assert float_str(-2.0) == "-2.0"
    assert float_str(float("inf")) == "inf"


def test_dict_order_is_python2s() -> None:
    # xm sched-credit printed {'cap': 0, 'weight': 256}; xmlrpclib faults lead with faultCode
    assert dict_order(["weight", "cap"]) == ["cap", "weight"]
    assert dict_order(["faultCode", "faultString"]) == ["faultCode", "faultString"]
    assert dict_order([3, 1, 2]) == [1, 2, 3]  # small ints hash to themselves
    many = [f"key{i}" for i in range(40)]
    assert sorted(dict_order(many)) == sorted(many)  # resizing keeps every key


def test_arity_messages() -> None:
    assert arity_error("f", 2, 2, 2) is None
    assert arity_error("f", 1, None, 9) is None
    assert arity_error("shutdown", 2, 2, 3) == "shutdown() takes exactly 2 arguments (3 given)"
    assert arity_error("pause", 2, 3, 4) == "pause() takes at most 3 arguments (4 given)"
    assert arity_error("g", 1, 1, 0) == "g() takes exactly 1 argument (0 given)"


def test_printer_rules() -> None:
    assert show(["a", "b c", "", "x@y", "@", 1, 2.5, True, None, Long(3)]) == (
        "(a 'b c' '' 'x@y' @ 1 2.5 True 'None' '3')"
    )
    assert show(["it's"]) == '("it\'s")'
    assert show([]) == "()"
    assert show([[], ["k", "/a/b:c~d.e-f_g"]]) == "(() (k /a/b:c~d.e-f_g))"
    assert show({"weight": 256, "cap": 0}) == "\"{'cap': 0, 'weight': 256}\""
    assert show("a\nb") == "'a\\nb'"
    assert atomp("Domain-0")
    assert not atomp("")
    assert not atomp("a=b")


_atoms = st.text(min_size=0, max_size=12)
_trees = st.recursive(
    _atoms | st.integers(-(2**40), 2**40),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=30,
)


def _as_text(value: object) -> object:
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    return str(value)


@given(st.lists(_trees, max_size=5))
def test_our_printer_and_the_client_parser_agree(tree: list[object]) -> None:
    # the client's parser, never sharing code with this printer, reads back every atom
    assert loads(show(tree)) == _as_text(tree)
