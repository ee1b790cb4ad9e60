"""The SXP reader against xend's lexical rules (xend/sxp.py Parser) and libvirt's leniency."""

from __future__ import annotations

import gc
import re
from unittest import mock

import pytest

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.sxp import Expr, Limits, Parser, _fast, dumps, loads, loads_all
from aioxend.sxp._fast import fast_loads
from aioxend.sxp._parser import DEFAULT_LIMITS


def careful(text: str | bytes, *, strict: bool = True, step: int | None = None) -> list[Expr]:
    """Parse with the incremental parser only, in chunks of ``step`` (whole by default)."""
    parser = Parser(strict=strict)
    parser.BATCH = 1  # read every chunk at once
    out: list[Expr] = []
    size = step or max(1, len(text))
    with mock.patch.object(parser, "_fast_ready", return_value=False):  # never the fast path
        for start in range(0, len(text), size):
            out += parser.feed(text[start : start + size])
        return out + parser.close()


def feed_all(parser: Parser, text: str, *, close: bool = True) -> list[Expr]:
    """Feed ``text`` one character at a time."""
    out: list[Expr] = []
    for char in text:
        out += parser.feed(char)
    return out + parser.close() if close else out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(a 1.5 -3 0x10)", [["a", "1.5", "-3", "0x10"]]),  # numbers stay text
        ("()", [[]]),
        ("(a (b (c)) ())", [["a", ["b", ["c"]], []]]),
        ("a b c", ["a", "b", "c"]),
        ("  \t\n\v\f\r(x)\r\n", [["x"]]),
        ("(a [b] {c})", [["a", "[b", "]", "{c", "}"]]),  # separators start atoms
        ("(a<b>c;d)", [["a", "<b", ">c", ";d"]]),
        ('(abc"def ghi)', [['abc"def', "ghi"]]),  # quotes inside an atom do not end it
        ("(it's)", [["it's"]]),
        ("(a # comment (ignored\n b)", [["a", "b"]]),
        ("(a#comment\nb)", [["a", "b"]]),  # '#' ends an atom
        ("# only a comment", []),
        ("(a ;b)", [["a", ";b"]]),  # ';' is no comment
        ("('single' \"double\")", [["single", "double"]]),
        ("('it\"s' \"it's\")", [['it"s', "it's"]]),  # the other quote may appear inside
        ("('' \"\")", [["", ""]]),
        ("'multi\nline'", ["multi\nline"]),
        ('"a"b', ["a", "b"]),  # a string ends its token
        ("(a\xe9b)", [["a\xe9b"]]),  # later atom characters are not checked
        ("(domain (name x))''", [["domain", ["name", "x"]], ""]),  # xend 4.1+ trailing ''
        ("", []),
    ],
)
def test_lexical_rules(text: str, expected: list[Expr]) -> None:
    assert loads_all(text) == expected
    assert careful(text) == expected
    assert careful(text, step=1) == expected
    assert loads_all(text.encode("utf-8")) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (r"'\a\b\t\n\v\f\r\\\'\"'", "\a\b\t\n\v\f\r\\'\""),
        (r"'\x41\x4a\x7'", "AJ\x07"),  # one or two hex digits
        (r"'\101\60\0'", "A0\x00"),  # one to three octal digits
        (r"'\1012'", "A2"),
        (r"'caf\xc3\xa9'", "café"),  # escapes give bytes, the atom is UTF-8
        (r"'caf\303\251'", "café"),
        (r"'\xff\xfe'", "\xff\xfe"),  # not UTF-8: latin-1
        (r"'\xe2\x82'", "\xe2\x82"),  # a cut UTF-8 sequence: latin-1
        ("'caf\\xc3\\xa9 and café'", "café and café"),
    ],
)
def test_escapes(body: str, expected: str) -> None:
    assert loads(body) == expected
    assert careful(body) == [expected]


@pytest.mark.parametrize(
    ("text", "message", "offset"),
    [
        (")", "unexpected ')'", 0),
        ("(a) )", "unexpected ')'", 4),
        ("(a", "not closed", 2),
        ("((a) (b)", "not closed", 8),
        ("(a 'bc", "EOF in a string", 3),
        ('(a "b\\"', "EOF in a string", 3),
        ("(a \x00)", "invalid character: code 0", 3),
        ("(a \x04)", "invalid character: code 4", 3),
        ("(\xe9)", "invalid character: code 233", 1),
        (r"(a '\q')", "unknown escape \\q", 4),
        (r"(a '\xg')", "hex digits expected", 4),
        (r"(a '\777')", "out of range", 4),
    ],
)
def test_strict_errors_carry_offsets(text: str, message: str, offset: int) -> None:
    for parse in (loads_all, careful):
        with pytest.raises(ProtocolError, match=re.escape(message)) as info:
            parse(text)
        assert info.value.offset == offset
        assert not isinstance(info.value, LimitExceeded)


def test_loads_takes_the_first_expression_and_refuses_blank_input() -> None:
    assert loads("(a) (b)") == ["a"]
    assert loads("x") == "x"
    with pytest.raises(ProtocolError, match="no S-expression"):
        loads("  # nothing\n")
    with pytest.raises(ProtocolError):
        loads("(a) )")  # garbage after the first expression is still an error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(a (b", [["a", ["b"]]]),  # libvirt closes what is open
        ("(a) ) (b)", [["a"], ["b"]]),  # and skips a stray ')'
        ("(a 'bc d", [["a", "bc d"]]),  # an unterminated string runs to the end
        (r"(a '\q\x\777')", [["a", r"\q\x\777"]]),  # bad escapes kept as written
        (r"(a 'x\'y')", [["a", "x'y"]]),  # good escapes still decoded
        ("(\x00a \xe9b)", [["\x00a", "\xe9b"]]),  # any character may start an atom
    ],
)
def test_lenient_mode(text: str, expected: list[Expr]) -> None:
    assert loads_all(text, strict=False) == expected
    assert careful(text, strict=False) == expected
    assert careful(text, strict=False, step=1) == expected


def test_bytes_input_decodes_each_atom() -> None:
    assert loads("(caf\xc3\xa9 x\xff 'y\xff')".encode("latin-1")) == ["café", "x\xff", "y\xff"]
    # A multi-byte character split across chunks.
    data = "(n café)".encode()
    assert careful(data, step=1) == [["n", "café"]]
    parser = Parser()
    parser.feed(b"(a")
    with pytest.raises(TypeError):
        parser.feed("b)")


def test_parser_returns_values_as_batches_complete() -> None:
    parser = Parser()
    parser.BATCH = 1
    assert parser.feed("(a) (b") == [["a"]]
    assert parser.feed(" c) 'd") == [["b", "c"]]
    assert parser.feed("e' ") == ["de"]
    assert parser.close() == []
    with pytest.raises(RuntimeError):
        parser.feed("x")
    with pytest.raises(RuntimeError):
        parser.close()


def test_a_long_expression_fed_in_chunks_reaches_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scanned: list[int] = []
    scan = Parser._scan

    def spy(self: Parser, final: bool) -> None:
        scanned.append(len(self._text))
        scan(self, final)

    monkeypatch.setattr(Parser, "_scan", spy)
    expected: Expr = [["domain", ["name", f"d{i}"], ["args", "ro quiet"]] for i in range(300)]
    text = dumps(expected) + " (b) c"
    parser = Parser()
    parser.BATCH = 256  # far smaller than the expression, which stays open until the end
    out: list[Expr] = []
    for start in range(0, len(text), 64):
        out += parser.feed(text[start : start + 64])
    assert out + parser.close() == [expected, ["b"], "c"]
    assert sum(scanned) == 0  # the careful scanner never saw any of it


def test_an_open_expression_costs_no_attempt_before_it_can_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[int] = []

    def spy(text: str, limits: Limits) -> list[Expr] | None:
        tried.append(len(text))
        return fast_loads(text, limits)

    monkeypatch.setattr("aioxend.sxp._parser.fast_loads", spy)
    expected: Expr = [["domain", ["name", f"d{i}"], ["cpus", [[], []]]] for i in range(300)]
    text = dumps(expected)
    parser = Parser()
    parser.BATCH = 256
    out: list[Expr] = []
    for start in range(0, len(text), 64):
        out += parser.feed(text[start : start + 64])
    assert out + parser.close() == [expected]
    assert tried == [len(text)]  # one attempt, at close: every earlier one was hopeless
    tried.clear()
    records = " ".join(dumps(record) for record in expected)  # many expressions
    parser = Parser()
    parser.BATCH = 256
    out = []
    for start in range(0, len(records), 64):
        out += parser.feed(records[start : start + 64])
    assert out + parser.close() == expected
    assert len(tried) > 10  # they come out batch by batch


def test_parser_is_spent_after_an_error() -> None:
    parser = Parser()
    parser.BATCH = 1
    with pytest.raises(ProtocolError):
        parser.feed(")")
    with pytest.raises(RuntimeError, match="after close"):
        parser.feed("(a)")


def test_parser_rejects_other_types() -> None:
    with pytest.raises(TypeError):
        Parser().feed(12)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        loads_all(12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "limits", "limit"),
    [
        ("(" * 5 + ")" * 5, Limits(max_depth=4), "max_depth"),
        ("(a bb ccc)", Limits(max_atom=2), "max_atom"),
        ("(a 'bbb')", Limits(max_atom=2), "max_atom"),
        ("(a b c d)", Limits(max_items=4), "max_items"),
        ("(a b c d)", Limits(max_bytes=8), "max_bytes"),
    ],
)
def test_limits(text: str, limits: Limits, limit: str) -> None:
    for data in (text, text.encode()):
        with pytest.raises(LimitExceeded) as info:
            loads_all(data, limits=limits)
        assert info.value.limit == limit
    parser = Parser(limits=limits)
    parser.BATCH = 1
    with pytest.raises(LimitExceeded):
        feed_all(parser, text)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "9"])
def test_limits_must_be_positive_ints(bad: object) -> None:
    with pytest.raises(ValueError, match="positive int"):
        Limits(max_depth=bad)  # type: ignore[arg-type]


def test_limits_at_the_boundary_pass() -> None:
    assert loads("((((a))))", limits=Limits(max_depth=4)) == [[[["a"]]]]
    assert loads("(a b c)", limits=Limits(max_items=4, max_atom=1, max_bytes=7)) == ["a", "b", "c"]


def test_deep_input_is_refused_without_recursion() -> None:
    depth = 200_000
    with pytest.raises(LimitExceeded):
        loads("(" * depth + ")" * depth)
    with pytest.raises(LimitExceeded):
        loads("(a " * depth)
    assert loads("(" * 256 + ")" * 256, limits=DEFAULT_LIMITS) is not None


def test_an_unfinished_atom_cannot_grow_without_bound() -> None:
    parser = Parser(limits=Limits(max_atom=10))
    parser.BATCH = 1
    with pytest.raises(LimitExceeded):
        feed_all(parser, "x" * 100, close=False)


@pytest.mark.parametrize(
    "text",
    [
        "(a (b c) d)",
        '(a "b c" ("" x))',
        "(a 'b c' (x '(y)'))",
        "((a)(b))()",
        "(a\t\n(b)\r)",
        "(a 'b c' \"it's\" '')",  # both quote kinds, as xend writes them
        "(a 'b\"c' d)",  # a '"' inside single quotes
        r"(d 'caf\xc3\xa9 \'x\'' (n 'a\nb\\'))",  # escapes, as xend writes them
    ],
)
def test_fast_path_agrees_with_the_careful_parser(text: str) -> None:
    fast = fast_loads(text, DEFAULT_LIMITS)
    assert fast is not None
    assert fast == careful(text)


@pytest.mark.parametrize(
    "text",
    [
        "(domain (domid 1) (name x) (args 'ro quiet') (cpus ((0 1) (2))))",  # xend's layout
        "(a  b)",
        "( a)",
        "(a )",
        "(a () b)",
        "(a)(b)",
        "(a (b)c)",
        "(a(b) c)",
        " (a)",
        "(a) ",
        "(a 'b c')",
        "('x' y)",
        "('x')",
        "(a 'x'(b))",
        "(a ('x'))",
        "'x' 'y'",
        "(a\nb)",
    ],
)
def test_fast_path_layouts_agree_with_the_careful_parser(text: str) -> None:
    fast = fast_loads(text, DEFAULT_LIMITS)
    assert fast is None or fast == careful(text)
    assert loads_all(text) == careful(text)


@pytest.mark.parametrize(
    "text",
    [
        r"(a '\q')",  # an escape strict reading refuses
        r"(a\b)",  # a backslash outside a string
        "(a # c\n)",  # a comment
        "(a [b])",  # separators
        '(a x"y z")',  # a quote inside an atom
        "(a (b)",  # unbalanced
        "(a))",
        ")(",
        "(caf\xe9)",  # non-ASCII outside strings
        "(a \x01)",
        "(a 'b)",  # odd quotes
        "\x1c",  # str.isspace() holds, but no SXP blank (found by the fuzz profile)
        " \x1f\n",
    ],
)
def test_fast_path_declines_what_it_cannot_prove(text: str) -> None:
    assert fast_loads(text, DEFAULT_LIMITS) is None


@pytest.mark.parametrize(
    "text",
    [
        "(cpus (() ()))",  # xend's unpinned VCPUs
        "(domain (domid 6)(name 'pvtest')(cpus (())))",  # libvirt's layout
        "(domain\n    (cpus (() ()))\n    (image\n        (linux (kernel ))\n    )\n)\n",
        r"""(d 'line\none' 'it\'s' "it's" 'caf\303\251' 'back\\slash\\')""",
        r"(d '\x01' '\001' '\1')",  # escapes that spell the fast path's marker
        r"(d 'caf\xe9' '\xc3\xa9')",  # not UTF-8: that atom is latin-1
        "(d '\ud800 x' \"\udfff\")",  # lone surrogates in str input pass through as they are
        "(d 'tab\there' \"a\tb\" '\\0\\37\\x7f' 'x\\ny')",  # control characters, raw and escaped
        "(d '\\x02 \\x01' \"\\002\")",  # the markers, escaped in both kinds of string
        r"""(d '' "" '\\\\')""",
        "0()0",  # an empty list between two atoms with no blank
        "(a())",
        "(()a)",
    ],
)
def test_fast_path_takes_the_shapes_xend_writes(text: str) -> None:
    fast = fast_loads(text, DEFAULT_LIMITS)
    assert fast is not None
    assert fast == careful(text)


@pytest.mark.parametrize("few", [0, 1 << 15])
@pytest.mark.parametrize(
    "text",
    [
        "(d 'tab\there' \"a\tb\" '\\0\\37\\x7f' 'x\\ny')",
        "(d 'plain' \"words\" 'x\\x01y')",
        "(d '" + "x" * 40_000 + "\t' 'y')",
    ],
)
def test_fast_path_finds_control_characters_both_ways(
    text: str, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Strings shorter than _FEW_CONTROLS are first looked over by one translate, longer
    ones by a search per control character: both spell every one, in either kind."""
    monkeypatch.setattr(_fast, "_FEW_CONTROLS", few)
    fast = fast_loads(text, DEFAULT_LIMITS)
    assert fast is not None
    assert fast == careful(text)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64])
def test_fast_path_cut_in_chunks_reads_the_same(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        ["domain", ["name", f"vm {i}"], ["cpus", [[], []]], ["args", "ro 'x'\n"], ["a", "b", "c"]]
        for i in range(40)
    ]
    text = dumps(records)
    pretty = dumps(records, pretty=True)
    monkeypatch.setattr(_fast, "CHUNK", chunk)
    assert len(_fast._chunks(text)) > 1
    assert fast_loads(text, DEFAULT_LIMITS) == [records]
    assert fast_loads(pretty, DEFAULT_LIMITS) == [records]
    assert loads_all(text + " (a  b)  c") == [records, ["a", "b"], "c"]


@pytest.mark.parametrize("piece", [1, 2, 5, 64])
def test_fast_path_cut_in_pieces_reads_the_same(
    piece: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        ["domain", ["name", f"vm {i}"], ["cpus", [[], []]], ["args", "ro 'x'\n"], ["a", "it's"]]
        for i in range(40)
    ]
    text = dumps(records)
    monkeypatch.setattr(_fast, "PIECE", piece)
    found = list(_fast._marked_pieces(text))
    pieces = [piece for piece in found if piece is not None]
    assert len(pieces) == len(found) > 1
    assert sum(marked[3] for marked, _ in pieces) == len(text)
    assert [last for _, last in pieces] == [False] * (len(pieces) - 1) + [True]
    assert fast_loads(text, DEFAULT_LIMITS) == [records]
    assert fast_loads(dumps(records, pretty=True), DEFAULT_LIMITS) == [records]


def test_each_piece_is_spelled_before_the_next_is_marked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pieces of a long text go through one at a time, so its marked copy is never
    # held whole: the first piece is cut into chunks when only it has been marked.
    text = dumps([["domain", ["name", f"vm {i}"], ["cpus", [[], []]]] for i in range(40)])
    marked: list[str] = []
    at_chunks: list[int] = []
    marked_piece, chunks = _fast._marked_piece, _fast._chunks

    def marking(piece: str) -> object:
        marked.append(piece)
        return marked_piece(piece)

    def chunking(whole: str) -> list[str]:
        at_chunks.append(len(marked))
        return chunks(whole)

    monkeypatch.setattr(_fast, "_marked_piece", marking)
    monkeypatch.setattr(_fast, "_chunks", chunking)
    monkeypatch.setattr(_fast, "PIECE", 64)
    assert fast_loads(text, DEFAULT_LIMITS) == careful(text)
    assert len(marked) > 2
    assert at_chunks == list(range(1, len(marked) + 1))


def test_a_cut_inside_a_string_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    # The piece before a cut inside 'c d e f g' ends in an unterminated string, so the
    # cut is not taken, and the next one is looked for past that string's closing quote
    # (the cuts at "d", "e" and "f" are not tried). An escaped backslash before a
    # closing quote ('a\\') ends its string.
    text = r"(x 'a\\' 'c d e f g' y)"
    tried: dict[str, bool] = {}
    marked_piece = _fast._marked_piece

    def spy(piece: str) -> object:
        marked = marked_piece(piece)
        tried[piece] = marked is not None
        return marked

    monkeypatch.setattr(_fast, "_marked_piece", spy)
    monkeypatch.setattr(_fast, "PIECE", 2)
    assert fast_loads(text, DEFAULT_LIMITS) == careful(text) == [["x", "a\\", "c d e f g", "y"]]
    assert tried == {
        "(x": True,
        r" 'a\\'": True,
        " 'c": False,  # a cut inside 'c d e f g' was looked at
        " 'c d e f g'": True,
        " y)": True,
    }


@pytest.mark.parametrize("piece", [1, 3, 64])
def test_each_piece_is_decoded_on_its_own(piece: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # No JSON as long as the text is held: each piece's is decoded before the next
    # piece is marked, and its values are added to the lists the pieces before left
    # open, at every depth (the cuts fall inside records, devices and empty lists).
    records = [
        ["domain", ["name", f"vm {i}"], ["cpus", [[], []]], ["device", ["vif", ["mac", "m"]]]]
        for i in range(30)
    ]
    text = dumps(records)
    docs: list[int] = []
    marked: list[int] = []
    decode, marked_piece = _fast._DECODE, _fast._marked_piece

    def decoding(doc: bytes) -> object:
        docs.append(len(doc))
        return decode(doc)

    def marking(piece: str) -> object:
        found = marked_piece(piece)
        if found is not None:  # (a cut inside a string is marked in vain)
            marked.append(len(docs))
        return found

    monkeypatch.setattr(_fast, "_DECODE", decoding)
    monkeypatch.setattr(_fast, "_marked_piece", marking)
    monkeypatch.setattr(_fast, "PIECE", piece)
    assert fast_loads(text, DEFAULT_LIMITS) == careful(text) == [records]
    assert len(docs) == len(marked) > 10
    assert marked == list(range(len(marked)))  # one decode after each marking
    assert max(docs) < len(text) / 5
    assert fast_loads(dumps(records, pretty=True), DEFAULT_LIMITS) == [records]


@pytest.mark.parametrize(
    ("tail", "limits", "limit"),
    [
        ("(a (b (c (d (e)))))", Limits(max_depth=5), "max_depth"),
        (" ".join(["x"] * 60), Limits(max_items=340), "max_items"),
        ("(a b))) (c", DEFAULT_LIMITS, None),  # a ")" too many in the last piece
    ],
)
def test_a_later_piece_is_held_to_the_limits(
    tail: str, limits: Limits, limit: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pieces before were decoded already; the fast path declines all the same, and
    # the careful parser raises what it raises on the whole.
    text = "(" + " ".join(f"(d{i} (v {i}))" for i in range(60)) + " " + tail + ")"
    decoded: list[int] = []
    decode = _fast._DECODE

    def decoding(doc: bytes) -> object:
        decoded.append(len(doc))
        return decode(doc)

    monkeypatch.setattr(_fast, "_DECODE", decoding)
    monkeypatch.setattr(_fast, "PIECE", 16)
    assert fast_loads(text, limits) is None
    assert len(decoded) > 10
    expected = LimitExceeded if limit else ProtocolError
    with pytest.raises(expected) as info:
        careful_limited(text, limits)
    with pytest.raises(expected) as fast_info:
        loads(text, limits=limits)
    assert (fast_info.value.offset, str(fast_info.value)) == (info.value.offset, str(info.value))


def careful_limited(text: str, limits: Limits) -> list[Expr]:
    """The careful parser alone, with ``limits``."""
    parser = Parser(limits=limits)
    with mock.patch.object(parser, "_fast_ready", return_value=False):
        return parser.feed(text) + parser.close()


def big_text() -> str:
    return dumps([["domain", ["name", f"vm{i}"], ["cpus", [[], []]]] for i in range(3000)])


def test_gc_is_held_off_while_the_lists_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    decode = _fast._DECODE

    def watching(doc: bytes) -> object:
        seen.append(gc.isenabled())
        return decode(doc)

    monkeypatch.setattr(_fast, "_DECODE", watching)
    assert gc.isenabled()
    text = big_text()
    assert len(loads(text)) == 3000
    assert loads("(a (b))") == ["a", ["b"]]  # too small to bother the collector
    assert seen == [False, True]
    assert gc.isenabled()


@pytest.mark.parametrize("error", [KeyboardInterrupt, MemoryError, ValueError])
def test_gc_is_enabled_again_on_every_exit(
    error: type[BaseException], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(doc: bytes) -> object:
        assert not gc.isenabled()
        raise error("stop")

    monkeypatch.setattr(_fast, "_DECODE", failing)
    text = big_text()
    if issubclass(error, ValueError):  # invalid JSON: the careful parser reads it instead
        assert len(loads(text)) == 3000
    else:
        with pytest.raises(error):
            loads(text)
    assert gc.isenabled()


def test_gc_a_caller_paused_stays_paused() -> None:
    gc.disable()
    try:
        assert len(loads(big_text())) == 3000
        assert not gc.isenabled()
    finally:
        gc.enable()
