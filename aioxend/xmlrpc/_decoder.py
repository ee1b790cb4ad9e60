"""A streaming XML-RPC decoder: bytes in, chunk by chunk, Python values out.

Strategy. The decoder is a hand-written scanner over a ``str`` buffer with a flat,
explicit stack; it never recurses, so depth costs memory, not Python stack.

Bytes. The first bytes decide the character encoding: a UTF-8 byte order mark, or an
XML declaration naming it (UTF-8, US-ASCII, ISO-8859-*, windows-125*), else UTF-8. Bytes
then go through an incremental decoder, so a chunk may end inside a multi-byte
character. Each chunk is checked once for characters XML forbids: the C0 controls by a
``bytes.translate`` deletion (all accepted encodings are ASCII-compatible), U+FFFE and
U+FFFF by a search only when the decoded text is not ASCII.

Text. Two regular expressions share the work:

* a "fast" one whose alternatives each match a whole common construct at once, with the
  whitespace around it: ``<value><string>text</string></value>`` (plain text first;
  text with references or CR by a second alternative), an untyped value, an int, a
  double, a boolean, a nil, the opening ``<value><array><data>`` and closing
  ``</data></array></value>`` of an array, a struct's opening and closing, and
  ``<member><name>key</name>``. One match and a few list operations per value, where
  the stdlib's expat route pays three Python callbacks per element. The alternatives
  after ``<value>`` share that prefix, so the engine matches it once.
* a general tokenizer (text, start tag, end tag, comment, CDATA; anything else such as a
  DOCTYPE or processing instruction is refused) driving the same state machine element
  by element. It takes over wherever the fast expression does not match: entities,
  CDATA, comments, attributes, odd spacing, and the incomplete token at a chunk's end.

The two agree by construction: a fast match performs exactly the stack operations the
general path would for the same elements, after the same validity check.

The stack holds one entry per open element, as two parallel lists: ``kinds`` (an int
naming the element and how far its content has got) and ``objs`` (its list, dict, text
parts, key or finished value). The fast path opens an array or struct with a single
"collapsed" entry standing for ``<value><array><data>`` (or ``<value><struct>``); the
general path expands it if it meets the closing tags one by one.

Element text is kept raw as a list of parts, so a huge string fed in small chunks costs
linear time; entities and end-of-line handling are applied once, when the element
closes (CDATA sections are kept apart as final text). Between feeds the
decoder keeps only the unfinished token: at most one tag (refused beyond ``_MAX_TAG``
characters), the last characters of an open CDATA section or comment that may begin
its terminator, or nothing when it is inside text. A value that does not convert (a bad
int, date or base64) is reported at the offset of its closing tag.

Errors. Everything malformed raises ``ProtocolError`` with the byte offset; a crossed
limit raises ``LimitExceeded``. ``feed`` and ``close`` convert any other exception from
the internals to ``ProtocolError`` at one boundary, so nothing else escapes. A decoder
that has raised stays failed.

Early refusal. The first byte that cannot start an XML-RPC document (anything but
whitespace, a byte order mark, or ``<``), and a root element other than the one
expected (``methodResponse`` by default, ``methodCall`` for a server reading requests),
raise at once from ``feed``: a client can tell an endpoint that does not speak XML-RPC
from the first chunk of its answer, and a request echoed back is never taken for an
answer.
"""

from __future__ import annotations

import binascii
import codecs
import datetime
import re
from collections.abc import Callable
from typing import Any, Final, Literal

from aioxend.errors import Fault, LimitExceeded, ProtocolError, fault_for
from aioxend.xmlrpc._limits import Limits

__all__ = ["Decoder", "Root", "loads"]

_MAX_TAG: Final = 4096
_DEFER: Final = 512
_MAX_DECL: Final = 1024

# Element kinds on the stack. A name ending in an underscore state says how far the
# element's content has got.
(
    K_DOC,  # before the root element
    K_END,  # after it
    K_CALL_NAME,  # <methodCall>, expecting <methodName>
    K_CALL_PARAMS,  # <methodCall>, expecting <params> or the end
    K_CALL_DONE,
    K_RESP,  # <methodResponse>, expecting <params> or <fault>
    K_RESP_DONE,
    K_METHODNAME,
    K_PARAMS,
    K_PARAM,
    K_PARAM_DONE,
    K_FAULT,
    K_FAULT_DONE,
    K_VALUE,  # <value> before any typed child: its text may be an untyped string
    K_VALUE_TYPED,  # a typed child is open
    K_VALUE_DONE,  # the typed child is done; objs holds the value
    K_STRING,
    K_INT,
    K_I4,
    K_I8,
    K_EX_I8,
    K_BOOLEAN,
    K_DOUBLE,
    K_DATETIME,
    K_BASE64,
    K_NIL,
    K_EX_NIL,
    K_ARRAY,  # expecting <data>
    K_ARRAY_DONE,  # <data> seen and closed (or open: K_DATA above it)
    K_DATA,
    K_STRUCT,
    K_MEMBER,  # expecting <name>
    K_MEMBER_VALUE,  # name known (in objs), expecting <value>
    K_MEMBER_DONE,
    K_NAME,
) = range(35)

_TAG_OF: Final = {
    K_CALL_NAME: "methodCall",
    K_CALL_PARAMS: "methodCall",
    K_CALL_DONE: "methodCall",
    K_RESP: "methodResponse",
    K_RESP_DONE: "methodResponse",
    K_METHODNAME: "methodName",
    K_PARAMS: "params",
    K_PARAM: "param",
    K_PARAM_DONE: "param",
    K_FAULT: "fault",
    K_FAULT_DONE: "fault",
    K_VALUE: "value",
    K_VALUE_TYPED: "value",
    K_VALUE_DONE: "value",
    K_STRING: "string",
    K_INT: "int",
    K_I4: "i4",
    K_I8: "i8",
    K_EX_I8: "ex:i8",
    K_BOOLEAN: "boolean",
    K_DOUBLE: "double",
    K_DATETIME: "dateTime.iso8601",
    K_BASE64: "base64",
    K_NIL: "nil",
    K_EX_NIL: "ex:nil",
    K_ARRAY: "array",
    K_ARRAY_DONE: "array",
    K_DATA: "data",
    K_STRUCT: "struct",
    K_MEMBER: "member",
    K_MEMBER_VALUE: "member",
    K_MEMBER_DONE: "member",
    K_NAME: "name",
}

_SCALAR_KIND: Final = {
    "string": K_STRING,
    "int": K_INT,
    "i4": K_I4,
    "i8": K_I8,
    "ex:i8": K_EX_I8,
    "boolean": K_BOOLEAN,
    "double": K_DOUBLE,
    "dateTime.iso8601": K_DATETIME,
    "base64": K_BASE64,
    "nil": K_NIL,
    "ex:nil": K_EX_NIL,
}

# Kinds whose content is character data, kept as raw parts in objs.
_TEXT_KINDS: Final = frozenset(
    {K_VALUE, K_METHODNAME, K_NAME, K_STRING, K_INT, K_I4, K_I8, K_EX_I8}
    | {K_BOOLEAN, K_DOUBLE, K_DATETIME, K_BASE64}
)
_ROOT_KIND: Final = {"methodResponse": K_RESP, "methodCall": K_CALL_NAME}
# Kinds whose end tag just closes them.
_CLOSE_PLAIN: Final = frozenset(
    {K_DATA, K_MEMBER_DONE, K_PARAM_DONE, K_PARAMS, K_FAULT_DONE}
    | {K_CALL_PARAMS, K_CALL_DONE, K_RESP_DONE}
)
# Kinds a <value> may appear in.
_VALUE_PARENTS: Final = frozenset({K_DATA, K_PARAM, K_MEMBER_VALUE, K_FAULT})

# --- the fast expression --------------------------------------------------------------
_W = r"[ \t\r\n]*"
# Text with entity and character references but no markup: checked when expanded.
_TEXT = r"[^<&]*(?:&[#A-Za-z0-9]+;[^<&]*)*"
# Alternatives after "<value>" share that prefix, so the engine matches it once. They
# are tried in order, most frequent in xend's answers first (a pair, an open array, a
# string, an int): each failed alternative costs a few steps on every value. Where two
# could match the same text, the specific one comes first (PAIR before OPEN_ARRAY,
# UNTYPED and STR, which need no expansion, before their _TEXT forms).
_AFTER_VALUE = [
    # An SXP entry such as ["domid", 1] or ["name", "guest"]: most of xend's answers.
    (
        "PAIR",
        rf"{_W}<array>{_W}<data>{_W}<value>{_W}<string>([^<&\r]*)</string>{_W}</value>{_W}"
        rf"<value>{_W}(?:<string>([^<&\r]*)</string>|<(?P<PTYPE>int|i4)>{_W}"
        rf"([-+]?[0-9]{{1,9}}){_W}</(?P=PTYPE)>|<double>{_W}([^<&\s]+){_W}</double>)"
        rf"{_W}</value>{_W}</data>{_W}</array>{_W}</value>",
    ),
    ("OPEN_ARRAY", rf"{_W}<array>{_W}<data>"),
    ("STR", rf"{_W}<string>([^<&\r]*)</string>{_W}</value>"),
    (
        "INT",
        rf"{_W}<(?P<ITYPE>int|i4|i8|ex:i8)>{_W}([-+]?[0-9]{{1,19}}){_W}</(?P=ITYPE)>"
        rf"{_W}</value>",
    ),
    # Plain text: no references, no CR, so nothing to expand or normalise.
    ("UNTYPED", r"([^<&\r]*)</value>"),
    ("STR_TEXT", rf"{_W}<string>({_TEXT})</string>{_W}</value>"),
    ("UNTYPED_TEXT", rf"({_TEXT})</value>"),
    ("DOUBLE", rf"{_W}<double>{_W}([^<&\s]+){_W}</double>{_W}</value>"),
    ("OPEN_STRUCT", rf"{_W}<struct>"),
    ("BOOLEAN", rf"{_W}<boolean>{_W}([01]){_W}</boolean>{_W}</value>"),
    ("NIL", rf"{_W}<(?:nil|ex:nil){_W}/>{_W}</value>"),
]
_OTHERS = [
    ("CLOSE_ARRAY", rf"</data>{_W}</array>{_W}</value>"),
    ("MEMBER", rf"<member>{_W}<name>({_TEXT})</name>"),
    ("END_MEMBER", r"</member>"),
    ("CLOSE_STRUCT", rf"</struct>{_W}</value>"),
]


def _alternatives(items: list[tuple[str, str]]) -> str:
    return "|".join(f"(?P<{name}>{body})" for name, body in items)


_FAST = re.compile(rf"{_W}(?:<value>(?:{_alternatives(_AFTER_VALUE)})|{_alternatives(_OTHERS)})")
_G = _FAST.groupindex
G_STR: Final = _G["STR"]
G_INT: Final = _G["INT"]
G_OPEN_ARRAY: Final = _G["OPEN_ARRAY"]
G_CLOSE_ARRAY: Final = _G["CLOSE_ARRAY"]
G_UNTYPED: Final = _G["UNTYPED"]
G_PAIR: Final = _G["PAIR"]
G_STR_TEXT: Final = _G["STR_TEXT"]
G_UNTYPED_TEXT: Final = _G["UNTYPED_TEXT"]
G_DOUBLE: Final = _G["DOUBLE"]
G_MEMBER: Final = _G["MEMBER"]
G_END_MEMBER: Final = _G["END_MEMBER"]
G_OPEN_STRUCT: Final = _G["OPEN_STRUCT"]
G_CLOSE_STRUCT: Final = _G["CLOSE_STRUCT"]
G_BOOLEAN: Final = _G["BOOLEAN"]
G_NIL: Final = _G["NIL"]

# --- the general tokenizer ------------------------------------------------------------
_NAME = r"[A-Za-z_][A-Za-z0-9_.:-]*"
_START_TAG = re.compile(
    rf"<({_NAME})((?:[ \t\r\n]+{_NAME}[ \t\r\n]*=[ \t\r\n]*"
    r"""(?:"[^"<]*"|'[^'<]*'))*)[ \t\r\n]*(/?)>"""
)
# The start of a tag still open at the end of the buffer: no ">" outside quotes yet.
_OPEN_TAG = re.compile(r"""</?[^<>"']*(?:(?:"[^"]*"|'[^']*')[^<>"']*)*(?:"[^"]*|'[^']*)?\Z""")
_END_TAG = re.compile(rf"</({_NAME})[ \t\r\n]*>")
_NOT_SPACE = re.compile(r"[^ \t\r\n]")
# A reference, or (last group) an "&" that starts none: refused in the same pass.
_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#x([0-9A-Fa-f]{1,7})|(lt|gt|amp|quot|apos));|(&)")
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACE_CHARS = " \t\r\n"
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))

_XML_DECL = re.compile(
    rb"<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(['\"])1\.[0-9]+\1"
    rb"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(['\"])([A-Za-z][A-Za-z0-9._-]*)\2)?"
    rb"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(['\"])(?:yes|no)\4)?"
    rb"[ \t\r\n]*\?>"
)

_INT_TEXT = re.compile(r"[ \t\r\n]*([-+]?[0-9]+)[ \t\r\n]*\Z")
_DOUBLE_TEXT = re.compile(
    r"[ \t\r\n]*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?(?:inf|infinity|nan))[ \t\r\n]*\Z",
    re.IGNORECASE,
)
# ISO 8601 basic or extended (the same in date and time each): 19980717T14:08:55 as
# XML-RPC writes it, 1998-07-17T14:08:55, 19980717T140855; fraction and zone optional.
_DATETIME_TEXT = re.compile(
    r"[ \t\r\n]*(?P<year>[0-9]{4})(?P<ds>-?)(?P<month>[0-9]{2})(?P=ds)(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2})(?P<ts>:?)(?P<minute>[0-9]{2})(?P=ts)(?P<second>[0-9]{2})"
    r"(?:[.,](?P<fraction>[0-9]{1,9}))?(?P<zone>Z|[-+][0-9]{2}(?::?[0-9]{2})?)?[ \t\r\n]*\Z"
)
_B64_SPACE = re.compile(r"[ \t\r\n]+")

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

Root = Literal["methodResponse", "methodCall"]

_SINGLE_BYTE = frozenset({"ascii", "latin-1"})


def _encoding_for(name: str) -> str | None:
    """The codec name for a declared encoding we accept, or None."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec in ("utf-8", "ascii", "latin-1") or codec.startswith(("iso8859-", "cp125")):
        return codec
    return None


def _sub_entity(match: re.Match[str]) -> str:
    dec, hexa, named, bare = match.groups()
    if bare is not None:
        raise _Malformed("'&' that starts no known entity or character reference")
    if named is not None:
        return _PREDEFINED[named]
    code = int(dec) if dec is not None else int(hexa, 16)
    if code > 0x10FFFF:
        raise _Malformed("character reference beyond U+10FFFF")
    char = chr(code)
    if _BAD_CHAR.match(char):
        raise _Malformed(f"character reference to U+{code:04X}, which XML forbids")
    return char


class _Malformed(Exception):
    """Private: raised deep inside, turned into ProtocolError with an offset."""


class _Literal(str):
    """Text from a CDATA section, already final: no references to expand."""

    __slots__ = ()


def _newlines(text: str) -> str:
    """XML end-of-line handling: CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _raw_text(raw: str) -> str:
    """Character data as written: checked, end-of-line handled, references expanded."""
    if "]]>" in raw:
        raise _Malformed("']]>' in character data")
    text = _newlines(raw)
    if "&" in text:
        text = _ENTITY.sub(_sub_entity, text)
    return text


def _text_of(parts: list[str]) -> str:
    """The text of an element from its parts: raw runs (joined, as a chunk may split a
    reference) and CDATA literals, each handled apart, as they stand in the document."""
    if len(parts) == 1:
        part = parts[0]
        return str(part) if type(part) is _Literal else _raw_text(part)
    if not any(type(part) is _Literal for part in parts):
        return _raw_text("".join(parts))
    pieces: list[str] = []
    run: list[str] = []
    for part in parts:
        if type(part) is _Literal:
            if run:
                pieces.append(_raw_text("".join(run)))
                run = []
            pieces.append(part)
        else:
            run.append(part)
    if run:
        pieces.append(_raw_text("".join(run)))
    return "".join(pieces)


def _to_int(text: str, tag: str) -> int:
    """The value of an ``<int>``/``<i4>`` (32 bits, as the XML-RPC spec has them) or an
    ``<i8>``/``<ex:i8>`` (64 bits); out of range for its tag is refused, not widened."""
    match = _INT_TEXT.match(text)
    if match is None:
        raise _Malformed(f"bad integer {text[:40]!r}")
    digits = match.group(1)
    if len(digits) <= 10:
        value = int(digits)
    elif len(digits) <= 21:
        value = int(digits)
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _Malformed(f"<{tag}> beyond 64 bits")
    else:
        raise _Malformed(f"<{tag}> beyond 64 bits")
    if not _INT32_MIN <= value <= _INT32_MAX and tag in ("int", "i4"):
        raise _Malformed(f"<{tag}> beyond 32 bits (<i8> carries 64)")
    return value


def _to_bool(text: str) -> bool:
    stripped = text.strip(_SPACE_CHARS)
    if stripped == "1":
        return True
    if stripped == "0":
        return False
    raise _Malformed(f"bad boolean {text[:40]!r}")


def _to_double(text: str) -> float:
    match = _DOUBLE_TEXT.match(text)
    if match is None:
        raise _Malformed(f"bad double {text[:40]!r}")
    return float(match.group(1))


def _to_datetime(text: str) -> datetime.datetime:
    match = _DATETIME_TEXT.match(text)
    if match is None:
        raise _Malformed(f"bad dateTime.iso8601 {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.group(
        "year", "month", "day", "hour", "minute", "second", "fraction", "zone"
    )
    tzinfo: datetime.tzinfo | None = None
    if zone == "Z":
        tzinfo = datetime.UTC
    elif zone is not None:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[-2:]) if len(zone) > 3 else 0
        if hours > 23 or minutes > 59:
            raise _Malformed(f"bad time zone in {text[:40]!r}")
        tzinfo = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo
        )
    except ValueError as exc:
        raise _Malformed(f"bad dateTime.iso8601 {text[:40]!r}: {exc}") from None


def _to_base64(text: str) -> bytes:
    compact = _B64_SPACE.sub("", text) if text else text
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise _Malformed(f"bad base64: {exc}") from None


class Decoder:
    """Decode one XML-RPC document fed in chunks: ``feed`` each chunk, then ``close``.

    ``close`` returns ``(params, methodname)`` as ``loads`` does (``methodname`` is None
    for a response) or raises the ``Fault`` a fault response carries. Chunks may split the
    document anywhere; ``feed`` does the work as they arrive and keeps only an unfinished
    token, so ``close`` has little left to do.

    A body that is no XML-RPC at all fails early: ``feed`` raises ``ProtocolError`` at
    the first byte that cannot start a document and at a root element other than
    ``expect`` (``"methodResponse"``, or ``"methodCall"`` to read a request). ``root``
    names the root element once read.
    After any ``ProtocolError`` the decoder stays failed; one decoder reads one document.

    ``leaf``, if given, replaces every value placed in an array, other than a string or
    an array, with ``leaf(value)`` as it is decoded: numbers, booleans, nil, dates,
    bytes and whole structs. A caller that would walk the result to convert those
    anyway (the XML-RPC backend spells them as SXP atoms) is spared the second pass.
    Values outside arrays (a param itself, a struct's members) and a fault's are left
    as they are.
    """

    def __init__(
        self,
        limits: Limits = Limits(),  # noqa: B008 (frozen, shared)
        *,
        expect: Root = "methodResponse",
        leaf: Callable[[Any], Any] | None = None,
    ) -> None:
        if expect not in _ROOT_KIND:
            raise ValueError(f"expect must be 'methodResponse' or 'methodCall', not {expect!r}")
        self.limits = limits
        self.expect = expect
        self._leaf = leaf
        self.root: str | None = None
        self._kinds: list[int] = [K_DOC]
        self._objs: list[Any] = [None]
        self._params: list[Any] = []
        self._methodname: str | None = None
        self._fault: Any = None
        self._is_fault = False
        self._fault_offset: int | None = None
        self._count = 0
        self._depth = 0
        self._text_len = 0
        self._fed = 0  # bytes fed so far
        self._head = b""  # bytes held back until the encoding is known
        self._decoder: codecs.IncrementalDecoder | None = None
        self._encoding = "utf-8"
        self._force_utf8 = False
        self._buf = ""  # the unfinished token
        self._consumed = 0  # bytes of text already dropped from _buf
        # "cdata", "cdata-space" (between elements) or "comment" while one is open
        self._special: str | None = None
        self._error: ProtocolError | None = None
        self._closed = False

    # --- public ---------------------------------------------------------------------
    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Decode as much of ``chunk`` as can be, keeping only an unfinished token."""
        self._check_usable("feed")
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"Decoder.feed() takes bytes, not {type(chunk).__name__}")
        self._guarded(chunk, final=False)

    def close(self) -> tuple[tuple[Any, ...], str | None]:
        """Finish the document: return ``(params, methodname)`` or raise its ``Fault``."""
        self._check_usable("close")
        self._closed = True
        self._guarded(b"", final=True)
        return self._result()

    def _check_usable(self, operation: str) -> None:
        if self._closed:
            raise RuntimeError(f"Decoder.{operation}() after close()")
        if self._error is not None:
            raise ProtocolError(f"decoder already failed: {self._error}")

    def _guarded(self, chunk: bytes | bytearray | memoryview, final: bool) -> None:
        """The one boundary: whatever goes wrong inside leaves as a ProtocolError."""
        try:
            self._feed(chunk, final)
        except (ProtocolError, MemoryError) as exc:
            self._fail(exc)
            raise
        except Exception as exc:
            err = ProtocolError(f"malformed XML-RPC ({type(exc).__name__}: {exc})")
            self._fail(err)
            raise err from exc

    # --- bytes to text --------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        self._error = exc if isinstance(exc, ProtocolError) else ProtocolError(repr(exc))
        self._buf = ""
        self._kinds = [K_DOC]
        self._objs = [None]
        self._params = []

    def _feed(self, chunk: bytes | bytearray | memoryview, final: bool) -> None:
        if isinstance(chunk, memoryview):
            chunk = chunk.tobytes()
        size = len(chunk)
        # Deleting the C0 controls XML forbids is the fastest test for them; the encodings
        # accepted are all ASCII-compatible, so a forbidden byte is a forbidden character.
        forbidden = len(chunk.translate(None, _CONTROL_BYTES)) != size
        start = self._fed
        self._fed += size
        if self._fed > self.limits.max_bytes:
            raise LimitExceeded("max_bytes", self.limits.max_bytes, offset=self.limits.max_bytes)
        decoder = self._decoder
        if decoder is None:
            self._head += bytes(chunk)
            if not self._sniff(final):
                return
            decoder = self._decoder
            assert decoder is not None
            chunk, self._head = self._head, b""
            start = self._consumed
            forbidden = len(chunk.translate(None, _CONTROL_BYTES)) != len(chunk)
        try:
            text = decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            held = len(decoder.getstate()[0])
            offset = max(0, start - held + exc.start)
            raise ProtocolError(
                f"bytes not valid {self._encoding}: {exc.reason}", offset=offset
            ) from None
        if text:
            if (forbidden or not text.isascii()) and (
                forbidden or "\ufffe" in text or "\uffff" in text
            ):
                bad = _BAD_CHAR.search(text) or _BAD_CHAR.search("\x00")
                assert bad is not None
                base = self._offset(self._buf, len(self._buf))
                raise ProtocolError(
                    f"character U+{ord(bad.group()):04X}, which XML forbids",
                    offset=base + self._bytelen(text[: bad.start()]),
                )
            self._parse(self._buf + text if self._buf else text, final)
        if final:
            if self._buf and not text:
                self._parse(self._buf, final)
            self._finish()

    def _sniff(self, final: bool) -> bool:
        """Pick the encoding from a byte order mark or XML declaration; False: need more."""
        head = self._head
        if head.startswith((b"\xfe\xff", b"\xff\xfe")):
            raise ProtocolError("UTF-16 documents are not supported", offset=0)
        bom = b"\xef\xbb\xbf"
        if not final and len(head) < 3 and bom.startswith(head):
            return False  # may still become a byte order mark
        skip = 3 if head.startswith(bom) else 0
        start = head[skip : skip + 6]
        if not final and len(start) < 6 and b"<?xml"[: len(start)] == start[:5]:
            return False  # may still become an XML declaration
        body = head[skip:]
        encoding = "utf-8"
        if body.startswith(b"<?xml") and body[5:6] in (b" ", b"\t", b"\r", b"\n"):
            end = body.find(b"?>")
            if end > _MAX_DECL or (end < 0 and len(body) > _MAX_DECL):
                raise ProtocolError("XML declaration too long", offset=skip)
            if end < 0:
                if not final:
                    return False
                raise ProtocolError("truncated XML declaration", offset=len(head))
            decl = _XML_DECL.fullmatch(body, 0, end + 2)
            if decl is None:
                raise ProtocolError("malformed XML declaration", offset=skip)
            if decl.group(3) is not None and not self._force_utf8:
                name = decl.group(3).decode("ascii")
                found = _encoding_for(name)
                if found is None or (skip and found != "utf-8"):
                    raise ProtocolError(f"unsupported encoding {name!r}", offset=skip)
                encoding = found
            skip += end + 2
        self._encoding = encoding
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._head = head[skip:]
        self._consumed = skip
        return True

    def _bytelen(self, text: str) -> int:
        if text.isascii() or self._encoding in _SINGLE_BYTE:
            return len(text)
        return len(text.encode(self._encoding, "surrogatepass"))

    def _offset(self, buf: str, pos: int) -> int:
        """The byte offset of ``buf[pos]`` in the input."""
        return self._consumed + self._bytelen(buf[:pos])

    def _error_at(self, buf: str, pos: int, message: str) -> ProtocolError:
        return ProtocolError(message, offset=self._offset(buf, pos))

    # --- the scanner ----------------------------------------------------------------
    def _parse(self, buf: str, final: bool = False) -> None:
        """Consume ``buf`` as far as complete tokens go; keep the rest in ``_buf``.

        Near the end of a large enough buffer, a construct the fast expression does not
        match is most likely cut by the chunk's end: it waits for the next chunk (at most
        ``_DEFER`` characters, once) instead of going element by element. Not before the
        root element (a body that is no XML-RPC fails at once) and not at the end.
        """
        pos = 0
        if self._special is not None:
            pos = self._continue_special(buf, 0)
        kinds = self._kinds
        objs = self._objs
        end = len(buf) if self._special is None else pos
        match = _FAST.match
        value_parents = _VALUE_PARENTS
        deliver = self._deliver
        check_len = end > self.limits.max_string
        risky = "]]>" in buf  # XML forbids it in text; rare, so checked per match only then
        max_depth = self.limits.max_depth
        count = self._count
        depth = self._depth
        leaf = self._leaf
        g_str, g_untyped, g_int, g_pair = G_STR, G_UNTYPED, G_INT, G_PAIR
        g_open_array, g_close_array = G_OPEN_ARRAY, G_CLOSE_ARRAY
        g_open_struct, g_close_struct = G_OPEN_STRUCT, G_CLOSE_STRUCT
        k = kinds[-1]
        top = objs[-1]
        defer_from = end - _DEFER if end >= 2 * _DEFER and not final else end
        try:
            while pos < end:
                m = match(buf, pos)
                if m is None:
                    if pos > defer_from and k != K_DOC:
                        break
                    self._count = count
                    self._depth = depth
                    new = self._step(buf, pos)
                    count = self._count
                    depth = self._depth
                    leaf = self._leaf
                    k = kinds[-1]
                    top = objs[-1]
                    if new < 0:
                        break
                    pos = new
                    if self._special is not None:
                        break
                    continue
                g = m.lastindex
                if risky and "]]>" in m[0]:  # markup never holds it: text does
                    raise self._error_at(buf, m.start(), "']]>' in character data")
                if g == g_str or g == g_untyped:  # noqa: SIM109 (no tuple per value)
                    v: Any = m[g + 1]
                    if check_len and len(v) > self.limits.max_string:
                        raise self._limit("max_string", buf, pos)
                elif g == g_int:
                    digits = m.group(g + 2)
                    v = int(digits)
                    if len(digits) > 9 and not _INT32_MIN <= v <= _INT32_MAX:
                        try:
                            v = _to_int(digits, m[g + 1])
                        except _Malformed as exc:  # at its end tag, as the general path has it
                            at = buf.index("<", m.end(g + 2))
                            raise self._error_at(buf, at, str(exc)) from None
                elif g == g_pair:
                    # Two scalars in an array in one match: the collapsed frame's whole life.
                    if check_len and len(m[0]) > self.limits.max_string:
                        raise self._limit("max_string", buf, pos)
                    if depth >= max_depth:
                        raise self._limit("max_depth", buf, pos)
                    second = m[g + 2]
                    if second is None:
                        digits = m[g + 4]
                        if digits is not None:
                            second = int(digits)
                        else:
                            try:
                                second = _to_double(m[g + 5])
                            except _Malformed as exc:
                                raise self._error_at(buf, m.start(g + 5), str(exc)) from None
                        if leaf is not None:
                            second = leaf(second)
                    v = [m[g + 1], second]
                    count += 2
                elif g == g_open_array or g == g_open_struct:  # noqa: SIM109
                    if k not in value_parents:
                        raise self._unexpected(buf, m.start(g), "<value>", k)
                    count += 1
                    depth += 1
                    if depth > max_depth:
                        raise self._limit("max_depth", buf, pos)
                    # One collapsed frame stands for <value><array><data> or
                    # <value><struct> (see _end for its expansion).
                    if g == g_open_array:
                        top = []
                        k = K_DATA
                    else:
                        top = {}
                        k = K_STRUCT
                    kinds.append(k)
                    objs.append(top)
                    pos = m.end()
                    continue
                elif g == g_close_array or g == g_close_struct:  # noqa: SIM109
                    if g == g_close_array:
                        want, expanded, frames = K_DATA, K_ARRAY_DONE, 3
                    else:
                        want, expanded, frames = K_STRUCT, K_VALUE_TYPED, 2
                    if k != want:
                        raise self._unexpected(buf, m.start(g), f"</{_TAG_OF[want]}>", k)
                    v = top
                    if kinds[-2] == expanded:  # opened element by element
                        del kinds[-frames:]
                        del objs[-frames:]
                    else:
                        kinds.pop()
                        objs.pop()
                    depth -= 1
                    k = kinds[-1]
                    top = objs[-1]
                    if k == K_DATA:
                        top.append(v if leaf is None or type(v) is list else leaf(v))
                    else:
                        deliver(v)
                        k = kinds[-1]
                        top = objs[-1]
                    pos = m.end()
                    continue
                elif g in (G_STR_TEXT, G_UNTYPED_TEXT):
                    if check_len and len(m[g + 1]) > self.limits.max_string:
                        raise self._limit("max_string", buf, pos)
                    v = self._fast_text(m[g + 1], buf, m.start(g))
                elif g == G_DOUBLE:
                    try:
                        v = _to_double(m.group(g + 1))
                    except _Malformed as exc:
                        raise self._error_at(buf, m.start(g + 1), str(exc)) from None
                elif g == G_MEMBER:
                    if k != K_STRUCT:
                        raise self._unexpected(buf, m.start(g), "<member>", k)
                    key = m.group(g + 1)
                    if "\r" in key or "&" in key:
                        key = self._fast_text(key, buf, m.start(g))
                    if check_len and len(key) > self.limits.max_string:
                        raise self._limit("max_string", buf, pos)
                    kinds.append(K_MEMBER_VALUE)
                    objs.append(key)
                    k = K_MEMBER_VALUE
                    top = key
                    pos = m.end()
                    continue
                elif g == G_END_MEMBER:
                    if k != K_MEMBER_DONE:
                        raise self._unexpected(buf, m.start(g), "</member>", k)
                    kinds.pop()
                    objs.pop()
                    k = K_STRUCT
                    top = objs[-1]
                    pos = m.end()
                    continue
                elif g == G_BOOLEAN:
                    v = m.group(g + 1) == "1"
                else:  # G_NIL
                    v = None
                # A scalar value: deliver it to the open array, member, param or fault.
                if k == K_DATA:
                    if leaf is not None and g != g_pair and type(v) is not str:
                        v = leaf(v)
                    top.append(v)
                elif k in value_parents:
                    deliver(v)
                    k = kinds[-1]
                    top = objs[-1]
                else:
                    raise self._unexpected(buf, m.start(), "<value>", k)
                count += 1
                pos = m.end()
        finally:
            self._count = count
            self._depth = depth
        if count > self.limits.max_elements:
            raise self._limit("max_elements", buf, pos)
        if pos < len(buf):
            rest = buf[pos:]
            if len(rest) > _MAX_TAG and self._special is None:
                raise self._error_at(buf, pos, f"unterminated tag longer than {_MAX_TAG}")
        else:
            rest = ""
        self._consumed += self._bytelen(buf[:pos]) if pos else 0
        self._buf = rest

    def _fast_text(self, raw: str, buf: str, pos: int) -> str:
        try:
            return _text_of([raw])
        except _Malformed as exc:
            raise self._error_at(buf, pos, str(exc)) from None

    def _limit(self, name: str, buf: str, pos: int) -> LimitExceeded:
        return LimitExceeded(name, getattr(self.limits, name), offset=self._offset(buf, pos))

    def _unexpected(self, buf: str, pos: int, what: str, kind: int) -> ProtocolError:
        where = "outside the root element" if kind in (K_DOC, K_END) else f"in <{_TAG_OF[kind]}>"
        return self._error_at(buf, pos, f"unexpected {what} {where}")

    def _deliver(self, v: Any) -> None:
        """Hand a finished value to the element that holds it (top of the stack)."""
        kinds = self._kinds
        k = kinds[-1]
        if k == K_DATA:
            leaf = self._leaf
            if leaf is not None and type(v) is not str and type(v) is not list:
                v = leaf(v)
            self._objs[-1].append(v)
        elif k == K_MEMBER_VALUE:
            objs = self._objs
            objs[-2][objs[-1]] = v
            kinds[-1] = K_MEMBER_DONE
        elif k == K_PARAM:
            self._objs[-1].append(v)
            kinds[-1] = K_PARAM_DONE
        elif k == K_FAULT:
            self._fault = v
            kinds[-1] = K_FAULT_DONE
        else:  # the callers check; kept as a guard for the state machine itself
            raise _Malformed(f"a value cannot go in <{_TAG_OF.get(k, '?')}>")

    def _add_text(self, text: str, buf: str, pos: int) -> None:
        self._objs[-1].append(text)
        self._text_len += len(text)
        if self._text_len > self.limits.max_string:
            raise self._limit("max_string", buf, pos)

    def _step(self, buf: str, pos: int) -> int:
        """One token by the general path: the new position, or -1 to wait for more."""
        kinds = self._kinds
        k = kinds[-1]
        if buf[pos] != "<":
            found = buf.find("<", pos)
            stop = len(buf) if found < 0 else found
            if k in _TEXT_KINDS:
                self._add_text(buf[pos:stop], buf, pos)
                return stop
            bad = _NOT_SPACE.search(buf, pos, stop)
            if bad is not None:
                at = bad.start()
                if k == K_DOC:
                    raise self._error_at(buf, at, "not an XML-RPC document (expected '<')")
                if k == K_END:
                    raise self._error_at(buf, at, "trailing data after the document")
                raise self._error_at(buf, at, "text where none belongs")
            return stop
        if buf.startswith("</", pos):
            m = _END_TAG.match(buf, pos)
            if m is None:
                return self._incomplete_tag(buf, pos)
            self._end(m.group(1), buf, pos)
            return m.end()
        if buf.startswith("<!", pos):
            return self._markup(buf, pos)
        if buf.startswith("<?", pos):
            raise self._error_at(buf, pos, "processing instructions are refused")
        m = _START_TAG.match(buf, pos)
        if m is None:
            return self._incomplete_tag(buf, pos)
        if m.end() - pos > _MAX_TAG:  # refused whole, as it would be when fed in pieces
            raise self._error_at(buf, pos, f"tag longer than {_MAX_TAG} characters")
        self._start(m.group(1), m.group(3) == "/", buf, pos)
        return m.end()

    def _incomplete_tag(self, buf: str, pos: int) -> int:
        """A tag that did not match: wait if it may still be completed, else refuse it."""
        if len(buf) - pos <= _MAX_TAG and _OPEN_TAG.match(buf, pos):
            return -1
        raise self._error_at(buf, pos, "malformed tag")

    def _markup(self, buf: str, pos: int) -> int:
        """A comment, a CDATA section, or a refused declaration, at ``buf[pos]``."""
        if buf.startswith("<!--", pos):
            self._special = "comment"
            return self._continue_special(buf, pos + 4)
        if buf.startswith("<![CDATA[", pos):
            # Between elements, CDATA is character data like any other: spacing only.
            kind = self._kinds[-1]
            if kind in (K_DOC, K_END):
                raise self._error_at(buf, pos, "CDATA outside the root element")
            self._special = "cdata" if kind in _TEXT_KINDS else "cdata-space"
            return self._continue_special(buf, pos + 9)
        rest = buf[pos : pos + 9]
        if "<!--"[: len(rest)] == rest or "<![CDATA["[: len(rest)] == rest:
            return -1  # too short to tell yet
        raise self._error_at(buf, pos, "DOCTYPE, DTD and entity declarations are refused")

    def _continue_special(self, buf: str, pos: int) -> int:
        """Inside an open comment or CDATA section: its end, or as far as is safe.

        While the section stays open, the returned position leaves unconsumed the
        characters that may begin its terminator.
        """
        if self._special == "comment":
            # XML allows "--" in a comment only as the start of its "-->" end.
            found = buf.find("--", pos)
            if found < 0:
                return max(pos, len(buf) - 1 if buf.endswith("-") else len(buf))
            if found + 2 >= len(buf):
                return found
            if buf[found + 2] != ">":
                raise self._error_at(buf, found, "'--' inside a comment")
            self._special = None
            return found + 3
        found = buf.find("]]>", pos)
        if found >= 0:
            stop = found
        else:
            stop = max(pos, len(buf) - 2)
            if stop > pos and buf[stop - 1] == "\r":
                stop -= 1  # a CR that may pair with an LF still to come
        if self._special == "cdata-space":
            bad = _NOT_SPACE.search(buf, pos, stop)
            if bad is not None:
                raise self._error_at(buf, bad.start(), "text where none belongs (in CDATA)")
        elif stop > pos:
            # Kept apart from raw text, final: a CDATA section has no references.
            self._add_text(_Literal(_newlines(buf[pos:stop])), buf, pos)
        if found >= 0:
            self._special = None
            return found + 3
        return stop

    def _start(self, name: str, empty: bool, buf: str, pos: int) -> None:
        kinds = self._kinds
        objs = self._objs
        k = kinds[-1]
        if k in _VALUE_PARENTS:
            if name != "value":
                raise self._unexpected(buf, pos, f"<{name}>", k)
            self._count += 1
            if empty:
                self._deliver("")
                return
            kinds.append(K_VALUE)
            objs.append([])
            self._text_len = 0
            return
        if k == K_VALUE:
            parts = objs[-1]
            if parts and _NOT_SPACE.search("".join(parts)):
                raise self._error_at(buf, pos, f"text before <{name}> in <value>")
            kind = _SCALAR_KIND.get(name)
            kinds[-1] = K_VALUE_TYPED
            objs[-1] = None
            if kind is not None:
                if empty:
                    self._finish_scalar(kind, [], buf, pos)
                    return
                kinds.append(kind)
                objs.append([] if kind in _TEXT_KINDS else None)
                self._text_len = 0
                return
            if name == "array" or name == "struct":
                self._depth += 1
                if self._depth > self.limits.max_depth:
                    raise self._limit("max_depth", buf, pos)
                if name == "array":
                    if empty:
                        raise self._error_at(buf, pos, "<array/> without <data>")
                    kinds.append(K_ARRAY)
                    objs.append([])
                elif empty:
                    self._depth -= 1
                    kinds[-1] = K_VALUE_DONE
                    objs[-1] = {}
                else:
                    kinds.append(K_STRUCT)
                    objs.append({})
                return
            raise self._error_at(buf, pos, f"unknown value type <{name}>")
        if k == K_ARRAY and name == "data":
            kinds[-1] = K_ARRAY_DONE
            if not empty:
                kinds.append(K_DATA)
                objs.append(objs[-1])
            return
        if k == K_STRUCT and name == "member":
            if empty:
                raise self._error_at(buf, pos, "<member/> without name and value")
            kinds.append(K_MEMBER)
            objs.append(None)
            return
        if k == K_MEMBER and name == "name":
            kinds[-1] = K_MEMBER_VALUE
            if empty:
                objs[-1] = ""
                return
            kinds.append(K_NAME)
            objs.append([])
            self._text_len = 0
            return
        if k == K_PARAMS and name == "param":
            if empty:
                raise self._error_at(buf, pos, "<param/> without a value")
            kinds.append(K_PARAM)
            objs.append(self._params)
            return
        if k == K_DOC:
            root_kind = _ROOT_KIND.get(name)
            if root_kind is None:
                raise self._error_at(buf, pos, f"not an XML-RPC document (root element <{name}>)")
            if name != self.expect:
                raise self._error_at(buf, pos, f"<{name}> where a <{self.expect}> belongs")
            if empty:
                raise self._error_at(buf, pos, f"empty <{name}/>")
            self.root = name
            kinds[-1] = K_END
            kinds.append(root_kind)
            objs.append(None)
            return
        if k == K_CALL_NAME and name == "methodName":
            kinds[-1] = K_CALL_PARAMS
            if empty:
                raise self._error_at(buf, pos, "empty <methodName/>")
            kinds.append(K_METHODNAME)
            objs.append([])
            self._text_len = 0
            return
        if (k in (K_CALL_PARAMS, K_RESP)) and name == "params":
            kinds[-1] = K_CALL_DONE if k == K_CALL_PARAMS else K_RESP_DONE
            if not empty:
                kinds.append(K_PARAMS)
                objs.append(None)
            return
        if k == K_RESP and name == "fault":
            kinds[-1] = K_RESP_DONE
            self._is_fault = True
            self._leaf = None
            if empty:
                raise self._error_at(buf, pos, "<fault/> without a value")
            kinds.append(K_FAULT)
            objs.append(None)
            return
        raise self._unexpected(buf, pos, f"<{name}>", k)

    def _finish_scalar(self, kind: int, parts: list[str], buf: str, pos: int) -> None:
        """Convert a typed element's text and hand it to its <value>."""
        try:
            if kind in (K_NIL, K_EX_NIL):
                v: Any = None
            else:
                text = _text_of(parts) if parts else ""
                if kind == K_STRING:
                    v = text
                elif kind <= K_EX_I8:
                    v = _to_int(text, _TAG_OF[kind])
                elif kind == K_DOUBLE:
                    v = _to_double(text)
                elif kind == K_BOOLEAN:
                    v = _to_bool(text)
                elif kind == K_DATETIME:
                    v = _to_datetime(text)
                else:
                    v = _to_base64(text)
        except _Malformed as exc:
            raise self._error_at(buf, pos, str(exc)) from None
        self._kinds[-1] = K_VALUE_DONE
        self._objs[-1] = v

    def _end(self, name: str, buf: str, pos: int) -> None:
        kinds = self._kinds
        objs = self._objs
        k = kinds[-1]
        expected = _TAG_OF.get(k)
        if name != expected:
            if expected is None:
                raise self._error_at(buf, pos, f"unexpected </{name}> outside the root element")
            raise self._error_at(buf, pos, f"mismatched </{name}>, expected </{expected}>")
        if k in (K_VALUE, K_VALUE_DONE):
            if k == K_VALUE:
                parts = objs[-1]
                try:
                    v = _text_of(parts) if parts else ""
                except _Malformed as exc:
                    raise self._error_at(buf, pos, str(exc)) from None
            else:
                v = objs[-1]
            kinds.pop()
            objs.pop()
            self._deliver(v)
        elif k in _TEXT_KINDS or k in (K_NIL, K_EX_NIL):
            if k in (K_NAME, K_METHODNAME):
                try:
                    text = _text_of(objs[-1]) if objs[-1] else ""
                except _Malformed as exc:
                    raise self._error_at(buf, pos, str(exc)) from None
                kinds.pop()
                objs.pop()
                if k == K_NAME:
                    objs[-1] = text
                else:
                    self._methodname = text
                return
            parts = objs.pop()
            kinds.pop()
            self._finish_scalar(k, parts or [], buf, pos)
        elif k in (K_ARRAY_DONE, K_STRUCT):
            v = objs[-1]
            self._depth -= 1
            if k == K_ARRAY_DONE or kinds[-2] == K_VALUE_TYPED:
                kinds.pop()
                objs.pop()
            # else: a collapsed <value><struct> frame becomes the finished <value>
            kinds[-1] = K_VALUE_DONE
            objs[-1] = v
        elif k == K_DATA and kinds[-2] != K_ARRAY_DONE:
            # A collapsed <value><array><data> frame: expand what remains open.
            array = objs[-1]
            kinds[-1] = K_VALUE_TYPED
            objs[-1] = None
            kinds.append(K_ARRAY_DONE)
            objs.append(array)
        elif k in _CLOSE_PLAIN:
            if k == K_FAULT_DONE:
                self._fault_offset = self._offset(buf, pos)
            kinds.pop()
            objs.pop()
        elif k == K_CALL_NAME:
            raise self._error_at(buf, pos, "<methodCall> without <methodName>")
        elif k == K_RESP:
            raise self._error_at(buf, pos, "<methodResponse> without <params> or <fault>")
        elif k == K_ARRAY:
            raise self._error_at(buf, pos, "<array> without <data>")
        elif k in (K_MEMBER, K_MEMBER_VALUE):
            raise self._error_at(buf, pos, "<member> without a name and a value")
        else:
            raise self._error_at(buf, pos, f"</{name}> before its value")

    # --- the end --------------------------------------------------------------------
    def _finish(self) -> None:
        buf = self._buf
        if self._decoder is None:
            raise ProtocolError("empty document", offset=self._fed)
        if self._special is not None or buf:
            raise ProtocolError("truncated document", offset=self._fed)
        if self._kinds[-1] != K_END or len(self._kinds) != 1:
            if self._kinds[-1] == K_DOC:
                raise ProtocolError("empty document", offset=self._fed)
            raise ProtocolError("truncated document", offset=self._fed)

    def _result(self) -> tuple[tuple[Any, ...], str | None]:
        """The decoded document, or its Fault raised; called once the input is done."""
        if not self._is_fault:
            return tuple(self._params), self._methodname
        try:
            raise self._fault_of_document()
        except ProtocolError as exc:
            self._fail(exc)
            raise

    def _fault_of_document(self) -> Fault:
        """The Fault a fault response carries; ProtocolError if it is malformed."""
        fault = self._fault
        at = self._fault_offset
        if not isinstance(fault, dict):
            raise ProtocolError("fault value is not a struct", offset=at)
        code = fault.get("faultCode")
        string = fault.get("faultString")
        # Types only in the messages: a hostile value may be huge or deeply nested.
        if isinstance(code, bool) or not isinstance(code, int):
            got = type(code).__name__ if "faultCode" in fault else "nothing"
            raise ProtocolError(f"fault's faultCode is {got}, not an int", offset=at)
        if not isinstance(string, (str, list)):
            got = type(string).__name__ if "faultString" in fault else "nothing"
            raise ProtocolError(f"fault's faultString is {got}, not a str or list", offset=at)
        return fault_for(code, string)


def loads(
    data: bytes | str, *, expect: Root = "methodResponse"
) -> tuple[tuple[Any, ...], str | None]:
    """Decode a whole XML-RPC document: ``(params, methodname)``, or raise its ``Fault``.

    ``expect`` names the root element, as for ``Decoder``: a response by default
    (``methodname`` None), ``"methodCall"`` for a request. A ``str`` is read as text,
    whatever encoding its XML declaration names.
    """
    decoder = Decoder(expect=expect)
    if isinstance(data, str):
        decoder._force_utf8 = True
        try:
            data = data.encode("utf-8", "surrogatepass")
        except UnicodeEncodeError as exc:  # pragma: no cover - surrogatepass encodes all
            raise ProtocolError(str(exc)) from None
    decoder.feed(data)
    return decoder.close()
