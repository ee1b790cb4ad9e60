"""Hypothesis: differential against the standard library both ways, splits, and fuzzing.

The "fuzz" hypothesis profile (``nox -s fuzz``) runs these with many more examples.
"""

from __future__ import annotations

import datetime
import random
import re
import xmlrpc.client
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aioxend.errors import Fault, ProtocolError
from aioxend.xmlrpc import Decoder, dumps, loads
from tests.xmlrpc.xmlrpc_feeding import outcome, random_cuts

# Characters XML 1.0 can carry, optionally without CR (a raw CR from the standard library
# becomes LF in any conforming reader, the standard library's own included).
_FORBIDDEN = [chr(c) for c in range(32) if c not in (9, 10, 13)] + ["\ufffe", "\uffff"]


def xml_text(*, carriage_return: bool = True) -> st.SearchStrategy[str]:
    banned = _FORBIDDEN + ([] if carriage_return else ["\r"])
    return st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=banned))


def values(*, wide_ints: bool, carriage_return: bool) -> st.SearchStrategy[Any]:
    """Value trees both codecs carry; ``wide_ints`` adds 64-bit ints (ours only sends them)."""
    bits = 63 if wide_ints else 31
    text = xml_text(carriage_return=carriage_return)
    leaves = st.one_of(
        text,
        st.integers(-(2**bits), 2**bits - 1),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.none(),
        st.binary(max_size=64),
        st.datetimes(min_value=datetime.datetime(1000, 1, 1)).map(
            lambda d: d.replace(microsecond=0)
        ),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=6), st.dictionaries(text, inner, max_size=6)
        ),
        max_leaves=30,
    )


method_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:/]{0,30}", fullmatch=True)
fault_codes = st.integers(-(2**31), 2**31 - 1)


def stdlib_loads(data: bytes) -> tuple[tuple[Any, ...], str | None]:
    return xmlrpc.client.loads(data, use_builtin_types=True)


def response_body(value: Any, *, ours: bool) -> bytes:
    """A response carrying ``value``, written by our encoder or by the standard library's."""
    if ours:
        return dumps((value,), methodresponse=True)
    return xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()


@given(st.lists(values(wide_ints=True, carriage_return=True), max_size=4), method_names)
def test_stdlib_reads_our_requests(params: list[Any], method: str) -> None:
    assert stdlib_loads(dumps(tuple(params), method)) == (tuple(params), method)


@given(values(wide_ints=True, carriage_return=True))
def test_stdlib_reads_our_responses(value: Any) -> None:
    assert stdlib_loads(dumps((value,), methodresponse=True)) == ((value,), None)


@given(st.lists(values(wide_ints=False, carriage_return=False), max_size=4), method_names)
def test_we_read_stdlib_requests(params: list[Any], method: str) -> None:
    body = xmlrpc.client.dumps(tuple(params), method, allow_none=True).encode()
    assert loads(body, expect="methodCall") == (tuple(params), method)


@given(values(wide_ints=False, carriage_return=False))
def test_we_read_stdlib_responses(value: Any) -> None:
    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode()
    assert loads(body) == ((value,), None)


@given(values(wide_ints=True, carriage_return=True))
def test_our_round_trip(value: Any) -> None:
    assert loads(dumps((value,), methodresponse=True)) == ((value,), None)


@given(fault_codes, xml_text(carriage_return=False))
def test_we_read_stdlib_faults(code: int, string: str) -> None:
    body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, string), methodresponse=True).encode()
    with pytest.raises(Fault) as info:
        loads(body)
    assert (info.value.code, info.value.string) == (code, string)


@given(fault_codes, xml_text(carriage_return=True))
def test_stdlib_reads_our_faults(code: int, string: str) -> None:
    body = dumps(Fault(code, string))
    with pytest.raises(xmlrpc.client.Fault) as info:
        stdlib_loads(body)
    assert (info.value.faultCode, info.value.faultString) == (code, string)


@given(
    values(wide_ints=False, carriage_return=False),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_random_splits_give_identical_results(value: Any, ours: bool, rng: random.Random) -> None:
    body = response_body(value, ours=ours)
    whole = outcome([body])
    assert whole == ("ok", ((value,), None))
    for pieces in (2, 5, 40):
        assert outcome(random_cuts(body, rng, pieces)) == whole


# --- fuzzing: a value, a Fault or a ProtocolError, never anything else -------------------

SEEDS = [
    dumps((["domain", ["domid", 1], {"k": [1.5, None, True, b"\x00"]}],), methodresponse=True),
    xmlrpc.client.dumps(
        (["a&b", {"x": datetime.datetime(2020, 1, 2, 3, 4, 5)}],), methodresponse=True
    ).encode(),
    xmlrpc.client.dumps(
        (["domain", ["domid", 1], ["name", "g"], ["cpu_time", 1.5], ["cpus", [[], []]]],),
        methodresponse=True,
    ).encode(),
    dumps(Fault(3, "guest")),
    dumps(("x", 2**40), "xend.domain.setName"),
    b"<?xml version='1.0' encoding='ISO-8859-1'?><methodResponse><params><param><value>"
    b"<![CDATA[\xe9]]><!-- c --></value></param></params></methodResponse>",
]

# A generous deadline: not a speed claim, a guard that no input makes the decoder hang.
fuzz_settings = settings(
    suppress_health_check=[HealthCheck.too_slow], deadline=datetime.timedelta(seconds=10)
)


def safe_outcome(chunks: list[bytes]) -> None:
    """Decode; only results, Faults and ProtocolErrors may come out."""
    try:
        outcome(chunks)
    except (Fault, ProtocolError):  # pragma: no cover - outcome() catches these
        raise AssertionError("outcome() let a codec exception through") from None


@fuzz_settings
@given(st.binary(max_size=512), st.randoms(use_true_random=False))
@example(b"<methodResponse>", random.Random(0))
def test_arbitrary_bytes(data: bytes, rng: random.Random) -> None:
    safe_outcome([data])
    safe_outcome(random_cuts(data, rng))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "markup"]))
        if action == "flip" and where < len(data):
            data[where] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[where : where + draw(st.integers(1, 16))]
        elif action == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=8))
        elif action == "duplicate":
            data[where:where] = data[where : where + draw(st.integers(1, 64))]
        else:
            data[where:where] = draw(
                st.sampled_from(
                    [
                        b"<value>",
                        b"</value>",
                        b"<array><data>",
                        b"</data></array>",
                        b"&amp;",
                        b"&#",
                        b"<![CDATA[",
                        b"]]>",
                        b"<!--",
                        b"-->",
                        b"<struct>",
                        b"<member>",
                        b"<name>",
                        b"</name>",
                        b"<int>",
                        b"</int>",
                        b"\r",
                        b"\xc3",
                        b"<?",
                    ]
                )
            )
    return bytes(data)


@fuzz_settings
@given(mutated(), st.randoms(use_true_random=False))
def test_mutated_documents(data: bytes, rng: random.Random) -> None:
    whole = outcome([data])
    assert outcome(random_cuts(data, rng)) == whole
    assert outcome([data[i : i + 1] for i in range(len(data))]) == whole


# --- the general path: the same document, written differently ------------------------

_TOKEN = re.compile(r"<[^>]+>|[^<]+")
_NO_SPACE_AFTER = ("<string>", "<name>", "<methodName>")
_REFERENCE = re.compile(r"&(?:#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot|apos);")


@st.composite
def rewritten(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` with XML-equivalent rewrites: spacing, comments, CDATA, references, tags."""
    tokens = _TOKEN.findall(body.decode())
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token.startswith("<"):
            if token.endswith("/>"):
                token = token[:-2] + draw(st.sampled_from(["/>", " />", ' x="1"/>']))
            elif not token.startswith(("<?", "</")) and draw(st.booleans()):
                token = token[:-1] + ' x="1">'
            out.append(token)
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            if following.startswith("<") and tokens[i] not in _NO_SPACE_AFTER:
                out.append(draw(st.sampled_from(["", " ", "\n", "\r\n\t", "<!-- c -->"])))
            continue
        previous = tokens[i - 1] if i else ""
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if following != "</" + previous[1:]:  # spacing between elements: kept
            out.append(token)
            continue
        # An element's text: split it at reference boundaries and rewrite each piece.
        for piece in re.split(f"({_REFERENCE.pattern})", token):
            if not piece:
                continue
            if piece.startswith("&"):
                out.append(piece)
                continue
            choice = draw(st.sampled_from(["keep", "cdata", "refs", "comment"]))
            if choice == "cdata" and "]]>" not in piece:
                out.append(f"<![CDATA[{piece}]]>")
            elif choice == "refs":
                out.append("".join(f"&#{ord(c)};" if c.isalnum() else c for c in piece))
            elif choice == "comment":
                half = len(piece) // 2
                out.append(f"{piece[:half]}<!---->{piece[half:]}")
            else:
                out.append(piece)
    return "".join(out).encode()


@given(values(wide_ints=False, carriage_return=False), st.booleans(), st.data())
def test_rewritten_documents_read_as_the_stdlib_reads_them(
    value: Any, ours: bool, data: st.DataObject
) -> None:
    body = response_body(value, ours=ours)
    doc = data.draw(rewritten(body))
    expected = stdlib_loads(doc)
    assert expected == ((value,), None)
    assert outcome([doc]) == ("ok", expected)
    rng = random.Random(len(doc))
    assert outcome(random_cuts(doc, rng, 6)) == ("ok", expected)


@settings(max_examples=40, suppress_health_check=[HealthCheck.data_too_large])
@given(
    st.lists(values(wide_ints=False, carriage_return=False), max_size=6),
    st.data(),
    st.integers(1024, 4096),
)
def test_large_rewritten_documents_in_kilobyte_chunks(
    items: list[Any], data: st.DataObject, size: int
) -> None:
    """Documents of many KiB in chunks of 1-3 KiB: the decoder's wait-for-more path.

    One rewritten param is repeated to make the document large without drawing more.
    """
    body = xmlrpc.client.dumps((items,), methodresponse=True, allow_none=True).encode()
    doc = data.draw(rewritten(body))
    start = re.search(rb"<param[ >]", doc)
    assert start is not None
    end = doc.rindex(b"</param>") + len(b"</param>")
    copies = max(2, 40_000 // (end - start.start()))
    large = doc[: start.start()] + doc[start.start() : end] * copies + doc[end:]
    whole = outcome([large])
    assert whole == ("ok", ((items,) * copies, None))
    assert outcome([large[i : i + size] for i in range(0, len(large), size)]) == whole


# --- the leaf hook: values placed in arrays, as they decode --------------------------------


class Leafed:
    """What the test's ``leaf`` hook makes of a value: the value, marked."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Leafed)
            and type(other.value) is type(self.value)
            and (other.value == self.value)
        )

    def __repr__(self) -> str:
        return f"Leafed({self.value!r})"


def leafed(value: Any, in_array: bool = False) -> Any:
    """What a decoder with ``leaf=Leafed`` must give for ``value`` (stdlib-decoded)."""
    if isinstance(value, list):
        return [leafed(item, True) for item in value]
    if isinstance(value, dict):
        struct = {key: leafed(item) for key, item in value.items()}
        return Leafed(struct) if in_array else struct
    return Leafed(value) if in_array and not isinstance(value, str) else value


@given(
    values(wide_ints=False, carriage_return=False),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_leaf_hook_sees_every_value_placed_in_an_array(
    value: Any, ours: bool, rng: random.Random
) -> None:
    body = response_body(value, ours=ours)
    expected = leafed(stdlib_loads(body)[0][0])
    for pieces in (1, 3, 40):  # whole: the fast expression; cut: the element-by-element path
        decoder = Decoder(leaf=Leafed)
        for chunk in random_cuts(body, rng, pieces):
            decoder.feed(chunk)
        assert decoder.close()[0][0] == expected


def test_leaf_hook_leaves_faults_alone() -> None:
    body = xmlrpc.client.dumps(
        xmlrpc.client.Fault(2, "no"), methodresponse=True, allow_none=True
    ).encode()
    decoder = Decoder(leaf=Leafed)
    decoder.feed(body)
    with pytest.raises(Fault) as info:
        decoder.close()
    assert (info.value.code, info.value.string) == (2, "no")


@pytest.mark.parametrize("ours", [True, False])
def test_leaf_hook_sees_both_halves_of_a_pair(ours: bool) -> None:
    # ["key", scalar] entries, xend's commonest, match the fast expression in one go.
    value = ["domain", ["domid", 1], ["name", "g"], ["cpu_time", 1.5], ["n", None], [[], 7]]
    body = response_body(value, ours=ours)
    decoder = Decoder(leaf=Leafed)
    decoder.feed(body)
    assert decoder.close()[0][0] == leafed(value)


# --- xapi's records: structs of plain texts, sets, maps and scalars -----------------------

_plain_text = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters=[*_FORBIDDEN, "<", "&", "\r"]),
    max_size=12,
)
_record_values = st.one_of(
    _plain_text,
    xml_text(carriage_return=False),
    st.lists(_plain_text, max_size=4),
    st.dictionaries(_plain_text, _plain_text, max_size=3),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**31), 2**31 - 1),
    st.none(),
    st.datetimes(min_value=datetime.datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0)),
    st.lists(
        st.integers(-(2**31), 2**31 - 1), max_size=2
    ),  # not a record's: the struct is read member by member
)
records = st.dictionaries(_plain_text | xml_text(carriage_return=False), _record_values)


def _xapi_style(body: bytes, untyped: bool, compact: bool) -> bytes:
    """The standard library's body as xapi writes it: untyped strings, no spacing."""
    if untyped:
        body = body.replace(b"<string>", b"").replace(b"</string>", b"")
    return body.replace(b">\n<", b"><") if compact else body


@given(
    st.lists(records, min_size=1, max_size=3),
    st.booleans(),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_records_read_as_the_stdlib_reads_them(
    value: list[dict[str, Any]], untyped: bool, compact: bool, rng: random.Random
) -> None:
    body = _xapi_style(response_body(value, ours=False), untyped, compact)
    expected = stdlib_loads(body)
    assert outcome([body]) == ("ok", expected)
    for pieces in (2, 5, 40):  # a record cut anywhere: read as runs of its members
        assert outcome(random_cuts(body, rng, pieces)) == ("ok", expected)
    decoder = Decoder(leaf=Leafed)  # records in an array: whole structs, leafed
    decoder.feed(body)
    assert decoder.close()[0][0] == leafed(expected[0][0])
    by_key = {f"OpaqueRef:{i}": record for i, record in enumerate(value)}
    body = _xapi_style(response_body(by_key, ours=False), untyped, compact)
    assert outcome(random_cuts(body, rng, 3)) == ("ok", stdlib_loads(body))


def test_leaf_hook_sees_base64_values_run_on_in_an_array() -> None:
    value = [b"x" * 40, "s" * 40, b"y" * 40, b"", "t" * 40]
    body = response_body(value, ours=False)
    decoder = Decoder(leaf=Leafed)
    decoder.feed(body)
    assert decoder.close()[0][0] == leafed(value)
