"""Encoder tests: what goes on the wire, what the standard library reads back, and refusals."""

from __future__ import annotations

import datetime
import enum
import gc
import xmlrpc.client
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioxend.errors import Fault, InvalidDomain, LocalProtocolError, ProtocolError
from aioxend.xmlrpc import Decoder, Limits, _encoder, dumps, loads


def stdlib_loads(data: bytes) -> tuple[tuple[Any, ...], str | None]:
    return xmlrpc.client.loads(data, use_builtin_types=True)


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


SAMPLES: list[tuple[str, Any, Any]] = [
    ("str", "guest-1", "guest-1"),
    ("markup characters", "a<b>&c]]>", "a<b>&c]]>"),
    ("empty str", "", ""),
    ("unicode", "d\u00e9j\u00e0 \u65e5\u672c \U0001f600", "d\u00e9j\u00e0 \u65e5\u672c \U0001f600"),
    ("tab and newline", "a\tb\nc", "a\tb\nc"),
    ("int", 7, 7),
    ("int32 edges", [2**31 - 1, -(2**31)], [2**31 - 1, -(2**31)]),
    ("i8 edges", [2**31, 2**63 - 1, -(2**63)], [2**31, 2**63 - 1, -(2**63)]),
    ("bool", [True, False], [True, False]),
    ("float", [1.5, -0.0, 1e300, 5e-324], [1.5, -0.0, 1e300, 5e-324]),
    ("None", None, None),
    ("bytes", b"\x00\xffbinary", b"\x00\xffbinary"),
    ("bytearray", bytearray(b"ab"), b"ab"),
    ("memoryview", memoryview(b"cd"), b"cd"),
    (
        "datetime",
        datetime.datetime(2024, 2, 29, 23, 59, 59),
        datetime.datetime(2024, 2, 29, 23, 59, 59),
    ),
    ("early year", datetime.datetime(987, 1, 2, 3, 4, 5), datetime.datetime(987, 1, 2, 3, 4, 5)),
    ("tuple", (1, "a"), [1, "a"]),
    (
        "nested",
        ["domain", ["domid", 1], ["cpus", [[], []]]],
        ["domain", ["domid", 1], ["cpus", [[], []]]],
    ),
    (
        "struct",
        {"weight": 256, "cap": 0, "a&b": {"c": []}},
        {"weight": 256, "cap": 0, "a&b": {"c": []}},
    ),
    ("mapping", OrderedDict(a=1), {"a": 1}),
    ("int enum", Color.RED, 1),
    ("str subclass", Name("x"), "x"),
]


@pytest.mark.parametrize(
    ("value", "expected"), [(v, e) for _, v, e in SAMPLES], ids=[n for n, _, _ in SAMPLES]
)
def test_round_trip_through_both_decoders(value: Any, expected: Any) -> None:
    body = dumps((value,), "xend.echo")
    assert loads(body, expect="methodCall") == ((expected,), "xend.echo")
    assert stdlib_loads(body) == ((expected,), "xend.echo")
    response = dumps((value,), methodresponse=True)
    assert loads(response) == ((expected,), None)
    assert stdlib_loads(response) == ((expected,), None)


def test_carriage_return_goes_as_a_reference() -> None:
    body = dumps(("a\rb\r\nc",), "m")
    assert b"a&#13;b&#13;\nc" in body
    assert loads(body, expect="methodCall") == (("a\rb\r\nc",), "m")
    assert stdlib_loads(body) == (("a\rb\r\nc",), "m")


def test_ints_pick_the_narrowest_type() -> None:
    assert b"<int>2147483647</int>" in dumps((2**31 - 1,), "m")
    assert b"<i8>2147483648</i8>" in dumps((2**31,), "m")
    assert b"<i8>-2147483649</i8>" in dumps((-(2**31) - 1,), "m")


def test_output_is_utf8_with_a_declaration() -> None:
    body = dumps(("\u00e9",), "m")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "\u00e9".encode() in body


def test_nil_is_sent_as_nil() -> None:
    assert b"<nil/>" in dumps((None,), "m")


def test_fault_response() -> None:
    body = dumps(Fault(3, "guest-9"))
    with pytest.raises(InvalidDomain) as info:
        loads(body)
    assert (info.value.code, info.value.string) == (3, "guest-9")
    with pytest.raises(xmlrpc.client.Fault) as std:
        stdlib_loads(body)
    assert (std.value.faultCode, std.value.faultString) == (3, "guest-9")


def test_fault_with_a_list_string() -> None:
    body = dumps(Fault(2, ["POOL_BAD_STATE", "busy"]))
    with pytest.raises(Fault) as info:
        loads(body)
    assert info.value.string == ["POOL_BAD_STATE", "busy"]


def recursive_list() -> list[Any]:
    value: list[Any] = [1]
    value.append([value])
    return value


def recursive_dict() -> dict[str, Any]:
    value: dict[str, Any] = {}
    value["self"] = value
    return value


def deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


REFUSED: list[tuple[str, tuple[Any, ...], str, str]] = [
    ("nul", ({"disks": ["a", "b", "c\x00"]},), "params[0]['disks'][2]", "U+0000"),
    ("escape char", ("ok", "\x1b[0m"), "params[1]", "U+001B"),
    ("lone surrogate", (["\ud800"],), "params[0][0]", "U+D800"),
    ("lone surrogate alone", ("\ud800",), "params[0]", "U+D800"),
    ("nul alone", ("a\x00b",), "params[0]", "U+0000"),
    ("fffe", ("\ufffe",), "params[0]", "U+FFFE"),
    ("control in key", ({"a\x01": 1},), "params[0]['a\\x01']", "U+0001"),
    ("int beyond 64 bits", ([1, 2**63],), "params[0][1]", "64 bits"),
    ("negative beyond 64 bits", (-(2**63) - 1,), "params[0]", "64 bits"),
    ("nan", ({"x": float("nan")},), "params[0]['x']", "non-finite"),
    ("inf", (float("inf"),), "params[0]", "non-finite"),
    ("int key", ({1: "a"},), "params[0]", "not a str"),
    ("tuple key", ({"ok": {(1,): 2}},), "params[0]['ok']", "not a str"),
    ("object", ([object()],), "params[0][0]", "object"),
    ("set", ({1},), "params[0]", "set"),
    (
        "aware datetime",
        (datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),),
        "params[0]",
        "timezone",
    ),
    ("recursive list", (recursive_list(),), "params[0][1][0]", "recursive"),
    ("recursive dict", (recursive_dict(),), "params[0]['self']", "recursive"),
    ("too deep", (deep(300),), "params[0]", "deeper than 256"),
]


@pytest.mark.parametrize(
    ("params", "path", "reason"),
    [(p, w, r) for _, p, w, r in REFUSED],
    ids=[n for n, _, _, _ in REFUSED],
)
def test_refusals_name_the_path(params: tuple[Any, ...], path: str, reason: str) -> None:
    for kwargs in ({"methodname": "m"}, {"methodresponse": True}):
        if kwargs.get("methodresponse") and len(params) != 1:
            continue
        with pytest.raises(LocalProtocolError) as info:
            dumps(params, **kwargs)
        message = str(info.value)
        assert path in message
        assert reason in message
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, ProtocolError)


def test_none_refused_without_allow_none() -> None:
    with pytest.raises(LocalProtocolError, match=r"params\[0\]\['a'\]"):
        dumps(({"a": None},), "m", allow_none=False)
    assert b"<nil/>" in dumps((None,), "m", allow_none=True)


def test_depth_at_the_limit_is_encoded() -> None:
    body = dumps((deep(255),), "m")
    assert loads(body, expect="methodCall") == ((deep(255),), "m")


def test_shared_but_not_recursive_containers_are_fine() -> None:
    shared = [1, 2]
    assert loads(dumps(([shared, shared],), "m"), expect="methodCall") == (([[1, 2], [1, 2]],), "m")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (([1],), {}),  # neither a methodname nor methodresponse
        (([1],), {"methodname": "m"}),  # params not a tuple
        (((1, 2),), {"methodresponse": True}),  # a response carries one param
        (((1,),), {"methodresponse": True, "methodname": "m"}),
        (((1,),), {"methodname": ""}),
        (((1,),), {"methodname": "a\x00b"}),
        ((Fault(1, "x"),), {"methodname": "m"}),
        ((Fault(True, "x"),), {}),
        ((Fault(1, "x\x00"),), {}),
        ((Fault(1, 5),), {}),  # type: ignore[arg-type]
    ],
)
def test_misuse_is_a_local_protocol_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        dumps(*args, **kwargs)


def test_method_name_is_escaped() -> None:
    body = dumps((), "a&b")
    assert loads(body, expect="methodCall") == ((), "a&b")
    assert stdlib_loads(body) == ((), "a&b")


# --- large documents: long values flushed as UTF-8 in steps (_encoder._Document) ---------


def large_value() -> list[Any]:
    """Long strings (plain, escaped, not ASCII), base64 above and below the step, keys."""
    step = _encoder._CHUNK
    return [
        "a" * (step // 3),
        {"k&<>": "b\r&<>" * (step // 10), "caf\u00e9": "\u00e9\u65e5" * (step // 4)},
        b"\x00\xff" * step,
        [b"x" * 100, "short", 7, 1.5, None, True] * 50,
        "z" * (step + 1),
    ]


def test_a_large_document_is_the_one_piece_document(monkeypatch: pytest.MonkeyPatch) -> None:
    value = large_value()
    flushed = dumps((value,), methodresponse=True)
    monkeypatch.setattr(_encoder, "_CHUNK", 10**12)
    whole = dumps((value,), methodresponse=True)
    assert flushed == whole
    assert stdlib_loads(flushed) == ((value,), None)
    decoder = Decoder(Limits(max_bytes=len(flushed) + 1))
    decoder.feed(flushed)
    assert decoder.close() == stdlib_loads(flushed)


@pytest.mark.parametrize("bad", ["\x00", "\x1f", "\ud800", "\ufffe", "\uffff"])
@pytest.mark.parametrize("where", [0, 1, 4])
def test_a_forbidden_character_in_a_flushed_step_is_named(bad: str, where: int) -> None:
    value = large_value()
    text = value[where] if isinstance(value[where], str) else "y" * _encoder._CHUNK
    value[where] = text[:-1] + bad
    with pytest.raises(LocalProtocolError) as info:
        dumps((value,), methodresponse=True)
    assert f"params[0][{where}]" in str(info.value)
    assert f"U+{ord(bad):04X}" in str(info.value)


def test_key_pieces_kept_across_calls_are_forgotten_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_encoder, "_KEPT", 3)
    monkeypatch.setattr(_encoder, "_NAMES", {})
    record = {f"k{i}&": i for i in range(10)}
    first = dumps((record,), "m")
    assert len(_encoder._NAMES) <= 3
    assert dumps((record,), "m") == first
    assert stdlib_loads(first) == ((record,), "m")


def cached_text(secret: str) -> list[str]:
    """The encoder's cross-call caches' keys and pieces that hold ``secret``."""
    kept = [*_encoder._NAMES.items(), *_encoder._TAGS.items()]
    return [text for pair in kept for text in pair if secret in text]


def test_no_value_outlives_its_call_in_a_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password (identifier-like or not) in a param, a struct's value, a list's later
    item or first item is never kept: only struct member names are, and the tags of
    SXP lists in SXP lists (the first item of a list in a list that starts with a str)."""
    monkeypatch.setattr(_encoder, "_NAMES", {})
    monkeypatch.setattr(_encoder, "_TAGS", {})
    for secret in ("hunter2secret", "pass&word", "caf\u00e9_secret"):
        dumps(("root", secret), "session.login_with_password")
        dumps(({"password": secret, "cfg": {"chap": [secret, 1]}},), "PBD.create")
        dumps((["vfb", ["vncpasswd", secret], [1, secret, secret]],), "xend.domain.create")
        dumps((secret,), methodresponse=True)
        dumps(([[secret, 1], [secret, [1, secret]], secret],), methodresponse=True)
        dumps(([secret, [1, secret], {"k": [secret, 2]}],), methodresponse=True)
        assert cached_text(secret) == []
    assert set(_encoder._NAMES) == {"password", "cfg", "chap", "k"}
    assert set(_encoder._TAGS) == {"vncpasswd"}


def test_a_call_leaves_nothing_for_the_garbage_collector() -> None:
    """What a call made (its pieces, its strings' cache, a large document's buffer) is
    freed when it returns or refuses, not kept in a reference cycle until a collection."""
    value = [{"password": "hunter2secret", "k": ["x" * 100, 1]}, large_value()]
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        dumps((value,), methodresponse=True)
        dumps((value, "y"), "m")
        with pytest.raises(LocalProtocolError):
            dumps(([1, object()],), "m")
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()


def test_tags_are_kept_across_calls_and_forgotten_when_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_encoder, "_TAGS", {})
    value = [
        "domain",
        ["restart", "s3cret pass"],
        ["domid", 1],
        ["a" * 65, 2],
        ["x-y", 3],
        ("cpus", [[], []]),
        ["image", ["linux", ["kernel", "/boot/k"]], 2**40],
    ]
    body = dumps((value,), "m")
    assert set(_encoder._TAGS) == {"restart", "domid", "cpus", "image", "linux", "kernel"}
    assert dumps((value,), "m") == body
    assert stdlib_loads(body) == (([*value[:5], ["cpus", [[], []]], value[6]],), "m")
    monkeypatch.setattr(_encoder, "_KEPT", 2)
    dumps((["host", *([f"w{i}", i] for i in range(5))],), "m")
    assert len(_encoder._TAGS) <= 2


# --- SXP records: tags kept across calls, pairs written inline ---------------------------

_tags = st.sampled_from(["domid", "name", "vif", "on_crash", "x-y", "caf\u00e9", "a" * 70])
_texts = st.one_of(_tags, st.text(max_size=8), st.text(st.characters(max_codepoint=0x7F)))
_sxp_leaves = st.one_of(_texts, st.integers(-(2**40), 2**40), st.booleans(), st.none())


def sxp_lists(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    """``[tag, item...]`` lists (pairs most often), and untagged ones."""
    return st.one_of(
        st.tuples(_texts, inner).map(list),
        st.tuples(_texts, st.lists(inner, max_size=4)).map(lambda t: [t[0], *t[1]]),
        st.lists(inner, max_size=3),
    )


sxp_trees = st.recursive(_sxp_leaves, sxp_lists, max_leaves=25)


@given(st.lists(sxp_trees, min_size=1, max_size=3), st.booleans())
def test_sxp_records_encode_alike_on_every_call(records: list[Any], response: bool) -> None:
    """First call (tags not kept yet) and later calls (kept) write the same bytes, which
    the standard library reads as the value; or both refuse it the same way."""
    value = ["domain", *records]
    kwargs: dict[str, Any] = {"methodresponse": True} if response else {"methodname": "m"}
    bodies = []
    for _ in range(2):
        try:
            bodies.append(dumps((value,), **kwargs))
        except LocalProtocolError as exc:
            bodies.append(str(exc).encode())
    assert bodies[0] == bodies[1]
    if not bodies[0].startswith(b"cannot encode"):
        assert stdlib_loads(bodies[0])[0] == (value,)


@pytest.mark.parametrize(
    "unit", ["a&b <c> d\r\n", 'it\'s "q" & <x>\r', "\r\r", "caf\u00e9 & \r", "x]]>y]]]>>"]
)
def test_long_strings_with_markup_go_into_cdata(unit: str) -> None:
    """A long string holding ``&<>`` or CR is written unescaped in a CDATA section: a
    ``]]>`` split over two sections, a CR as ``&#13;`` between two (never raw, which a
    reader would turn into a newline), quotes as they are. The standard library's
    reader and ours get the exact string back; a short string keeps its entities."""
    text = unit * 40
    body = dumps(([text, unit],), methodresponse=True)
    assert stdlib_loads(body)[0] == ([text, unit],)
    assert loads(body)[0] == ([text, unit],)
    assert b"\r" not in body
    assert b"&#39;" not in body
    assert b"&#34;" not in body
    long_value = body[body.index(b"<string>") + 8 : body.index(b"</string>")]
    assert long_value.startswith(b"<![CDATA[")
    assert long_value.endswith(b"]]>")
    assert b"&amp;" not in long_value
    assert long_value.count(b"&#13;") == text.count("\r")
    short = dumps((unit,), methodresponse=True)
    assert b"CDATA" not in short


def test_long_plain_strings_need_no_cdata() -> None:
    """A long string with nothing to escape is written as it is."""
    text = "plain text, tabs\tand newlines\n" * 10
    body = dumps(([text],), methodresponse=True)
    assert b"CDATA" not in body
    assert f"<string>{text}</string>".encode() in body
