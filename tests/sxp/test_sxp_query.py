"""Path lookups and typed readers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.sxp import (
    SXPValueError,
    as_bool,
    as_float,
    as_int,
    children,
    loads,
    lookup,
    value,
)

DOMAIN = loads(
    "(domain (domid 5) (name rhel5) (bootloader ) (cpus ((0 1)))"
    " (image (linux (kernel /boot/vmlinuz) (args 'ro quiet')))"
    " (device (vbd (dev xvda) (mode w))) (device (vif (mac 00:16:3e:1d:06:15)))"
    " (name shadowed))"
)


def test_lookup_returns_the_child_list_with_its_tag() -> None:
    assert lookup(DOMAIN, "domain/image/linux/kernel") == ["kernel", "/boot/vmlinuz"]
    image = lookup(DOMAIN, "domain/image")
    assert image is not None
    assert image[0] == "image"
    assert lookup(image, "image/linux/args") == ["args", "ro quiet"]  # records compose
    assert lookup(DOMAIN, "domain") is DOMAIN
    assert lookup(DOMAIN, "/domain/name/") == ["name", "rhel5"]  # first match wins


@pytest.mark.parametrize(
    "path", ["node/name", "domain/missing", "domain/name/deeper", "domain/image/hvm", "", "/"]
)
def test_lookup_misses_are_none(path: str) -> None:
    assert lookup(DOMAIN, path) is None


def test_lookup_of_non_records() -> None:
    assert lookup("domain", "domain") is None
    assert lookup([], "domain") is None
    assert lookup([["domain"]], "domain") is None


def test_value_is_the_first_atom() -> None:
    assert value(DOMAIN, "domain/domid") == "5"
    assert value(DOMAIN, "domain/image/linux/args") == "ro quiet"
    assert value(DOMAIN, "domain/bootloader") is None  # key with no value
    assert value(DOMAIN, "domain/bootloader", "") == ""
    assert value(DOMAIN, "domain/cpus") is None  # first value is a list
    assert value(DOMAIN, "domain/nothing", "dflt") == "dflt"


def test_children_finds_every_match() -> None:
    devices = children(DOMAIN, "device")
    assert [d[1][0] for d in devices] == ["vbd", "vif"]
    assert children(DOMAIN, "nothing") == []
    assert children("atom", "device") == []
    assert children([["device", "x"], ["device"]], "device") == [["device", "x"], ["device"]]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0", 0),
        ("42", 42),
        ("-3", -3),
        ("+7", 7),
        ("010", 10),  # decimal: xend never writes octal
        (str(2**70), 2**70),  # a Python 2 long, as str() wrote it
        ("256.0", 256),  # xend 3.0 wrote some integer fields as floats
        ("-2.0", -2),
        ("1e3", 1000),
    ],
)
def test_as_int(text: str, number: int) -> None:
    assert as_int(text) == number


@pytest.mark.parametrize(
    "text",
    ["", "1.5", "abc", "0x1f", "-0X10", "0x", "1_000", " 1", "1 ", "0b1", "--1", "inf", "nan"],
)
def test_as_int_refuses_what_xend_never_writes_as_an_integer(text: str) -> None:
    with pytest.raises(SXPValueError, match="not an integer"):
        as_int(text)


def test_as_int_refuses_more_digits_than_python_reads_with_its_own_error() -> None:
    assert as_int("9" * 300) == int("9" * 300)  # past the fast path's length, still read
    with pytest.raises(SXPValueError, match="not an integer"):  # not int()'s ValueError
        as_int("1" * 5000)


@pytest.mark.parametrize(
    ("text", "number"),
    [("1.5", 1.5), ("-3", -3.0), ("1e+20", 1e20), (".5", 0.5), ("2.", 2.0), ("7", 7.0)],
)
def test_as_float(text: str, number: float) -> None:
    assert as_float(text) == number


def test_as_float_specials_and_errors() -> None:
    assert math.isinf(as_float("inf"))
    assert math.isnan(as_float("nan"))
    for bad in ["", "abc", "1.2.3", "1e", "1e999", "0x10"]:
        with pytest.raises(SXPValueError):
            as_float(bad)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("1", True),
        ("0", False),
        ("True", True),
        ("false", False),
        ("yes", True),
        ("OFF", False),
        ("2", True),
        ("-1", True),
        ("007", True),
    ],
)
def test_as_bool(text: str, flag: bool) -> None:
    assert as_bool(text) is flag


def test_typed_readers_pass_none_and_refuse_lists() -> None:
    assert [as_int(None), as_float(None), as_bool(None)] == [None, None, None]
    for reader in (as_int, as_float, as_bool):
        with pytest.raises(SXPValueError, match="got a list"):
            reader(["1"])
    with pytest.raises(SXPValueError):
        as_bool("maybe")


def test_value_error_is_both_kinds() -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        as_int("x")
    with pytest.raises(ProtocolError):
        as_int("x")


@given(st.integers())
def test_as_int_reads_what_str_writes(number: int) -> None:
    # xend writes an int with str(); an integer field written as a float reads the same.
    assert as_int(str(number)) == number
    if abs(number) < 2**53:
        assert as_int(str(float(number))) == number


@given(st.text(alphabet="0123456789.+-xXeE _\u0663\u00b2infa", max_size=12))
def test_as_int_gives_an_int_or_refuses(text: str) -> None:
    try:
        number = as_int(text)
    except SXPValueError:
        return
    assert type(number) is int
    assert float(text) == number  # decimal digits, or a float with that integral value
