"""Decoder table tests: every document fed whole, byte by byte and in random splits."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

import pytest

from aioxend.errors import (
    Fault,
    InternalError,
    InvalidDomain,
    LimitExceeded,
    OperationFailed,
    ProtocolError,
)
from aioxend.xmlrpc import Decoder, Limits, loads
from aioxend.xmlrpc._decoder import _MEMBER_SCALAR, Root, _expressions
from tests.xmlrpc.xmlrpc_feeding import feed_chunks, three_ways

UTC = datetime.UTC
MINUS_0530 = datetime.timezone(-datetime.timedelta(hours=5, minutes=30))


def response(*values: str) -> bytes:
    """A methodResponse whose params carry the given <value> texts."""
    params = "".join(f"<param>{v}</param>" for v in values)
    return f"<methodResponse><params>{params}</params></methodResponse>".encode()


def one(value: str) -> bytes:
    return response(f"<value>{value}</value>")


def _pair(first: str, second: str) -> str:
    """An array of two values, spaced as the standard library writes it."""
    inner = f"\n<value>{first}</value>\n<value>{second}</value>\n"
    return f"<value><array><data>{inner}</data></array></value>"


def _nested_doc(depth: int) -> str:
    inner = "<value>x</value>"
    for _ in range(depth):
        inner = f"<value><array><data>{inner}</data></array></value>"
    return inner


def _nested_value(depth: int) -> Any:
    inner: Any = "x"
    for _ in range(depth):
        inner = [inner]
    return inner


VALID: list[tuple[str, bytes, tuple[Any, ...]]] = [
    ("i4", one("<i4>-17</i4>"), (-17,)),
    ("int", one("<int> +42 </int>"), (42,)),
    ("i8", one("<i8>9223372036854775807</i8>"), (2**63 - 1,)),
    ("i8 min", one("<i8>-9223372036854775808</i8>"), (-(2**63),)),
    (
        "ex:i8",
        b'<methodResponse xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions">'
        b"<params><param><value><ex:i8>4294967296</ex:i8></value></param></params>"
        b"</methodResponse>",
        (2**32,),
    ),
    (
        "boolean",
        response("<value><boolean>1</boolean></value>", "<value><boolean>0</boolean></value>"),
        (True, False),
    ),
    ("string", one("<string>hello world</string>"), ("hello world",)),
    ("string keeps spaces", one("<string>  padded\t</string>"), ("  padded\t",)),
    ("empty string", one("<string></string>"), ("",)),
    ("empty string tag", one("<string/>"), ("",)),
    ("untyped", one("plain text"), ("plain text",)),
    ("untyped whitespace kept", one("  two  "), ("  two  ",)),
    ("untyped empty", one(""), ("",)),
    ("empty value tag", response("<value/>"), ("",)),
    ("double", one("<double>-1.5e3</double>"), (-1500.0,)),
    ("double plain", one("<double>3.25</double>"), (3.25,)),
    ("double inf", one("<double>inf</double>"), (float("inf"),)),
    (
        "dateTime compact",
        one("<dateTime.iso8601>19980717T14:08:55</dateTime.iso8601>"),
        (datetime.datetime(1998, 7, 17, 14, 8, 55),),
    ),
    (
        "dateTime extended",
        one("<dateTime.iso8601>2024-02-29T23:59:59</dateTime.iso8601>"),
        (datetime.datetime(2024, 2, 29, 23, 59, 59),),
    ),
    (
        "dateTime basic",
        one("<dateTime.iso8601>19980717T140855</dateTime.iso8601>"),
        (datetime.datetime(1998, 7, 17, 14, 8, 55),),
    ),
    (
        "dateTime offset",
        one("<dateTime.iso8601>2024-01-02T03:04:05-05:30</dateTime.iso8601>"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=MINUS_0530),),
    ),
    (
        "dateTime zone and fraction",
        one("<dateTime.iso8601>20240102T03:04:05.25Z</dateTime.iso8601>"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5, 250000, UTC),),
    ),
    ("base64", one("<base64>aGVs\nbG8=</base64>"), (b"hello",)),
    ("base64 empty", one("<base64></base64>"), (b"",)),
    ("nil", one("<nil/>"), (None,)),
    ("nil pair", one("<nil></nil>"), (None,)),
    ("ex:nil", one("<ex:nil/>"), (None,)),
    (
        "array",
        one("<array><data><value><int>1</int></value><value>x</value></data></array>"),
        ([1, "x"],),
    ),
    ("empty array", one("<array><data></data></array>"), ([],)),
    (
        "pair of strings",
        response(_pair("<string>name</string>", "<string>g</string>")),
        (["name", "g"],),
    ),
    ("pair with int", response(_pair("<string>domid</string>", "<i4>-3</i4>")), (["domid", -3],)),
    (
        "pair with double",
        response(_pair("<string>t</string>", "<double>1.5</double>")),
        (["t", 1.5],),
    ),
    (
        "pair in a pair",
        response(_pair("<string>a</string>", _pair("<string>b</string>", "<int>1</int>")[7:-8])),
        (["a", ["b", 1]],),
    ),
    (
        "pair in a struct",
        one(
            "<struct><member><name>k</name>"
            + _pair("<string>a</string>", "<int>1</int>")
            + "</member></struct>"
        ),
        ({"k": ["a", 1]},),
    ),
    ("empty data tag", one("<array><data/></array>"), ([],)),
    (
        "struct",
        one(
            "<struct><member><name>a</name><value><int>1</int></value></member>"
            "<member><name>b</name><value><array><data/></array></value></member></struct>"
        ),
        ({"a": 1, "b": []},),
    ),
    ("empty struct", one("<struct></struct>"), ({},)),
    ("empty struct tag", one("<struct/>"), ({},)),
    (
        "struct last key wins",
        one(
            "<struct><member><name>k</name><value>1</value></member>"
            "<member><name>k</name><value>2</value></member></struct>"
        ),
        ({"k": "2"},),
    ),
    ("char references", one("<string>&#65;&#x42;&#x1F600;</string>"), ("AB\U0001f600",)),
    ("five entities", one("<string>&lt;&gt;&amp;&quot;&apos;</string>"), ("<>&\"'",)),
    # Common references by a replace chain, any other among them by a lookup each.
    (
        "references mixed",
        one("<string>&amp;&#xE9;&lt;&#233;&quot;&#13;</string>"),
        ('&\u00e9<\u00e9"\r',),
    ),
    ("amp before lt", one("<string>&amp;lt;&amp;amp;</string>"), ("&lt;&amp;",)),
    ("base64 spaced every way", one("<base64>QU\tFB\r\n QU FB\n</base64>"), (b"AAAAAA",)),
    ("long string", one("<string>" + "x" * 5000 + "</string>"), ("x" * 5000,)),
    ("long untyped", one("y" * 5000), ("y" * 5000,)),
    ("long string, references", one("<string>" + "a&amp;" * 900 + "</string>"), ("a&" * 900,)),
    ("entities untyped", one("a&amp;b"), ("a&b",)),
    (
        "entity in name",
        one("<struct><member><name>a&lt;b</name><value/></member></struct>"),
        ({"a<b": ""},),
    ),
    ("cdata", one("<string>a<![CDATA[<&>]]]]>b</string>"), ("a<&>]]b",)),
    ("cdata untyped", one("<![CDATA[x&amp;]]>"), ("x&amp;",)),
    ("cdata brackets then >", one("<string><![CDATA[a]]]]>></string>"), ("a]]>",)),
    ("cdata then brackets", one("<string>]]<![CDATA[>]]></string>"), ("]]>",)),
    (
        "cdata keeps references",
        one("<string><![CDATA[&amp;&#13;]]>&amp;</string>"),
        ("&amp;&#13;&",),
    ),
    ("cdata crlf", one("<string><![CDATA[a\r\nb\rc]]>\r</string>"), ("a\nb\nc\n",)),
    ("crlf across cdata", one("<string>a\r<![CDATA[\nb]]></string>"), ("a\n\nb",)),
    ("brackets in text", one("<string>a]] ]>]</string>"), ("a]] ]>]",)),
    ("comment inside", one("<string>a<!-- note -->b</string>"), ("ab",)),
    ("crlf normalised", one("<string>a\r\nb\rc</string>"), ("a\nb\nc",)),
    ("cr reference kept", one("<string>a&#13;b</string>"), ("a\rb",)),
    (
        "utf-8 text",
        one("<string>d\u00e9j\u00e0 \u65e5\u672c \U0001f600</string>"),
        ("d\u00e9j\u00e0 \u65e5\u672c \U0001f600",),
    ),
    ("spaced tags", response("<value ><string >x</string ></value >"), ("x",)),
    ("attributes ignored", response("<value kind=\"odd\"><int a='1'>5</int></value>"), (5,)),
    ("quoted > in an attribute", response('<value a=">"><int>1</int></value>'), (1,)),
    ("empty comment", b"<!---->" + one("<int>1</int>"), (1,)),
    ("no params", b"<methodResponse><params></params></methodResponse>", ()),
    (
        "cdata spacing between elements",
        b"<methodResponse><![CDATA[ \n]]><params><![CDATA[]]></params></methodResponse>",
        (),
    ),
    ("several params", response("<value>a</value>", "<value><int>2</int></value>"), ("a", 2)),
    (
        "stdlib layout",
        b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n"
        b"<value><string>domain</string></value>\n<value><int>1</int></value>\n"
        b"</data></array></value>\n</param>\n</params>\n</methodResponse>\n",
        (["domain", 1],),
    ),
    (
        "comments and space around the root",
        b"<?xml version='1.0'?>\n<!-- before -->\n" + one("<int>1</int>") + b"\n<!-- after -->\n",
        (1,),
    ),
    ("deep but allowed", response(_nested_doc(50)), (_nested_value(50),)),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [(d, e) for _, d, e in VALID], ids=[n for n, _, _ in VALID]
)
def test_valid_documents(doc: bytes, expected: tuple[Any, ...]) -> None:
    assert three_ways(doc) == ("ok", (expected, None))


def test_method_call() -> None:
    doc = (
        b"<?xml version='1.0'?><methodCall><methodName>xend.domain.setMemoryTarget"
        b"</methodName><params><param><value>guest</value></param>"
        b"<param><value><int>512</int></value></param></params></methodCall>"
    )
    expected = (("guest", 512), "xend.domain.setMemoryTarget")
    assert three_ways(doc, expect="methodCall") == ("ok", expected)
    assert loads(doc, expect="methodCall") == expected


def test_method_call_without_params() -> None:
    doc = b"<methodCall><methodName>xend.node.info</methodName></methodCall>"
    assert three_ways(doc, expect="methodCall") == ("ok", ((), "xend.node.info"))


def test_method_call_without_name() -> None:
    with pytest.raises(ProtocolError, match="unexpected <params> in <methodCall>"):
        loads(b"<methodCall><params/></methodCall>", expect="methodCall")


# Issue 16, item 16: a request echoed back is not an answer, nor an answer a request.
@pytest.mark.parametrize(
    ("expect", "doc"),
    [
        ("methodResponse", b"<methodCall><methodName>m</methodName><params/></methodCall>"),
        ("methodCall", one("<int>1</int>")),
    ],
)
def test_only_the_expected_root_is_read(expect: Root, doc: bytes) -> None:
    assert three_ways(doc, expect=expect)[0] == "error"
    decoder = Decoder(expect=expect)
    with pytest.raises(ProtocolError, match="where a") as info:
        decoder.feed(doc[: doc.index(b">") + 1])  # refused at once, as another root is
    assert info.value.offset == 0


def test_expect_names_a_root() -> None:
    with pytest.raises(ValueError, match="expect"):
        Decoder(expect="rss")  # type: ignore[arg-type]


# Issue 16, item 17: <int> and <i4> are 32-bit in the spec, <i8> 64-bit.
@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("<int>2147483647</int>", 2**31 - 1),
        ("<i4>-2147483648</i4>", -(2**31)),
        ("<int>2147483648</int>", None),
        ("<i4>2147483648</i4>", None),
        ("<i4>-2147483649</i4>", None),
        ("<int> 00000000002147483648 </int>", None),
        ("<int>99999999999999999999</int>", None),
        ("<i8>2147483648</i8>", 2**31),
        ("<ex:i8>-9223372036854775808</ex:i8>", -(2**63)),
        ("<i8>9223372036854775808</i8>", None),
    ],
)
def test_ints_are_refused_out_of_range_for_their_tag(value: str, ok: int | None) -> None:
    doc = one(value)
    if ok is not None:
        assert three_ways(doc) == ("ok", ((ok,), None))
        return
    assert three_ways(doc)[0] == "error"
    with pytest.raises(ProtocolError, match="beyond") as info:
        loads(doc)
    assert info.value.offset == doc.index(b"</", doc.index(b"<value>"))


@pytest.mark.parametrize(
    ("declaration", "body", "expected"),
    [
        (b'<?xml version="1.0" encoding="UTF-8"?>', "caf\u00e9".encode(), "caf\u00e9"),
        (b'<?xml version="1.0" encoding="utf-8" standalone="yes"?>', b"x", "x"),
        (b'<?xml version="1.0" encoding="US-ASCII"?>', b"plain", "plain"),
        (b"<?xml version='1.0' encoding='ISO-8859-1'?>", b"caf\xe9 \xff", "caf\u00e9 \u00ff"),
        (b'<?xml version="1.0" encoding="latin1"?>', b"\xe0", "\u00e0"),
        (b'<?xml version="1.0" encoding="windows-1252"?>', b"\x80", "\u20ac"),
        (b"\xef\xbb\xbf", "\u00e9".encode(), "\u00e9"),
        (b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>', b"x", "x"),
    ],
)
def test_encodings(declaration: bytes, body: bytes, expected: str) -> None:
    doc = declaration + b"<methodResponse><params><param><value><string>" + body
    doc += b"</string></value></param></params></methodResponse>"
    assert three_ways(doc) == ("ok", ((expected,), None))


def test_multibyte_character_split_across_chunks() -> None:
    text = "\u00e9\u65e5\U0001f600"
    doc = one(f"<string>{text}</string>")
    start = doc.index(b"<string>") + len(b"<string>")
    for cut in range(start, start + len(text.encode())):
        assert feed_chunks([doc[:cut], doc[cut:]]) == ((text,), None)


def test_loads_takes_str_whatever_the_declared_encoding() -> None:
    doc = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>'
        + one("<string>\u00e9\u65e5</string>").decode()
    )
    assert loads(doc) == (("\u00e9\u65e5",), None)


@pytest.mark.parametrize(
    ("code", "cls"),
    [(1, InternalError), (2, OperationFailed), (3, InvalidDomain), (-32601, Fault)],
)
def test_faults_map_to_their_classes(code: int, cls: type[Fault]) -> None:
    doc = (
        "<methodResponse><fault><value><struct>"
        f"<member><name>faultCode</name><value><int>{code}</int></value></member>"
        "<member><name>faultString</name><value><string>guest-9</string></value></member>"
        "</struct></value></fault></methodResponse>"
    ).encode()
    assert three_ways(doc) == ("fault", cls, code, "guest-9")
    with pytest.raises(cls) as info:
        loads(doc)
    assert type(info.value) is cls


def test_fault_string_may_be_a_list() -> None:
    doc = (
        b"<methodResponse><fault><value><struct>"
        b"<member><name>faultCode</name><value><int>2</int></value></member>"
        b"<member><name>faultString</name><value><array><data><value>POOL_BAD_STATE</value>"
        b"<value>busy</value></data></array></value></member></struct></value></fault>"
        b"</methodResponse>"
    )
    assert three_ways(doc) == ("fault", OperationFailed, 2, ["POOL_BAD_STATE", "busy"])


def fault_doc(members: str, value: str | None = None) -> bytes:
    inner = value if value is not None else f"<value><struct>{members}</struct></value>"
    return f"<methodResponse><fault>{inner}</fault></methodResponse>".encode()


MALFORMED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("only whitespace", b" \n\t "),
    ("sxp", b"(domain (name guest))"),
    ("html", b"<html><body>404</body></html>"),
    ("json", b'{"result": 1}'),
    ("other root", b"<?xml version='1.0'?><rss/>"),
    ("empty root", b"<methodResponse/>"),
    ("empty response", b"<methodResponse></methodResponse>"),
    ("mismatched", b"<methodResponse><params></methodResponse>"),
    ("mismatched leaf", one("<int>1</i4>")),
    ("bad int", one("<int>abc</int>")),
    ("float as int", one("<int>1.5</int>")),
    ("int beyond 64 bits", one("<i8>9223372036854775808</i8>")),
    ("huge int", one("<int>" + "9" * 5000 + "</int>")),
    ("bad boolean", one("<boolean>2</boolean>")),
    ("empty boolean", one("<boolean/>")),
    ("bad double", one("<double>1.2.3</double>")),
    ("double with underscore", one("<double>1_000</double>")),
    (
        "bad double in a pair",
        one(
            "<array><data><value><string>t</string></value><value><double>x</double></value></data></array>"
        ),
    ),
    ("bad base64 padding", one("<base64>abc</base64>")),
    ("bad base64 char", one("<base64>ab$c</base64>")),
    ("bad date", one("<dateTime.iso8601>20241301T00:00:00</dateTime.iso8601>")),
    ("not a date", one("<dateTime.iso8601>yesterday</dateTime.iso8601>")),
    ("mixed date forms", one("<dateTime.iso8601>20200102T03:0405</dateTime.iso8601>")),
    ("bad zone", one("<dateTime.iso8601>20200102T03:04:05+25:00</dateTime.iso8601>")),
    (
        "text in params",
        b"<methodResponse><params>x<param><value/></param></params></methodResponse>",
    ),
    ("text before type", one("x<int>1</int>")),
    ("two types", one("<int>1</int><int>2</int>")),
    ("value in value", one("<value>1</value>")),
    ("text after type", one("<int>1</int>x")),
    ("unknown type", one("<float>1.0</float>")),
    ("child in string", one("<string><b>x</b></string>")),
    ("text in nil", one("<nil>x</nil>")),
    ("array without data", one("<array></array>")),
    ("array tag", one("<array/>")),
    ("two data", one("<array><data/><data/></array>")),
    ("member without value", one("<struct><member><name>a</name></member></struct>")),
    ("member without name", one("<struct><member><value>1</value></member></struct>")),
    ("value in struct", one("<struct><value>1</value></struct>")),
    ("param without value", b"<methodResponse><params><param></param></params></methodResponse>"),
    ("two values in param", response("<value>1</value><value>2</value>")),
    ("truncated", one("<string>abc</string>")[:-10]),
    ("truncated in tag", one("<int>1</int>")[:-3]),
    ("truncated after decl", b"<?xml version='1.0'?>"),
    ("truncated decl", b"<?xml version='1.0'"),
    ("overlong decl", b"<?xml version='1.0'" + b" " * 2000 + b"?>" + one("1")),
    ("trailing text", one("<int>1</int>") + b"junk"),
    ("second root", one("<int>1</int>") + one("<int>1</int>")),
    ("unknown entity", one("<string>&nbsp;</string>")),
    ("bare ampersand", one("<string>a & b</string>")),
    ("cdata end in text", one("<string>a]]>b</string>")),
    ("cdata end in untyped text", one("a]]>b")),
    (
        "cdata end in a pair",
        one(
            "<array><data><value><string>k</string></value><value><string>]]></string></value></data></array>"
        ),
    ),
    ("cdata end in text with entity", one("<string>&amp;]]></string>")),
    ("cdata end in a key", one("<struct><member><name>]]></name><value/></member></struct>")),
    ("unterminated entity", one("<string>a &amp b</string>")),
    ("nul reference", one("<string>&#0;</string>")),
    ("surrogate reference", one("<string>&#xD800;</string>")),
    ("reference beyond unicode", one("<string>&#x110000;</string>")),
    ("raw nul", one("<string>a\x00b</string>")),
    ("raw control", one("<string>\x1b[0m</string>")),
    ("invalid utf-8", one("<string>x</string>").replace(b"x", b"\xc3\x28")),
    ("truncated utf-8", b"<methodResponse><params><param><value>\xe6\x97"),
    ("utf-16 bom", b"\xff\xfe<\x00m\x00"),
    ("utf-16 declared", b'<?xml version="1.0" encoding="UTF-16"?>' + one("1")),
    ("unknown encoding", b'<?xml version="1.0" encoding="x-no-such"?>' + one("1")),
    ("doctype", b"<!DOCTYPE methodResponse>" + one("1")),
    ("processing instruction", b"<?xml-stylesheet href='x'?>" + one("1")),
    ("declaration not first", b" <?xml version='1.0'?>" + one("1")),
    ("pi inside", one("<string><?php x ?></string>")),
    ("cdata text between elements", b"<methodResponse><![CDATA[x]]><params/></methodResponse>"),
    ("cdata before the root", b"<![CDATA[ ]]>" + one("1")),
    ("double dash in comment", b"<!-- a -- b -->" + one("1")),
    ("comment ending in a dash", b"<!-- c --->" + one("1")),
    ("unterminated comment", one("1") + b"<!-- open"),
    ("unterminated cdata", b"<methodResponse><params><param><value><![CDATA[abc"),
    ("malformed tag", one("<int 1>1</int>")),
    ("overlong tag", b"<methodResponse" + b' a="x"' * 1000 + b"><params/></methodResponse>"),
    ("lone close", b"</methodResponse>"),
    ("params and fault", b"<methodResponse><params/><fault><value/></fault></methodResponse>"),
    ("fault not struct", fault_doc("", "<value><int>1</int></value>")),
    ("fault without code", fault_doc("<member><name>faultString</name><value>x</value></member>")),
    (
        "fault code not int",
        fault_doc(
            "<member><name>faultCode</name><value>1</value></member>"
            "<member><name>faultString</name><value>x</value></member>"
        ),
    ),
    (
        "fault string not text",
        fault_doc(
            "<member><name>faultCode</name><value><int>1</int></value></member>"
            "<member><name>faultString</name><value><int>2</int></value></member>"
        ),
    ),
]


@pytest.mark.parametrize("doc", [d for _, d in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_documents(doc: bytes) -> None:
    result = three_ways(doc)
    assert result[0] == "error"
    with pytest.raises(ProtocolError) as info:
        loads(doc)
    assert info.value.offset is not None
    assert 0 <= info.value.offset <= len(doc)


@pytest.mark.parametrize(
    ("doc", "offset"),
    [
        (b"(domain)", 0),
        (b"  \n(domain)", 3),
        (one("<int>1</int>") + b"junk", len(one("<int>1</int>"))),
        # A value that does not convert is reported where its element closes.
        (b"<methodResponse><params><param><value><int>x</int>", 44),
        (one("<double>1.5.5</double>"), 51),
        ("<methodResponse>\u00e9\u00e9x".encode(), 16),
        (b"<methodResponse><params><param><value>\xff", 38),
        ("<?xml version='1.0'?><methodResponse><params><param><value>\u00e9\x00".encode(), 61),
    ],
)
def test_error_offsets_are_byte_offsets(doc: bytes, offset: int) -> None:
    with pytest.raises(ProtocolError) as info:
        feed_chunks([doc])
    assert info.value.offset == offset


@pytest.mark.parametrize("first", [b"(", b"HTTP/1.1", b"{", b"<html>", b"<rss>", b"\xff\xfe"])
def test_not_xmlrpc_is_refused_at_the_first_chunk(first: bytes) -> None:
    decoder = Decoder()
    with pytest.raises(ProtocolError):
        decoder.feed(first)


def test_root_is_reported_once_read() -> None:
    decoder = Decoder()
    decoder.feed(b"<?xml version='1.0'?>\n<methodRes")
    assert decoder.root is None
    decoder.feed(b"ponse>")
    assert decoder.root == "methodResponse"


@pytest.mark.parametrize(
    ("limits", "doc", "name"),
    [
        (Limits(max_bytes=100), one("<string>" + "x" * 200 + "</string>"), "max_bytes"),
        (Limits(max_string=10), one("<string>" + "x" * 11 + "</string>"), "max_string"),
        (Limits(max_string=10), one("x" * 11), "max_string"),
        (Limits(max_string=10), one("<base64>" + "QUFB" * 3 + "</base64>"), "max_string"),
        (
            Limits(max_string=10),
            one("<struct><member><name>" + "k" * 11 + "</name><value/></member></struct>"),
            "max_string",
        ),
        (
            Limits(max_string=10),
            one("<struct><member><name>" + "k" * 11 + "</name><value>v</value></member></struct>"),
            "max_string",
        ),
        (
            Limits(max_string=10),
            one(
                "<struct><member><name>a</name><value><string>v</string></value></member>"
                "<member><name>b</name><value><string>" + "v" * 11 + "</string></value>"
                "</member></struct>"
            ),
            "max_string",
        ),
        (
            Limits(max_elements=3),
            one("<struct>" + "<member><name>k</name><value>v</value></member>" * 3 + "</struct>"),
            "max_elements",
        ),
        (Limits(max_depth=3), response(_nested_doc(4)), "max_depth"),
        (
            Limits(max_depth=1),
            one("<struct><member><name>a</name><value><struct/></value></member></struct>"),
            "max_depth",
        ),
        (
            Limits(max_depth=1),
            one("<array><data>" + _pair("<string>a</string>", "<int>1</int>") + "</data></array>"),
            "max_depth",
        ),
        (
            Limits(max_elements=2),
            one("<array><data><value>a</value><value>b</value></data></array>"),
            "max_elements",
        ),
        (
            Limits(max_elements=5),
            one("<array><data>" + "<value><int>1</int></value>" * 5 + "</data></array>"),
            "max_elements",
        ),
    ],
)
def test_limits(limits: Limits, doc: bytes, name: str) -> None:
    for chunks in ([doc], [doc[i : i + 1] for i in range(len(doc))]):
        with pytest.raises(LimitExceeded) as info:
            feed_chunks(chunks, limits)
        assert info.value.limit == name
        assert name in str(info.value)


def test_limits_at_the_boundary_pass() -> None:
    doc = response(_nested_doc(3).replace(">x<", ">" + "x" * 10 + "<"))
    limits = Limits(max_bytes=len(doc), max_depth=3, max_string=10, max_elements=4)
    assert three_ways(doc, limits=limits)[0] == "ok"


@pytest.mark.parametrize("field", ["max_bytes", "max_depth", "max_string", "max_elements"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


def test_limits_defaults() -> None:
    limits = Limits()
    assert limits.max_bytes == 64 * 1024 * 1024
    assert limits.max_depth == 256


def test_decoder_is_single_use() -> None:
    decoder = Decoder()
    decoder.feed(one("<int>1</int>"))
    assert decoder.close() == ((1,), None)
    with pytest.raises(RuntimeError):
        decoder.feed(b"x")
    with pytest.raises(RuntimeError):
        decoder.close()


def test_failed_decoder_stays_failed() -> None:
    decoder = Decoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"(sxp)")
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(one("<int>1</int>"))
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.close()


def test_feed_accepts_bytearray_and_memoryview() -> None:
    doc = one("<int>7</int>")
    decoder = Decoder()
    decoder.feed(bytearray(doc[:10]))
    decoder.feed(memoryview(doc)[10:])
    assert decoder.close() == ((7,), None)


def test_feed_refuses_text_as_misuse() -> None:
    decoder = Decoder()
    with pytest.raises(TypeError):
        decoder.feed("<methodResponse>")  # type: ignore[arg-type]
    decoder.feed(one("<int>1</int>"))  # a wrong call does not spoil the decoder
    assert decoder.close() == ((1,), None)


def test_loads_refuses_a_fault_struct_of_the_wrong_shape_only_as_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        loads(fault_doc("", "<value>text</value>"))


def _member(name: str, value: str) -> str:
    return f"<member><name>{name}</name><value>{value}</value></member>"


# Runs of plain members (untyped as xapi writes them, <string> as xend does) broken by
# every other kind of value, spaced and not, duplicated keys included: as the standard
# library reads them, however the document is cut.
@pytest.mark.parametrize("space", ["", "\n ", "\t\r\n"])
def test_struct_member_runs_read_as_the_standard_library(space: str) -> None:
    members = [
        _member("a", "plain"),
        _member("b", ""),
        _member("c", "<string>typed</string>"),
        _member("d", f"{space}<string> spaced </string>{space}"),
        _member("e", f"{space}untyped with spaces{space}"),
        _member("f", "<int>7</int>"),
        _member("g", "<array><data><value>x</value></data></array>"),
        _member("h", "a &amp; b"),
        _member("i", f"<struct>{_member('j', '')}{_member('k', '<boolean>1</boolean>')}</struct>"),
        _member("a", "again"),
        _member("n&amp;o", "p"),
        _member("q", "r"),
        _member("l", "<string>x</string>"),
        _member("m", "y"),
    ]
    doc = one("<struct>" + space + space.join(members) + space + "</struct>")
    assert three_ways(doc) == ("ok", xmlrpc.client.loads(doc.decode()))


def test_a_member_run_outside_a_struct_is_refused() -> None:
    doc = response(_member("a", "b"))
    with pytest.raises(ProtocolError, match="unexpected <member>"):
        loads(doc)


def test_cdata_end_in_a_member_run_is_refused() -> None:
    doc = one("<struct>" + _member("a", "x]]>y") + "</struct>")
    with pytest.raises(ProtocolError, match=r"\]\]>"):
        loads(doc)


def _record(*members: str) -> str:
    return "<struct>" + "".join(members) + "</struct>"


def _array(*values: str) -> str:
    return "<array><data>" + "".join(f"<value>{v}</value>" for v in values) + "</data></array>"


# Arrays and structs of plain text only (xapi's sets and maps) are read in one match; as
# values of members, params, other arrays and structs, empty, spaced, or with one value
# that is not plain text, they read as the standard library reads them.
@pytest.mark.parametrize(
    "value",
    [
        _array(),
        _array("a", "<string>b</string>", "", " c "),
        _array("a", "<int>1</int>", "b"),
        _array("a", "x &lt; y"),
        _array(_array("a"), _array(), "<struct></struct>"),
        "<struct>" + _member("k", "v") + _member("l", "<string>w</string>") + "</struct>",
        "<struct>"
        + _member("k", _array("v", "w"))
        + _member("m", "<struct></struct>")
        + "</struct>",
        "<struct>\n <member>\n <name>k</name>\n <value>\n <string>v</string>\n </value>\n"
        " </member>\n</struct>",
        "<array>\n<data>\n<value><string>a</string></value>\n<value>b</value>\n</data>\n</array>",
    ],
)
def test_plain_containers_read_as_the_standard_library(value: str) -> None:
    doc = response(f"<value>{value}</value>", f"<value>{_array(value, value)}</value>")
    assert three_ways(doc) == ("ok", xmlrpc.client.loads(doc.decode()))


@pytest.mark.parametrize(
    ("limits", "value", "name"),
    [
        (Limits(max_depth=1), _array(_array("a")), "max_depth"),
        (Limits(max_depth=1), _array("<struct></struct>"), "max_depth"),
        (Limits(max_string=3), _array("abc", "abcd"), "max_string"),
        (Limits(max_string=3), "<struct>" + _member("abcd", "a") + "</struct>", "max_string"),
        (Limits(max_elements=3), _array("a", "b", "c"), "max_elements"),
        # A record's members (xapi's: plain texts, sets, maps, scalars) are read one match
        # each; what that declines goes the general way and fails as it would there.
        (Limits(max_depth=1), _record(_member("a", _array("x"))), "max_depth"),
        (
            Limits(max_depth=1),
            _record(_member("a", "x"), _member("b", "<struct></struct>")),
            "max_depth",
        ),
        (
            Limits(max_string=3),
            _record(_member("a", "abcd"), _member("b", "<boolean>1</boolean>")),
            "max_string",
        ),
        (Limits(max_string=3), _record(_member("a", _array("abcd"))), "max_string"),
        (
            Limits(max_elements=3),
            _record(_member("a", _array("x", "y")), _member("b", "z")),
            "max_elements",
        ),
        (Limits(max_string=4), _record(_member("a&amp;b", "x")), "max_string"),  # as written
    ],
)
def test_plain_containers_keep_the_limits(limits: Limits, value: str, name: str) -> None:
    doc = one(value)
    for chunks in ([doc], [doc[i : i + 1] for i in range(len(doc))]):
        with pytest.raises(LimitExceeded) as info:
            feed_chunks(chunks, limits)
        assert info.value.limit == name


def test_a_plain_array_outside_a_value_is_refused() -> None:
    with pytest.raises(ProtocolError):
        loads(response(_array("a")))


def test_records_at_the_limits_pass() -> None:
    value = _record(_member("a", _array("x", "y")), _member("b", "<struct></struct>"))
    doc = one(value)
    expected = ({"a": ["x", "y"], "b": {}},)
    limits = Limits(max_depth=2, max_elements=5)
    for chunks in ([doc], [doc[i : i + 1] for i in range(len(doc))]):
        assert feed_chunks(chunks, limits) == (expected, None)


@pytest.mark.parametrize(
    ("value", "at"),
    [
        ("<double>1.5.5</double>", "</double>"),
        ("<dateTime.iso8601>2024</dateTime.iso8601>", "</dateTime"),
    ],
)
def test_a_bad_scalar_in_a_record_is_reported_where_it_stands(value: str, at: str) -> None:
    # At its end tag, whole (the member declined, read by the fast path) or byte by byte.
    doc = one(_record(_member("a", "x"), _member("b", value), _member("c", _array("y"))))
    for chunks in ([doc], [doc[i : i + 1] for i in range(len(doc))]):
        with pytest.raises(ProtocolError) as info:
            feed_chunks(chunks)
        assert info.value.offset == doc.index(at.encode())


# Every kind of record member, duplicated keys, and members of other kinds between them
# (a text longer than plain text may be, a nested struct): alike in a buffer holding no
# "&" and no CR (the expressions compiled with [^<]) and in one holding either, as the
# standard library reads them, however the document is cut.
@pytest.mark.parametrize("elsewhere", ["plain", "a &amp; b", "a\r\nb", "<string>a\rb</string>"])
def test_record_members_read_alike_whatever_else_the_buffer_holds(elsewhere: str) -> None:
    record = _record(
        _member("uuid", "0000"),
        _member("empty", ""),
        _member("typed", "<string>t</string>"),
        _member("set", _array("a", "<string>b</string>", "")),
        _member("no_set", _array()),
        _member("map", "<struct>" + _member("k", "v") + _member("l", "") + "</struct>"),
        _member("no_map", "<struct></struct>"),
        _member("yes", "<boolean>1</boolean>"),
        _member("no", "<boolean>0</boolean>"),
        _member("x", "<double>-1.5e3</double>"),
        _member("when", "<dateTime.iso8601>20240420T12:00:00</dateTime.iso8601>"),
        _member("n", "<int>-7</int>"),
        _member("m", "<i4>+8</i4>"),
        _member("none", "<nil/>"),
        _member("uuid", "again"),
        _member("long", "x" * 300),
        _member("after_long", "y"),
        _member("nested", _record(_member("a", "b"), _member("c", _array("d")))),
        _member("after_nested", _array("z")),
    )
    doc = response(f"<value>{record}</value>", f"<value>{elsewhere}</value>")
    expected: Any = xmlrpc.client.loads(doc.decode(), use_builtin_types=True)
    assert three_ways(doc) == ("ok", expected)
    assert {"after_long", "after_nested"} <= set(expected[0][0])


def test_cdata_end_in_a_later_record_member_is_refused() -> None:
    # The record members before it are read at once, the one holding it is not.
    doc = one(_record(_member("a", "x"), _member("b", _array("y")), _member("c", "z]]>")))
    assert three_ways(doc) == ("error", ProtocolError)
    with pytest.raises(ProtocolError, match=r"\]\]>"):
        loads(doc)


def test_clean_and_strict_expressions_have_the_same_groups() -> None:
    # The decoder picks either set per buffer and reads their matches by group number.
    clean, strict = _expressions(True), _expressions(False)
    assert clean.fast.groupindex == strict.fast.groupindex
    assert clean.fast.groups == strict.fast.groups
    assert clean.member.groups == strict.member.groups == len(_MEMBER_SCALAR) + 5


def test_a_long_key_before_a_member_run_keeps_its_member() -> None:
    # A key longer than plain text may be, then plain members: none is lost.
    doc = one(_record(_member("k" * 300, "a"), _member("b", "c"), _member("d", "<int>1</int>")))
    assert three_ways(doc) == ("ok", xmlrpc.client.loads(doc.decode()))


def test_texts_delimited_by_find_run_on_through_an_array() -> None:
    # Strings, untyped texts and base64 longer than the inline forms, one after another
    # in an array and broken by other values, read as the standard library reads them.
    values = [
        "<string>" + "s" * 40 + "</string>",
        "u" * 40,
        "<base64>\n" + "QUJD" * 30 + "\n</base64>",
        "<string>a &amp; b, long enough to be a run</string>",
        "<int>1</int>",
        "\n<string>" + "t" * 40 + "</string>\n",
        _array("<string>" + "n" * 40 + "</string>", "<base64>QUJD</base64>"),
        "<string></string>",
        "<string>" + "w" * 40 + "</string>",
    ]
    doc = one(_array(*values))
    assert three_ways(doc) == ("ok", xmlrpc.client.loads(doc.decode(), use_builtin_types=True))


@pytest.mark.parametrize("size", [5_000, 40_000])
def test_texts_cut_by_chunks_wait_for_the_next(size: int) -> None:
    # A text cut by a chunk's end waits for the next chunk, even when longer than a tag
    # may be (4,096 characters): it is not an unterminated tag.
    doc = one(_array(*[f"<string>{i}{'x' * size}</string>" for i in range(8)]))
    expected = ([f"{i}{'x' * size}" for i in range(8)],)
    for chunk in (16 * 1024, 64 * 1024):
        chunks = [doc[i : i + chunk] for i in range(0, len(doc), chunk)]
        assert feed_chunks(chunks) == (expected, None)


def test_a_large_chunk_is_read_in_windows() -> None:
    # One feed of a large document: characters cut by a window's edge, and an error far
    # in, at its byte offset.
    texts = ["\u00e9" * 1000 + str(i) for i in range(200)]
    doc = xmlrpc.client.dumps((texts,), methodresponse=True).encode()
    assert loads(doc) == ((texts,), None)
    bad = doc.replace(b"199</string>", b"1\x0199</string>")
    with pytest.raises(ProtocolError) as info:
        loads(bad)
    assert info.value.offset == bad.index(b"\x01")


def test_an_invalid_element_in_a_small_chunk_is_refused_at_once() -> None:
    # A small buffer never waits for the next chunk (see Decoder._parse): feed raises,
    # though the rest of the answer may never come.
    decoder = Decoder()
    with pytest.raises(ProtocolError, match="unknown value type"):
        decoder.feed(b"<?xml version='1.0'?>\n<methodResponse><params><param><value><bogus>")
