"""Hypothesis properties of the reader and printer, with sexpdata as an independent oracle."""

from __future__ import annotations

import contextlib
import re
from unittest import mock

import sexpdata
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import ProtocolError
from aioxend.sxp import Expr, Parser, _fast, dumps, from_sexpdata, loads, loads_all
from aioxend.sxp._fast import fast_loads
from aioxend.sxp._parser import DEFAULT_LIMITS

atoms = st.text(max_size=12)
exprs: st.SearchStrategy[Expr] = st.recursive(
    atoms, lambda inner: st.lists(inner, max_size=6), max_leaves=40
)


def outcome(func: object, *args: object, **kwargs: object) -> object:
    """The result, or the type and offset of the ProtocolError raised."""
    try:
        return func(*args, **kwargs)  # type: ignore[operator]
    except ProtocolError as exc:
        return (type(exc), exc.offset)


def chunked(data: str | bytes, cuts: list[int], batch: int, *, strict: bool = True) -> list[Expr]:
    parser = Parser(strict=strict)
    parser.BATCH = batch
    out: list[Expr] = []
    start = 0
    for cut in [*sorted({min(c, len(data)) for c in cuts}), len(data)]:
        out += parser.feed(data[start:cut])
        start = cut
    return out + parser.close()


@given(exprs)
def test_every_expression_round_trips(expr: Expr) -> None:
    assert loads(dumps(expr)) == expr
    assert loads(dumps(expr, pretty=True)) == expr
    assert loads(dumps(expr).encode()) == expr


@given(st.lists(exprs, max_size=4))
def test_several_expressions_round_trip(values: list[Expr]) -> None:
    text = "\n".join(dumps(v) for v in values)
    assert loads_all(text) == values


# Text made of SXP's own characters is far likelier to reach deep states than any text.
sxp_text = st.text(alphabet=st.sampled_from(list("()'\"\\ \n\t#;[]ab01x\xe9\x00\x04")), max_size=60)


@given(st.one_of(st.text(max_size=80), sxp_text))
def test_any_text_parses_or_raises_protocol_error(text: str) -> None:
    with contextlib.suppress(ProtocolError):
        loads_all(text)
    with contextlib.suppress(ProtocolError):
        loads_all(text.encode("utf-8", "surrogatepass"))
    loads_all(text, strict=False)  # lenient reading never refuses small input


@given(st.binary(max_size=80))
def test_any_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        loads_all(data)


@given(
    st.one_of(sxp_text, exprs.map(dumps)),
    st.lists(st.integers(min_value=0, max_value=80), max_size=8),
    st.sampled_from([1, 7, 4096]),
)
def test_chunks_equal_whole(text: str, cuts: list[int], batch: int) -> None:
    whole = outcome(loads_all, text)
    assert outcome(chunked, text, cuts, batch) == whole
    lenient = outcome(loads_all, text, strict=False)
    assert outcome(chunked, text, cuts, batch, strict=False) == lenient
    if whole is not None and not isinstance(whole, tuple):
        assert outcome(chunked, text.encode(), cuts, batch) == whole


sxp_bytes = st.lists(
    st.sampled_from([b"(", b")", b"'", b'"', b" ", b"a", b"\\", b"\xc3", b"\xa9", b"\xff", b"#"]),
    max_size=40,
).map(b"".join)


@given(
    st.one_of(st.binary(max_size=60), sxp_bytes),
    st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    st.sampled_from([1, 5, 4096]),
)
def test_byte_chunks_equal_whole(data: bytes, cuts: list[int], batch: int) -> None:
    assert outcome(chunked, data, cuts, batch) == outcome(loads_all, data)
    assert outcome(chunked, data, cuts, batch, strict=False) == outcome(
        loads_all, data, strict=False
    )


def spell(expr: Expr, quote: str, gap: str) -> str:
    """``expr`` with every atom that is not a plain word in ``quote``; with ``"both"``, in
    double quotes when it holds a ``'`` and in single quotes otherwise (xend's choice)."""
    if isinstance(expr, list):
        return "(" + gap.join(spell(item, quote, gap) for item in expr) + ")"
    if expr.isalnum() and expr.isascii():
        return expr
    if quote == "both":
        return f'"{expr}"' if "'" in expr else f"'{expr}'"
    return quote + expr + quote


fast_atoms = st.text(
    alphabet=st.characters(blacklist_characters="'\"\\" + _fast._RESERVED), max_size=8
)
# Atoms as xend's repr writes them without escapes: a '"' never beside a "'".
mixed_atoms = st.text(
    alphabet=st.characters(blacklist_characters='"\\' + _fast._RESERVED), max_size=8
)
fast_exprs: st.SearchStrategy[Expr] = st.recursive(
    fast_atoms, lambda inner: st.lists(inner, max_size=5), max_leaves=30
)


@given(
    st.one_of(
        st.tuples(fast_exprs, st.sampled_from(["'", '"'])),
        st.tuples(
            st.recursive(mixed_atoms, lambda inner: st.lists(inner, max_size=5), max_leaves=30),
            st.just("both"),
        ),
    ),
    st.sampled_from([" ", "\n  ", "\t"]),
)
def test_fast_path_takes_plain_text_and_agrees(case: tuple[Expr, str], gap: str) -> None:
    expr, quote = case
    text = spell(expr, quote, gap)
    fast = fast_loads(text, DEFAULT_LIMITS)
    parser = Parser()
    parser.BATCH = 1 << 30
    careful = parser._add(text, final=False) + parser.close()
    assert careful == [expr]
    assert fast in (None, careful)
    if text.isascii():
        assert fast == careful


@given(exprs)
def test_fast_path_reads_what_dumps_writes(expr: Expr) -> None:
    # dumps writes xend's quoting: repr escapes for anything outside printable ASCII.
    assert fast_loads(dumps(expr), DEFAULT_LIMITS) == [expr]
    assert fast_loads(dumps(expr, pretty=True), DEFAULT_LIMITS) == [expr]


@given(
    st.one_of(sxp_text, st.text(alphabet="() 'ab\"", max_size=40)),
    st.sampled_from([None, 1, 2, 5]),
    st.sampled_from([None, 1, 3, 8]),
)
def test_fast_path_never_disagrees(text: str, chunk: int | None, piece: int | None) -> None:
    with (
        mock.patch.object(_fast, "CHUNK", chunk or _fast.CHUNK),
        mock.patch.object(_fast, "PIECE", piece or _fast.PIECE),
    ):
        fast = fast_loads(text, DEFAULT_LIMITS)
    if fast is not None:
        parser = Parser()
        careful = parser._add(text, final=False) + parser.close()
        assert fast == careful


@given(
    st.lists(exprs, min_size=1, max_size=4),
    st.sampled_from([1, 2, 5]),
    st.sampled_from([1, 4, 1 << 20]),
    st.booleans(),
)
def test_fast_path_in_chunks_reads_what_dumps_writes(
    values: list[Expr], chunk: int, piece: int, pretty: bool
) -> None:
    text = "\n".join(dumps(value, pretty=pretty) for value in values)
    with mock.patch.object(_fast, "CHUNK", chunk), mock.patch.object(_fast, "PIECE", piece):
        assert fast_loads(text, DEFAULT_LIMITS) == values


# The syntax sexpdata and xend share: lower-case words and double-quoted strings without
# escapes. sexpdata reads some words as values: t and nil as booleans, inf, nan and
# infinity as floats; those are spelled in quotes.
NOT_WORDS = {"t", "nil", "inf", "nan", "infinity"}


def plain_word(text: str) -> bool:
    return re.fullmatch(r"[a-z][a-z_]*", text) is not None and text not in NOT_WORDS


words = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(plain_word)
strings = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10).filter(
    lambda s: '"' not in s and "\\" not in s
)
shared: st.SearchStrategy[Expr] = st.recursive(
    words | strings, lambda inner: st.lists(inner, min_size=1, max_size=5), max_leaves=30
)


def spell_double(expr: Expr) -> str:
    if isinstance(expr, list):
        return "(" + " ".join(spell_double(item) for item in expr) + ")"
    return expr if plain_word(expr) else f'"{expr}"'


@given(st.lists(shared, min_size=1, max_size=4))
def test_sexpdata_reads_the_shared_syntax_the_same(values: list[Expr]) -> None:
    text = "(" + " ".join(spell_double(v) for v in values) + ")"
    assert loads(text) == from_sexpdata(sexpdata.loads(text))
