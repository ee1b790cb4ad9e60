"""The SXP printer: xend's quoting rules (xend/sxp.py show) and the pretty layout."""

from __future__ import annotations

import pytest

from aioxend.errors import LocalProtocolError
from aioxend.sxp import Printable, dumps, is_bare, loads, py2_float_str, unescape


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        ("a.b-c_d:e/f~g", "a.b-c_d:e/f~g"),
        ("@", "@"),
        ("a@b", "'a@b'"),
        ("", "''"),
        ("a b", "'a b'"),
        ("a=b", "'a=b'"),
        ("it's", '"it\'s"'),  # double quotes when only ' appears
        ('say "hi" it\'s', "'say \"hi\" it\\'s'"),  # both: single quotes, \' escaped
        ("tab\there\nnl\r\\", "'tab\\there\\nnl\\r\\\\'"),
        ("\x00\x7f", "'\\x00\\x7f'"),
        ("café", "'caf\\xc3\\xa9'"),  # repr of the UTF-8 bytes
        (7, "7"),
        (-3, "-3"),
        (2**63 - 1, "9223372036854775807"),
        (2**64, "'18446744073709551616'"),  # a Python 2 long prints quoted
        (True, "True"),
        (False, "False"),
        (None, "'None'"),
        (1.0, "1.0"),
        (["a", ["b", "c d"], []], "(a (b 'c d') ())"),
        (("t", 1), "(t 1)"),
    ],
)
def test_xend_quoting(value: Printable, text: str) -> None:
    assert dumps(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (123.456789012345, "123.456789012"),
        (1e20, "1e+20"),
        (1e16, "1e+16"),
        (1e-5, "1e-05"),
        (1233108538.42, "1233108538.42"),
        (907.159661051, "907.159661051"),
        (0.1, "0.1"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "nan"),
    ],
)
def test_python2_float_str(value: float, text: str) -> None:
    assert py2_float_str(value) == text


def test_is_bare_is_atomp() -> None:
    assert all(is_bare(text) for text in ["x", "@", "0x1f", "a.b-c_d:e/f~g"])
    assert not any(is_bare(text) for text in ["", "a b", "é", "@@", "a@b", "x+y"])


@pytest.mark.parametrize(
    "value",
    ["", "x", "a'b\"c", "\\", "\n\t", "café ☃ \U0001f600", "\x00\x01\xff", "(", "#", ";"],
)
def test_round_trip_atoms(value: str) -> None:
    assert loads(dumps(value)) == value
    assert loads(dumps([value, [value]])) == [value, [value]]
    if not is_bare(value):
        # The quoted body is exactly what xend's repr trick sends, so unescape reads it.
        assert unescape(dumps(value)[1:-1]) == value


def test_unprintable_values_are_refused() -> None:
    with pytest.raises(LocalProtocolError, match="cannot print"):
        dumps(["a", {"b": 1}])  # type: ignore[list-item]
    with pytest.raises(LocalProtocolError, match="UTF-8"):
        dumps("\ud800")
    cyclic: list[object] = ["a"]
    cyclic.append(cyclic)
    with pytest.raises(LocalProtocolError, match="deeply"):
        dumps(cyclic)  # type: ignore[arg-type]


def test_deep_expressions_print_without_recursion() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(50_000):
        child: list[object] = []
        node.append(child)
        node = child
    text = dumps(deep)  # type: ignore[arg-type]
    assert text == "(" * 50_001 + ")" * 50_001


RECORD = [
    "domain",
    ["domid", "21"],
    ["name", "domu-224"],
    ["bootloader_args"],
    [
        "image",
        [
            "hvm",
            ["kernel", "/usr/lib/xen/boot/hvmloader"],
            ["device_model", "/usr/lib/xen/bin/qemu-dm"],
            ["notes", ["SUSPEND_CANCEL", "1"]],
        ],
    ],
    ["device", ["vkbd", ["backend", "0"]]],
    [
        "device",
        [
            "vif",
            ["bridge", "e1000g0"],
            ["mac", "00:16:3e:1b:e8:18"],
            ["script", "vif-vnic"],
            ["uuid", "7da8c614-018b-dc87-6bfc-a296a95bca4f"],
        ],
    ],
]

PRETTY = """\
(domain
    (domid 21)
    (name domu-224)
    (bootloader_args)
    (image
        (hvm
            (kernel /usr/lib/xen/boot/hvmloader)
            (device_model /usr/lib/xen/bin/qemu-dm)
            (notes (SUSPEND_CANCEL 1))
        )
    )
    (device (vkbd (backend 0)))
    (device
        (vif
            (bridge e1000g0)
            (mac 00:16:3e:1b:e8:18)
            (script vif-vnic)
            (uuid 7da8c614-018b-dc87-6bfc-a296a95bca4f)
        )
    )
)"""


def test_pretty_layout_is_xm_list_long() -> None:
    assert dumps(RECORD, pretty=True) == PRETTY
    assert loads(PRETTY) == RECORD
    assert dumps(["a", "b"], pretty=True) == "(a b)"
    assert dumps("x y", pretty=True) == "'x y'"
    long = ["k", "v" * 100, ["x"], "tail"]
    assert dumps(long, pretty=True) == "(k " + "v" * 100 + "\n    (x)\n    tail\n)"
    atoms_only = ["name", "x" * 100]
    nested = [["domain", atoms_only], ["domain", ["name", "y"]]]
    name = f"        (name {'x' * 100})"
    lines = ["(", "    (domain", name, "    )", "    (domain (name y))", ")"]
    assert dumps(nested, pretty=True) == "\n".join(lines)
