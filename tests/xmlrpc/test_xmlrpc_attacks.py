"""Hostile documents: refused before they cost anything, or decoded in linear time.

Memory is bounded by construction (the decoder keeps only an unfinished token between
feeds); these tests check the behaviour, and that big inputs are consumed chunk by chunk.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.xmlrpc import Decoder, Limits, loads
from tests.xmlrpc.xmlrpc_feeding import feed_chunks

KIB = 1024
MIB = 1024 * KIB

HEAD = b"<?xml version='1.0'?><methodResponse><params><param><value>"
TAIL = b"</value></param></params></methodResponse>"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<methodResponse><params><param><value><string>&lol9;</string></value></param></params>
</methodResponse>"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><methodResponse><params><param><value><string>'
    + b"&a;" * 50_000
    + b"</string></value></param></params></methodResponse>"
)

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<methodResponse><params><param><value>&xxe;</value></param></params></methodResponse>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE methodResponse SYSTEM "http://127.0.0.1:9/evil.dtd">
<methodResponse><params><param><value>x</value></param></params></methodResponse>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>
<methodResponse/>"""


@pytest.mark.parametrize(
    "doc",
    [BILLION_LAUGHS, QUADRATIC, EXTERNAL_ENTITY, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=[
        "billion-laughs",
        "quadratic-blowup",
        "external-entity",
        "external-dtd",
        "parameter-entity",
    ],
)
def test_dtd_attacks_are_refused_at_the_doctype(doc: bytes) -> None:
    with pytest.raises(ProtocolError, match="DOCTYPE") as info:
        loads(doc)
    assert info.value.offset == doc.index(b"<!DOCTYPE")


def test_doctype_refused_from_its_first_chunk() -> None:
    decoder = Decoder()
    decoder.feed(b"<?xml version='1.0'?>\n")
    with pytest.raises(ProtocolError, match="DOCTYPE"):
        decoder.feed(b"<!DOCTYPE lolz [")


def nested(depth: int) -> bytes:
    return (
        b"<methodResponse><params><param>"
        + b"<value><array><data>" * depth
        + b"</data></array></value>" * depth
        + b"</param></params></methodResponse>"
    )


def depth_of(value: Any) -> int:
    """Nesting depth of single-item lists, walked without recursion."""
    depth = 0
    while isinstance(value, list):
        depth += 1
        value = value[0] if value else None
    return depth


def test_100000_deep_nesting_is_refused_by_the_depth_limit() -> None:
    with pytest.raises(LimitExceeded) as info:
        loads(nested(100_000))
    assert info.value.limit == "max_depth"


def test_100000_deep_nesting_decodes_without_recursion_when_allowed() -> None:
    limits = Limits(max_depth=100_000, max_bytes=8 * MIB)
    doc = nested(100_000)
    params, _ = feed_chunks([doc[i : i + 64 * KIB] for i in range(0, len(doc), 64 * KIB)], limits)
    assert depth_of(params[0]) == 100_000


def chunks_of(head: bytes, filler: bytes, size: int, tail: bytes) -> Iterator[bytes]:
    """``head``, then ``size`` bytes of ``filler`` in 1 KiB chunks, then ``tail``."""
    yield head
    # The filler repeats across chunk ends: one period of both is math.lcm of the sizes.
    block = filler * (math.lcm(len(filler), KIB) // len(filler))
    pieces = [block[i : i + KIB] for i in range(0, len(block), KIB)]
    count = size // KIB // len(pieces) * len(pieces)  # whole periods: no filler cut short
    for i in range(count):
        yield pieces[i % len(pieces)]
    yield tail


def big_token(size: int, filler: bytes, opening: bytes, closing: bytes) -> tuple[Any, int]:
    """Decode one ``size``-byte token fed in 1 KiB chunks: its value, and filler repeats."""
    limits = Limits(max_bytes=size + MIB, max_string=size + MIB)
    chunks = list(chunks_of(HEAD + opening, filler, size, closing + TAIL))
    filler_bytes = sum(map(len, chunks[1:-1]))
    (value,), _ = feed_chunks(iter(chunks), limits)
    return value, filler_bytes // len(filler)


@pytest.mark.parametrize(
    ("filler", "opening", "closing", "decoded"),
    [
        (b"x", b"<string>", b"</string>", "x"),
        (b"a&amp;", b"<string>", b"</string>", "a&"),
        (b"\xc3\xa9z", b"", b"", "\u00e9z"),  # untyped; a 2-byte character split at chunk ends
        (b"y]", b"<string><![CDATA[", b"]]></string>", "y]"),
    ],
    ids=["string", "entities", "utf-8-untyped", "cdata"],
)
def test_10mb_single_token_in_1kib_chunks(
    filler: bytes, opening: bytes, closing: bytes, decoded: str
) -> None:
    value, repeats = big_token(10 * MIB, filler, opening, closing)
    assert repeats * len(filler) > 9 * MIB
    assert value == decoded * repeats


def test_10mb_base64_in_1kib_chunks() -> None:
    value, repeats = big_token(10 * MIB, b"QUJD", b"<base64>", b"</base64>")
    assert value == b"ABC" * repeats


def test_10mb_comment_and_whitespace_in_1kib_chunks() -> None:
    limits = Limits(max_bytes=25 * MIB)

    def chunks() -> Iterator[bytes]:
        yield from chunks_of(HEAD + b"<int>1</int></value></param><!--", b"-=", 10 * MIB, b"-->")
        yield from chunks_of(b"", b" \n", 10 * MIB, b"</params></methodResponse>")

    assert feed_chunks(chunks(), limits) == ((1,), None)


def test_100mb_single_token_in_1kib_chunks() -> None:
    value, repeats = big_token(100 * MIB, b"x", b"<string>", b"</string>")
    assert repeats == 100 * MIB
    assert len(value) == repeats


def feed_repeatedly(decoder: Decoder, chunk: bytes, times: int) -> tuple[ProtocolError, int]:
    """Feed ``chunk`` until the decoder refuses: the error and how many feeds it took."""
    for fed in range(times):
        try:
            decoder.feed(chunk)
        except ProtocolError as exc:
            return exc, fed
    raise AssertionError(f"no error after {times} feeds")


def test_a_huge_tag_is_refused_early() -> None:
    decoder = Decoder()
    decoder.feed(b"<methodResponse><params><param><value")
    error, fed = feed_repeatedly(decoder, b" a='1'" * 100, 10 * KIB)
    assert "tag" in str(error)
    assert fed < 10  # refused within a few KiB, not after 10 MB


def test_a_huge_token_crosses_max_string_early() -> None:
    decoder = Decoder(Limits(max_string=64 * KIB))
    decoder.feed(HEAD + b"<string>")
    error, fed = feed_repeatedly(decoder, b"x" * KIB, 10 * KIB)
    assert isinstance(error, LimitExceeded)
    assert error.limit == "max_string"
    assert fed <= 64


def test_total_size_limit_stops_an_endless_body() -> None:
    decoder = Decoder(Limits(max_bytes=MIB))
    decoder.feed(HEAD + b"<array><data>")
    error, _ = feed_repeatedly(decoder, b"<value><int>1</int></value>" * 40, 10 * KIB)
    assert isinstance(error, LimitExceeded)
    assert error.limit == "max_bytes"


def test_element_limit_stops_a_flood_of_tiny_values() -> None:
    decoder = Decoder(Limits(max_elements=10_000))
    decoder.feed(HEAD + b"<array><data>")
    error, _ = feed_repeatedly(decoder, b"<value/>" * 100, 10 * KIB)
    assert isinstance(error, LimitExceeded)
    assert error.limit == "max_elements"


def test_memory_stays_bounded_while_skipping_a_huge_comment() -> None:
    decoder = Decoder(Limits(max_bytes=20 * MIB))
    chunks = chunks_of(HEAD + b"<int>1</int></value></param><!--", b"-=", 10 * MIB, b"-->")
    tracemalloc.start()
    try:
        for chunk in chunks:
            decoder.feed(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    decoder.feed(b"</params></methodResponse>")
    assert decoder.close() == ((1,), None)
    assert peak < 256 * KIB  # the document is 10 MiB; only the unfinished token is kept


def test_a_deep_fault_code_is_refused_without_recursion() -> None:
    inner = "<value><array><data>" * 5000 + "</data></array></value>" * 5000
    doc = (
        "<methodResponse><fault><value><struct><member><name>faultCode</name>"
        f"{inner}</member></struct></value></fault></methodResponse>"
    ).encode()
    with pytest.raises(ProtocolError, match="faultCode is list"):
        feed_chunks([doc], Limits(max_depth=10_000))
