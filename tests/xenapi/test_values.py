"""The wire-value decoders of the typed Xen-API layer: every form either wire sends, and
nothing but a value or a ``ProtocolError`` for anything else."""

from __future__ import annotations

import contextlib
import datetime
import math
import pickle
import xmlrpc.client

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.xenapi import _values as v

INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
UTC_SECONDS = st.datetimes(
    min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(9998, 12, 31)
).map(lambda d: d.replace(microsecond=0, tzinfo=datetime.UTC))
# Anything a wire decoder could hand over, and more.
ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.datetimes()
    | st.builds(xmlrpc.client.DateTime, st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)


class Colour(v.OpenEnum):
    RED = "red"
    DARK_BLUE = "dark-blue"


DECODERS = [
    v.string,
    v.integer,
    v.floating,
    v.boolean,
    v.timestamp,
    v.enum_of(Colour),
    v.list_of(v.integer),
    v.list_of(v.string),
    v.map_of(v.string, v.timestamp),
    v.map_of(v.string, v.string),
    v.map_of(v.integer, v.list_of(v.string)),
    v.optional(v.floating),
]


@given(INT64)
def test_int_as_number_or_string(n: int) -> None:
    assert v.integer(n) == v.integer(str(n)) == n
    assert type(v.integer(str(n))) is int


@pytest.mark.parametrize("text", ["", "1.5", "0x10", "1_000", " 1", "١٢", "true", "1e3", "9" * 30])
def test_int_refuses(text: str) -> None:
    with pytest.raises(ProtocolError, match="expected an int"):
        v.integer(text)


def test_int_refuses_bool_and_fraction() -> None:
    for bad in (True, False, 1.5, None, [1]):
        with pytest.raises(ProtocolError):
            v.integer(bad)
    assert v.integer(3.0) == 3


@given(st.floats(allow_nan=False))
def test_float_as_number_or_string(x: float) -> None:
    assert v.floating(x) == v.floating(repr(x)) == x


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Infinity", math.inf),
        ("+Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("inf", math.inf),
        ("1.", 1.0),
        ("-0.5", -0.5),
        ("1e+10", 1e10),
        (".5", 0.5),
        (3, 3.0),
    ],
)
def test_float_forms(text: object, value: float) -> None:
    assert v.floating(text) == value


def test_float_nan_forms() -> None:
    for nan in ("NaN", "nan", math.nan):
        assert math.isnan(v.floating(nan))


@pytest.mark.parametrize("text", ["", "1_0", "Infinit", "0x1p3", " 1", "1.2.3", "e5"])
def test_float_refuses(text: str) -> None:
    with pytest.raises(ProtocolError, match="expected a float"):
        v.floating(text)


@given(UTC_SECONDS)
def test_datetime_every_form_is_the_same_instant(when: datetime.datetime) -> None:
    basic = when.strftime("%Y%m%dT%H:%M:%S")
    forms: list[object] = [
        basic + "Z",
        basic,
        when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        when.strftime("%Y%m%dT%H%M%S"),
        f"{when.timestamp():.0f}.",
        f"{when.timestamp():.1f}",
        int(when.timestamp()),
        when.timestamp(),
        xmlrpc.client.DateTime(basic),
        when.replace(tzinfo=None),
        when.astimezone(datetime.timezone(datetime.timedelta(hours=-5))),
        when.astimezone(datetime.timezone(datetime.timedelta(hours=2))).isoformat(),
    ]
    for form in forms:
        decoded = v.timestamp(form)
        assert decoded == when, form
        assert decoded.tzinfo is datetime.UTC, form


def test_datetime_examples() -> None:
    when = datetime.datetime(2024, 4, 20, 12, 0, tzinfo=datetime.UTC)
    assert v.timestamp("20240420T12:00:00Z") == when
    assert v.timestamp("20240420T14:00:00+02:00") == when
    assert v.timestamp("2024-04-20T12:00:00.250Z") == when.replace(microsecond=250000)
    assert v.timestamp("1627478400.") == datetime.datetime(2021, 7, 28, 13, 20, tzinfo=datetime.UTC)
    assert v.timestamp("19700101T00:00:00Z") == v.EPOCH


@pytest.mark.parametrize(
    "bad",
    [
        "20241320T12:00:00Z",
        "20240420T25:00:00Z",
        "2024-0420T12:00:00",
        "20240420",
        "yesterday",
        "20240420T12:00:00+24:00",
        "1e400",
        "nan",
        math.nan,
        math.inf,
        10.0**20,
        True,
        None,
        xmlrpc.client.DateTime("garbage"),
    ],
)
def test_datetime_refuses(bad: object) -> None:
    with pytest.raises(ProtocolError, match="expected a datetime"):
        v.timestamp(bad)


def test_enum_keeps_unknown_values_as_open_members() -> None:
    decode = v.enum_of(Colour)
    assert decode("red") is Colour.RED
    assert decode("dark-blue") is Colour.DARK_BLUE
    unknown = decode("ultraviolet")
    assert isinstance(unknown, Colour)
    assert unknown == "ultraviolet"
    assert unknown.value == unknown.name == str(unknown) == "ultraviolet"
    assert unknown not in list(Colour)
    assert Colour("ultraviolet") == unknown
    assert pickle.loads(pickle.dumps(unknown)) == unknown
    with pytest.raises(ValueError, match="not a valid Colour"):
        Colour(3)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="Colour"):
        decode(3)


def test_open_members_are_kept_up_to_a_bound() -> None:
    decode = v.enum_of(Colour)
    assert decode("infrared") is decode("infrared")
    for i in range(200):  # a server inventing values: each still decodes
        assert decode(f"new-{i}") == f"new-{i}"
    assert decode("red") is Colour.RED


def test_compound_decoders() -> None:
    assert v.list_of(v.integer)(["1", 2]) == [1, 2]
    assert v.map_of(v.integer, v.floating)({"0": "Infinity"}) == {0: math.inf}
    assert v.optional(v.string)(None) is None
    assert v.optional(v.string)([]) is None
    assert v.optional(v.string)(["x"]) == "x"
    assert v.optional(v.string)("x") == "x"
    with pytest.raises(ProtocolError, match="a list"):
        v.list_of(v.integer)("12")
    with pytest.raises(ProtocolError, match="a map"):
        v.map_of(v.string, v.string)([])


def test_fast_paths_copy_and_still_check() -> None:
    wire = ["a", "b"]
    decoded = v.list_of(v.string)(wire)
    assert decoded == wire
    assert decoded is not wire
    mapping = {"k": "v"}
    assert v.map_of(v.string, v.string)(mapping) == mapping
    assert v.map_of(v.string, v.string)(mapping) is not mapping
    assert v.map_of(v.string, v.integer)({"k": "7"}) == {"k": 7}
    with pytest.raises(ProtocolError, match="expected a string"):
        v.list_of(v.string)(["a", 1])
    with pytest.raises(ProtocolError, match="expected a string"):
        v.map_of(v.string, v.string)({"k": "v", "j": 2})
    with pytest.raises(ProtocolError, match="expected a string"):
        v.map_of(v.string, v.string)({1: "v"})
    assert v.list_of(v.string)(("a",)) == ["a"]


def test_bool_and_string_are_strict() -> None:
    assert v.boolean(True) is True
    assert v.string(Colour.RED) == "red"
    assert type(v.string(Colour.RED)) is str
    for bad in (0, "true", None):
        with pytest.raises(ProtocolError):
            v.boolean(bad)
    with pytest.raises(ProtocolError):
        v.string(1)


@pytest.mark.parametrize("decode", DECODERS)
@given(value=ANY_VALUE)
def test_any_value_decodes_or_raises_protocol_error(
    decode: v.Decoder[object], value: object
) -> None:
    with contextlib.suppress(ProtocolError):
        decode(value)


def test_plain_turns_values_into_wire_values() -> None:
    when = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    value = v.plain({"a": [Colour.RED, ("x", 1)], Colour.DARK_BLUE: when})
    assert value == {"a": ["red", ["x", 1]], "dark-blue": when}
    assert isinstance(value, dict)
    assert [type(k) for k in value] == [str, str]


def test_result_names_the_method() -> None:
    with pytest.raises(ProtocolError, match=r"VM\.get_memory_target returned a bad value"):
        v.result("VM.get_memory_target", v.integer, "lots")
