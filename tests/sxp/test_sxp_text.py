"""``unescape``: xend's escaped top-level XML-RPC strings, read without eval."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.sxp import unescape


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        ("plain text", "plain text"),
        (r"line one\nline two\n", "line one\nline two\n"),
        (r"a\tb\\c\'d\"e", "a\tb\\c'd\"e"),
        (r"\x00\x7f\r\a\b\f\v", "\x00\x7f\r\a\b\f\v"),
        (r"caf\xc3\xa9", "café"),
        (r"\101\60\0", "A0\x00"),
        (r"\xff", "\xff"),  # not UTF-8: latin-1
        ("both ' and \" \\047", "both ' and \" '"),  # what xm's exec mangled
        ("déjà", "déjà"),
    ],
)
def test_unescape(wire: str, text: str) -> None:
    assert unescape(wire) == text


@pytest.mark.parametrize("wire", [r"\q", "end\\", r"\x4", r"\xzz", r"\400", r"\u00e9"])
def test_malformed_escapes_raise(wire: str) -> None:
    with pytest.raises(ProtocolError, match="escape"):
        unescape(wire)


@given(st.binary())
def test_unescape_inverts_python2_repr(data: bytes) -> None:
    # Python 3's repr of bytes follows Python 2's repr of str; xend sent repr(s)[1:-1].
    wire = repr(data)[2:-1]
    expected = data.decode("utf-8") if _is_utf8(data) else data.decode("latin-1")
    assert unescape(wire) == expected


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@given(st.text())
def test_unescape_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(ProtocolError):
        unescape(text)
