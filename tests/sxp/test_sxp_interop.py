"""sexpdata interop, and where sexpdata cannot read xend's SXP."""

from __future__ import annotations

import pytest
import sexpdata

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.sxp import Limits, from_sexpdata, loads, to_sexpdata


def test_round_trip_through_sexpdata_objects() -> None:
    expr = loads("(domain (name 'a b') (cpus ((0 1))) ())")
    objects = to_sexpdata(expr)
    assert isinstance(objects[0], sexpdata.Symbol)
    assert from_sexpdata(objects) == expr
    assert from_sexpdata(sexpdata.loads(sexpdata.dumps(objects))) == expr


def test_from_sexpdata_spells_numbers_and_specials() -> None:
    parsed = sexpdata.loads('(a "b c" 10 1.5 t nil [x y] \'q)')
    assert from_sexpdata(parsed) == ["a", "b c", "10", "1.5", "t", [], ["x", "y"], ["quote", "q"]]
    with pytest.raises(ProtocolError):
        from_sexpdata(object())
    with pytest.raises(ProtocolError):
        to_sexpdata([1])  # type: ignore[list-item]


def test_depth_is_bounded() -> None:
    deep: list[object] = [[[["a"]]]]
    with pytest.raises(LimitExceeded):
        to_sexpdata(deep, limits=Limits(max_depth=2))  # type: ignore[arg-type]
    with pytest.raises(LimitExceeded):
        from_sexpdata(deep, limits=Limits(max_depth=2))


def test_why_sexpdata_is_not_the_parser() -> None:
    text = "(args 'ro root=/dev/sda1 quiet') (vcpus 010)"
    ours = [loads(text), loads(text.split(") ")[1])]
    assert ours == [["args", "ro root=/dev/sda1 quiet"], ["vcpus", "010"]]
    theirs = from_sexpdata(sexpdata.loads(f"({text})"))
    assert theirs != [["args", "ro root=/dev/sda1 quiet"], ["vcpus", "010"]]
