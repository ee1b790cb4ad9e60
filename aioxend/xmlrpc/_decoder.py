"""A streaming XML-RPC decoder: bytes in, chunk by chunk, Python values out.

Strategy. The decoder is a hand-written scanner over a ``str`` buffer with a flat,
explicit stack; it never recurses, so depth costs memory, not Python stack.

Bytes. The first bytes decide the character encoding: a UTF-8 byte order mark, or an
XML declaration naming it (UTF-8, US-ASCII, ISO-8859-*, windows-125*), else UTF-8. UTF-8
bytes go through the C decoder directly, the bytes of a character a chunk cuts kept for
the next (the other encodings are single-byte). Each chunk is checked once for
characters XML forbids: the C0 controls on its bytes (``_chars.has_control``), U+FFFE
and U+FFFF by a search only when the decoded text is not ASCII. A whole one-scalar
answer in one chunk, the commonest small document, is read by one match on its bytes.
A chunk over 64 KiB is read a window at a time, as if streamed, so the text of each
stays in the processor's cache while it is checked, decoded and parsed.

Text. Two regular expressions share the work:

* a "fast" one whose alternatives each match a whole common construct at once, with the
  whitespace around it: ``<value><string>text</string></value>`` for a short plain
  text, an SXP pair ``["domid", 1]``, an untyped value, an int, a double, a boolean, a
  nil, a date, the opening ``<value><array><data>`` and closing
  ``</data></array></value>`` of an array, a struct's opening and closing, a member's
  start ``<member><name>key</name>`` and end, a whole array or struct holding plain
  short texts only (xapi's sets and maps), and a response's envelope. In an open
  struct, the members of a record as xapi writes one (plain texts, sets and maps of
  them, scalars that cannot nest) are one match each, taken by a scanner from the
  struct's opening, a member's end or where the parse resumes: the match checks the
  member and its groups hold the key and the text (a set's or map's markup, which one
  ``findall`` then reads), so a record is scanned once. Longer text is never scanned
  by the engine (about 90 MB/s): a ``*_RUN`` alternative matches the opening only and
  ``str.find`` finds the ``<`` that ends it (C speed); references and CR are then
  handled by ``str`` methods over the whole run, and in an array the next such value
  is taken at once.
  One match and a few list operations per value, where the stdlib's expat route pays
  three Python callbacks per element. The alternatives after ``<value>`` share that
  prefix, so the engine matches it once. Plain text is "no ``<``, ``&`` or CR": in a
  buffer holding no ``&`` and no CR, the expressions are compiled with ``[^<]``, which
  the engine scans in a loop of its own, for the same matches (``_expressions``).
* a general tokenizer (text, start tag, end tag, comment, CDATA; anything else such as a
  DOCTYPE or processing instruction is refused) driving the same state machine element
  by element. It takes over wherever the fast expression does not match: entities,
  CDATA, comments, attributes, odd spacing, and the incomplete token at a chunk's end.
  A construct the fast expression does not take in the second half of a buffer, most
  likely cut by the chunk's end, waits for the next chunk instead (see ``_parse``).

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
from typing import Any, Final, Literal, NamedTuple, cast

from aioxend.errors import Fault, LimitExceeded, ProtocolError, fault_for
from aioxend.xmlrpc._chars import NOT_XML_CHAR, has_control
from aioxend.xmlrpc._limits import Limits

__all__ = ["Decoder", "Root", "loads"]

_MAX_TAG: Final = 4096
_DEFER: Final = 64 * 1024
_DEFER_FROM: Final = 1024  # a smaller buffer never waits: a small answer's error is at once
_WINDOW: Final = 64 * 1024
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
# The one child element an array, a struct and a member each open first.
_CHILD_OF: Final = {K_ARRAY: "data", K_STRUCT: "member", K_MEMBER: "name"}
# Kinds whose end tag just closes them.
_CLOSE_PLAIN: Final = frozenset(
    {K_DATA, K_MEMBER_DONE, K_PARAM_DONE, K_PARAMS, K_FAULT_DONE}
    | {K_CALL_PARAMS, K_CALL_DONE, K_RESP_DONE}
)
# What an element closed before its required content lacks.
_UNFINISHED: Final = {
    K_CALL_NAME: "<methodCall> without <methodName>",
    K_RESP: "<methodResponse> without <params> or <fault>",
    K_ARRAY: "<array> without <data>",
    K_MEMBER: "<member> without a name and a value",
    K_MEMBER_VALUE: "<member> without a name and a value",
}
# Kinds a <value> may appear in.
_VALUE_PARENTS: Final = frozenset({K_DATA, K_PARAM, K_MEMBER_VALUE, K_FAULT})

# --- the fast expressions -------------------------------------------------------------
_W = r"[ \t\r\n]*+"
# Quantifiers are possessive (``*+``): what follows each can never match what it took,
# so giving characters back could never help, and a failed alternative fails at once.
# Strings are matched inline up to this length; a longer text costs more to scan with
# the regular expression engine than to find its end with str.find (the *_RUN forms).
_SHORT = 16
# Plain texts (as xapi writes its strings untyped, or in <string> as xend and the standard
# library do) run to at most _PLAIN_MAX characters in the forms that hold many (sets, maps,
# record members): a longer one is cheaper to delimit by str.find (the *_RUN forms) than
# by the expression engine, so its container is read value by value.
_PLAIN_MAX = 256


class _Expressions(NamedTuple):
    """The fast expressions, compiled for one class of text character (see _expressions)."""

    fast: re.Pattern[str]
    member: re.Pattern[str]
    members: Callable[[str, int, int], Any]  # member's scanner (see _record_members)
    texts: Callable[..., list[str]]
    pairs: Callable[..., list[tuple[str, str]]]


def _expressions(clean: bool) -> _Expressions:
    """The fast expressions; ``clean`` for a buffer that holds no ``&`` and no CR.

    Plain text is ``[^<&\\r]``: no references, no CR, so nothing to expand or normalise. In
    a buffer with neither, that is the same as ``[^<]``, which the engine scans in a tight
    loop of its own (a character class costs a set test per character): the same matches,
    a record read about 40% faster. Both sets are compiled once, with the module
    (``_STRICT``, ``_CLEAN``).
    """
    chars = "[^<]" if clean else r"[^<&\r]"
    # Text with entity and character references but no markup: checked when expanded.
    text = "[^<]*+" if clean else r"[^<&]*+(?:&[#A-Za-z0-9]++;[^<&]*+)*+"
    date = "[^<]{0,64}+" if clean else "[^<&]{0,64}+"
    plain = f"{chars}{{0,{_PLAIN_MAX}}}+"
    plain_value = rf"<value>(?:{plain}</value>|{_W}<string>{plain}</string>{_W}</value>)"
    plain_member = rf"<member>{_W}<name>{plain}</name>{_W}{plain_value}{_W}</member>{_W}"
    # Alternatives after "<value>" share that prefix, so the engine matches it once. They
    # are tried in order, most frequent in xend's answers first (a pair, an open array, a
    # string, an int): each failed alternative costs a few steps on every value. Where two
    # could match the same text, the specific one comes first (PAIR before OPEN_ARRAY, the
    # inline STR and UNTYPED before their *_RUN forms).
    after_value = [
        # An SXP entry such as ["domid", 1] or ["name", "guest"]: most of xend's answers.
        (
            "PAIR",
            rf"{_W}<array>{_W}<data>{_W}<value>{_W}<string>({chars}*+)</string>{_W}</value>"
            rf"{_W}<value>{_W}(?:<string>({chars}*+)</string>|<(?P<PTYPE>int|i4)>{_W}"
            rf"([-+]?[0-9]{{1,9}}+){_W}</(?P=PTYPE)>|<double>{_W}([^<&\s]++){_W}</double>)"
            rf"{_W}</value>{_W}</data>{_W}</array>{_W}</value>",
        ),
        # An array or a struct of plain text only (xapi's sets and maps): the whole
        # container in one match, its texts then read by findall (see Decoder._plain).
        (
            "PLAIN_ARRAY",
            rf"{_W}<array>{_W}<data>{_W}(?:{plain_value}{_W})*+</data>{_W}</array>{_W}</value>",
        ),
        ("OPEN_ARRAY", rf"{_W}<array>{_W}<data>"),
        ("STR", rf"{_W}<string>({chars}{{0,{_SHORT}}}+)</string>{_W}</value>"),
        (
            "INT",
            rf"{_W}<(?P<ITYPE>int|i4|i8|ex:i8)>{_W}([-+]?[0-9]{{1,19}}+){_W}</(?P=ITYPE)>"
            rf"{_W}</value>",
        ),
        ("UNTYPED", rf"({chars}{{0,{_SHORT}}}+)</value>"),
        # Any other string's text runs to the next "<" (see Decoder._runs).
        ("STRING_RUN", rf"{_W}<string>"),
        ("DOUBLE", rf"{_W}<double>{_W}([^<&\s]++){_W}</double>{_W}</value>"),
        ("PLAIN_STRUCT", rf"{_W}<struct>{_W}(?:{plain_member})*+</struct>{_W}</value>"),
        # A struct's members are then read by Decoder._record_members where it can.
        ("OPEN_STRUCT", rf"{_W}<struct>"),
        ("BOOLEAN", rf"{_W}<boolean>{_W}([01]){_W}</boolean>{_W}</value>"),
        ("NIL", rf"{_W}<(?:nil|ex:nil){_W}/>{_W}</value>"),
        ("BASE64", rf"{_W}<base64>"),
        ("DATETIME", rf"{_W}<dateTime\.iso8601>({date})</dateTime\.iso8601>{_W}</value>"),
        ("VALUE_RUN", r"(?=[^<])"),
    ]
    others = [
        ("CLOSE_ARRAY", rf"</data>{_W}</array>{_W}</value>"),
        ("MEMBER", rf"<member>{_W}<name>({text})</name>"),
        ("END_MEMBER", r"</member>"),
        ("CLOSE_STRUCT", rf"</struct>{_W}</value>"),
        ("OPEN_RESPONSE", rf"<methodResponse>{_W}<params>{_W}<param>"),
        ("CLOSE_RESPONSE", rf"</param>{_W}</params>{_W}</methodResponse>{_W}"),
    ]
    fast = rf"{_W}(?:<value>(?:{_alternatives(after_value)})|{_alternatives(others)})"
    # One record member, as xapi writes its records: a plain text, a set or a map of
    # plain texts, or a scalar that cannot nest. Its last group says which (see
    # _MEMBER_TEXT and the others below; a nil has none after the name).
    member = (
        rf"{_W}<member>{_W}<name>({plain})</name>{_W}<value>(?:({plain})</value>|{_W}(?:"
        rf"<string>({plain})</string>"
        rf"|<array>{_W}<data>{_W}((?:{plain_value}{_W})*+)</data>{_W}</array>"
        rf"|<struct>{_W}((?:{plain_member})*+)</struct>"
        r"|<boolean>([01])</boolean>|<double>([^<&\s]++)</double>"
        rf"|<dateTime\.iso8601>({date})</dateTime\.iso8601>"
        r"|<int>([-+]?[0-9]{1,9}+)</int>|<i4>([-+]?[0-9]{1,9}+)</i4>"
        rf"|<(?:nil|ex:nil){_W}/>){_W}</value>){_W}</member>"
    )
    # The texts of a plain array, and the (name, text) pairs of a plain struct (the match
    # is known well formed, so the optional <string> only tells a typed text from an
    # untyped one).
    texts = rf"<value>(?:{_W}<string>)?({plain})"
    pairs = rf"<name>({plain})</name>{_W}<value>(?:{_W}<string>)?({plain})"
    one = re.compile(member)
    # A scanner's matches each start where the last ended (finditer's, anchored); typeshed
    # does not list Pattern.scanner, which CPython has had since 1.5.
    members = cast(Any, one).scanner
    return _Expressions(
        re.compile(fast), one, members, re.compile(texts).findall, re.compile(pairs).findall
    )


def _alternatives(items: list[tuple[str, str]]) -> str:
    return "|".join(f"(?P<{name}>{body})" for name, body in items)


_STRICT: Final = _expressions(False)
# Compiled with the module, not in a process's first clean answer, which it cost some
# 10 ms (bench_calls --startup).
_CLEAN: Final = _expressions(True)
_G = _STRICT.fast.groupindex
G_STR: Final = _G["STR"]
G_INT: Final = _G["INT"]
G_OPEN_ARRAY: Final = _G["OPEN_ARRAY"]
G_CLOSE_ARRAY: Final = _G["CLOSE_ARRAY"]
G_UNTYPED: Final = _G["UNTYPED"]
G_PAIR: Final = _G["PAIR"]
G_STRING_RUN: Final = _G["STRING_RUN"]
G_VALUE_RUN: Final = _G["VALUE_RUN"]
G_BASE64: Final = _G["BASE64"]
G_DOUBLE: Final = _G["DOUBLE"]
G_MEMBER: Final = _G["MEMBER"]
G_PLAIN_ARRAY: Final = _G["PLAIN_ARRAY"]
G_PLAIN_STRUCT: Final = _G["PLAIN_STRUCT"]
G_END_MEMBER: Final = _G["END_MEMBER"]
G_DATETIME: Final = _G["DATETIME"]
G_OPEN_STRUCT: Final = _G["OPEN_STRUCT"]
G_CLOSE_STRUCT: Final = _G["CLOSE_STRUCT"]
G_BOOLEAN: Final = _G["BOOLEAN"]
G_NIL: Final = _G["NIL"]
G_OPEN_RESPONSE: Final = _G["OPEN_RESPONSE"]
G_CLOSE_RESPONSE: Final = _G["CLOSE_RESPONSE"]
# The last group of a record member's match (see _Expressions.member).
_MEMBER_NIL, _MEMBER_TEXT, _MEMBER_STRING, _MEMBER_SET, _MEMBER_MAP = 1, 2, 3, 4, 5
# What ends the text of a *_RUN alternative, at the "<" after it.
_RUN_END: Final = {
    G_STRING_RUN: re.compile(rf"</string>{_W}</value>"),
    G_BASE64: re.compile(rf"</base64>{_W}</value>"),
    G_VALUE_RUN: re.compile("</value>"),
}
# The opening of a *_RUN alternative after another in an array (see Decoder._runs), and
# which one it is by its last group.
_NEXT_RUN: Final = re.compile(rf"{_W}<value>(?:{_W}(<string>)|{_W}(<base64>)|(?=[^<]))")
_NEXT_KIND: Final = {1: G_STRING_RUN, 2: G_BASE64, None: G_VALUE_RUN}

# --- a whole small answer ------------------------------------------------------------
# A response of one plain scalar, as xend writes most small answers, matched on its bytes
# in one go (see Decoder._small). Anything else, or any doubt, goes the usual way.
_SMALL_MAX: Final = 1024
_WB = rb"[ \t\r\n]*+"
_SMALL_DOC = re.compile(
    rb"(?:<\?xml version=(['\"])1\.0\1(?: encoding=\1(?:UTF|utf)-8\1)?\?>)?"
    rb"%(w)s<methodResponse>%(w)s<params>%(w)s<param>%(w)s<value>(?:"
    rb"%(w)s<boolean>([01])</boolean>%(w)s"
    rb"|%(w)s(<(?:nil|ex:nil)/>)%(w)s"
    rb"|%(w)s<(int|i4)>([-+]?[0-9]{1,9})</\4>%(w)s"
    rb"|%(w)s<string>([^<&\r]*+)</string>%(w)s"
    rb"|%(w)s<double>([^<&\s]++)</double>%(w)s"
    rb"|([^<&\r]*+))"
    rb"</value>%(w)s</param>%(w)s</params>%(w)s</methodResponse>%(w)s" % {b"w": _WB}
)
_SMALL_BOOLEAN, _SMALL_NIL, _SMALL_INT, _SMALL_STRING, _SMALL_DOUBLE, _SMALL_TEXT = (
    2,
    3,
    5,
    6,
    7,
    8,
)

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
_SPACE_CHARS = " \t\r\n"

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

_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

Root = Literal["methodResponse", "methodCall"]

# The XML declarations met in practice, all meaning UTF-8: no regular expression for them.
_PLAIN_DECLS: Final = frozenset(
    f"<?xml version={q}1.0{q}{rest}?>".encode()
    for q in "'\""
    for rest in ("", f" encoding={q}UTF-8{q}", f" encoding={q}utf-8{q}")
)


def _encoding_for(name: str) -> str | None:
    """The codec name for a declared encoding we accept, or None."""
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec in ("utf-8", "ascii", "latin-1") or codec.startswith(("iso8859-", "cp125")):
        return codec
    return None


# The references met in practice and their characters, "&amp;" last: what it yields is
# final text, where an earlier replacement could take "&amp;lt;" for "<".
_COMMON_REFS: Final = (
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&apos;", "'"),
    ("&#13;", "\r"),
    ("&#10;", "\n"),
    ("&#9;", "\t"),
    ("&amp;", "&"),
)


def _expand(text: str) -> str:
    """``text`` with its references replaced; refuses an ``&`` that starts none.

    When every ``&`` starts one of the common references (each ``&`` can start at most
    one, so their counts add up to the count of ``&``), a chain of ``str.replace`` does
    it all in C; otherwise each reference is looked up over a ``re.split``.
    """
    counts = [text.count(ref) for ref, _ in _COMMON_REFS]
    if sum(counts) == text.count("&"):
        for (ref, char), n in zip(_COMMON_REFS, counts, strict=True):
            if n:
                text = text.replace(ref, char)
        return text
    pieces = _ENTITY.split(text)
    for i in range(1, len(pieces), 5):
        pieces[i] = _char_of(*pieces[i : i + 4])
        pieces[i + 1 : i + 4] = ("", "", "")
    return "".join(pieces)


def _char_of(dec: str | None, hexa: str | None, named: str | None, bare: str | None) -> str:
    """The character of one reference, split by ``_ENTITY`` into its groups."""
    if bare is not None:
        raise _Malformed("'&' that starts no known entity or character reference")
    if named is not None:
        return _PREDEFINED[named]
    code = int(dec) if dec is not None else int(hexa or "", 16)
    if code > 0x10FFFF:
        raise _Malformed("character reference beyond U+10FFFF")
    char = chr(code)
    if NOT_XML_CHAR.match(char):
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
    if "]" in raw and "]]>" in raw:  # one memchr first: the three-character search is slow
        raise _Malformed("']]>' in character data")
    text = _newlines(raw)
    return _expand(text) if "&" in text else text


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
    """Base64 text to bytes: whitespace (the stdlib writes a newline every 76 characters)
    deleted by ``bytes.translate``, then decoded strictly."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise _Malformed("bad base64: a character outside ASCII") from None
    try:
        compact = data.replace(b"\n", b"")  # the stdlib's only spacing; the rest is rare
        if b" " in compact or b"\t" in compact or b"\r" in compact:
            compact = compact.translate(None, b" \t\r")
        return binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise _Malformed(f"bad base64: {exc}") from None


# A record member's scalar from its text, by the last group of its match (see
# _Expressions.member; texts, sets, maps and nil are read in Decoder._record_members).
_MEMBER_SCALAR: Final[dict[int, Callable[[str], Any]]] = {
    6: lambda text: text == "1",
    7: _to_double,
    8: _to_datetime,
    9: int,
    10: int,
}


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
    as they are. ``int_text`` says the ``leaf`` spells an int as ``str(int)`` does, so
    the decoder may hand over an int's digits as they stand (when they are that spelling)
    instead of calling it: a call fewer per number of an SXP pair such as ``["domid", 1]``.
    """

    # Defaults for the scalar state, which most documents never change: one attribute
    # set fewer per decoder (a small answer's decoder lives a few microseconds).
    root: str | None = None
    _methodname: str | None = None
    _fault: Any = None
    _is_fault = False
    _int_text = False
    _fault_offset: int | None = None
    _count = 0
    _depth = 0
    _text_len = 0
    _fed = 0  # bytes fed so far
    _head = b""  # bytes held back until the encoding is known
    _encoding: str | None = None  # known once the byte order mark or declaration is read
    _pending = b""  # the bytes of a UTF-8 character a chunk cut
    _force_utf8 = False
    _buf = ""  # the unfinished token
    _consumed = 0  # bytes of text already dropped from _buf
    _special: str | None = None  # "cdata", "cdata-space" or "comment" while one is open
    _risky = False  # whether the buffer being parsed holds "]]>"
    _ex = _STRICT  # the fast expressions for the buffer being parsed (see _expressions)
    _error: ProtocolError | None = None
    _closed = False

    def __init__(
        self,
        limits: Limits = Limits(),  # noqa: B008 (frozen, shared)
        *,
        expect: Root = "methodResponse",
        leaf: Callable[[Any], Any] | None = None,
        int_text: bool = False,
    ) -> None:
        if expect not in _ROOT_KIND:
            raise ValueError(f"expect must be 'methodResponse' or 'methodCall', not {expect!r}")
        self.limits = limits
        self.expect = expect
        self._leaf = leaf
        if int_text:
            self._int_text = True
        self._kinds: list[int] = [K_DOC]
        self._objs: list[Any] = [None]
        self._params: list[Any] = []

    # --- public ---------------------------------------------------------------------
    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Decode as much of ``chunk`` as can be, keeping only an unfinished token."""
        self._check_usable("feed")
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"Decoder.feed() takes bytes, not {type(chunk).__name__}")
        if len(chunk) <= _WINDOW or isinstance(chunk, memoryview):
            self._guarded(chunk, final=False)
            return
        # A large chunk is read a window at a time, as if streamed: the text of each stays
        # in the processor's cache while it is checked, decoded and parsed.
        view = memoryview(chunk)
        for start in range(0, len(view), _WINDOW):
            self._guarded(view[start : start + _WINDOW], final=False)

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
        start = self._fed
        self._fed += len(chunk)
        if self._fed > self.limits.max_bytes:
            raise LimitExceeded("max_bytes", self.limits.max_bytes, offset=self.limits.max_bytes)
        if self._encoding is None:
            if not self._head and len(chunk) <= _SMALL_MAX and self._small(chunk):
                return
            self._head += chunk
            if not self._sniff(final):
                return
            chunk, self._head = self._head, b""
            start = self._consumed
            text = self._decode(chunk, final, skip=start) if len(chunk) > start or final else ""
        else:
            text = self._decode(chunk, final, start=start) if chunk or self._pending else ""
        if text:
            self._parse(self._buf + text if self._buf else text, final)
        elif final and self._buf:
            self._parse(self._buf, final)
        if final:
            self._finish()

    def _small(self, chunk: bytes | bytearray) -> bool:
        """Decode a whole one-scalar response arriving as one chunk, by one match on its
        bytes, and end in the state the general path would; False, with nothing changed,
        for anything else (a doubt included: the general path then says what is wrong).
        """
        m = _SMALL_DOC.fullmatch(chunk)
        if m is None or self.expect != "methodResponse" or has_control(chunk):
            return False
        g = m.lastindex or _SMALL_TEXT
        try:
            if g == _SMALL_BOOLEAN:
                v: Any = m[g] == b"1"
            elif g == _SMALL_NIL:
                v = None
            elif g == _SMALL_INT:
                v = int(m[g])
            elif g == _SMALL_DOUBLE:
                v = _to_double(m[g].decode("ascii"))
            else:
                v = m[g].decode("utf-8")
                if len(v) > self.limits.max_string or "\ufffe" in v or "\uffff" in v:
                    return False
                if "]" in v and "]]>" in v:  # XML forbids it in text
                    return False
        except (UnicodeDecodeError, _Malformed):
            return False
        self._encoding = "utf-8"
        self.root = "methodResponse"
        self._kinds[-1] = K_END
        self._params.append(v)
        self._count = 1
        self._consumed = len(chunk)
        return True

    def _decode(
        self, chunk: bytes | bytearray, final: bool, *, start: int = 0, skip: int = 0
    ) -> str:
        """``chunk[skip:]`` (at byte ``start`` of the input) as text, checked once for the
        characters XML forbids: the C0 controls by ``has_control``, U+FFFE and U+FFFF by
        a search only when the text is not ASCII.

        UTF-8 goes through the C decoder directly, keeping the bytes of a character cut
        by the chunk's end for the next; the other encodings accepted are single-byte.
        ``skip`` passes over a first chunk's byte order mark and declaration (which hold
        no control) without copying the chunk.
        """
        forbidden = has_control(chunk)
        data: bytes | bytearray | memoryview = chunk
        base = start  # the input offset of data[0]
        if self._pending:
            data = self._pending + chunk
            base -= len(self._pending)
        elif skip:
            data = memoryview(chunk)[skip:]
            base = skip
        try:
            if self._encoding == "utf-8":
                text, used = codecs.utf_8_decode(data, "strict", final)
                self._pending = bytes(data[used:])
            else:
                text = str(data, self._encoding or "")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                f"bytes not valid {self._encoding}: {exc.reason}", offset=base + exc.start
            ) from None
        if forbidden or (not text.isascii() and ("\ufffe" in text or "\uffff" in text)):
            bad = NOT_XML_CHAR.search(text)
            assert bad is not None
            base = self._offset(self._buf, len(self._buf))
            raise ProtocolError(
                f"character U+{ord(bad.group()):04X}, which XML forbids",
                offset=base + self._bytelen(text[: bad.start()]),
            )
        return text

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
            if body[: end + 2] not in _PLAIN_DECLS:
                encoding = self._declared(body[: end + 2], skip)
            skip += end + 2
        self._encoding = encoding
        self._consumed = skip
        return True

    def _declared(self, decl: bytes, skip: int) -> str:
        """The encoding an XML declaration names (UTF-8 when it names none)."""
        match = _XML_DECL.fullmatch(decl)
        if match is None:
            raise ProtocolError("malformed XML declaration", offset=skip)
        if match.group(3) is None or self._force_utf8:
            return "utf-8"
        name = match.group(3).decode("ascii")
        found = _encoding_for(name)
        if found is None or (skip and found != "utf-8"):
            raise ProtocolError(f"unsupported encoding {name!r}", offset=skip)
        return found

    def _bytelen(self, text: str, stop: int | None = None) -> int:
        """The bytes ``text[:stop]`` took in the input (``str.isascii`` is O(1): ASCII
        text is not sliced)."""
        if self._encoding != "utf-8" or text.isascii():
            return len(text) if stop is None else stop
        return len(text[:stop].encode("utf-8", "surrogatepass"))

    def _offset(self, buf: str, pos: int) -> int:
        """The byte offset of ``buf[pos]`` in the input."""
        return self._consumed + self._bytelen(buf, pos)

    def _error_at(self, buf: str, pos: int, message: str) -> ProtocolError:
        return ProtocolError(message, offset=self._offset(buf, pos))

    # --- the scanner ----------------------------------------------------------------
    def _parse(self, buf: str, final: bool = False) -> None:
        """Consume ``buf`` as far as complete tokens go; keep the rest in ``_buf``.

        Fast matches do most of the work; where none applies, ``_step`` takes one token
        by the general path and the fast matches go on after it. In the second half of
        the buffer, a construct the fast expression does not take (a string or a record,
        most likely cut by the chunk's end) waits for the next chunk instead of going
        element by element: at most ``_DEFER`` characters and half the buffer, so all
        parses together read at most twice the input (linear time). Not in a buffer of
        under ``_DEFER_FROM`` characters (an invalid small answer fails at once, even if
        the rest never comes), not before the root element (a body that is no XML-RPC
        fails at once) and not at the end.
        """
        pos = 0 if self._special is None else self._continue_special(buf, 0)
        end = len(buf) if self._special is None else pos
        defer_from = end if final or end < _DEFER_FROM else max(end // 2, end - _DEFER)
        # XML forbids "]]>" in text; rare, so checked per match only when in the buffer.
        risky = self._risky = "]" in buf and "]]>" in buf
        self._ex = _CLEAN if "&" not in buf and "\r" not in buf else _STRICT
        deferred = False
        while pos < end:
            pos = self._fast(buf, pos, end, risky)
            if pos >= end:
                break
            if pos > defer_from and self._kinds[-1] != K_DOC:
                deferred = True
                break
            new = self._step(buf, pos)
            if new < 0:
                break
            pos = new
            if self._special is not None:
                break
        if self._count > self.limits.max_elements:
            raise self._limit("max_elements", buf, pos)
        if pos < len(buf):
            rest = buf[pos:]
            if len(rest) > _MAX_TAG and self._special is None and not deferred:
                raise self._error_at(buf, pos, f"unterminated tag longer than {_MAX_TAG}")
        else:
            rest = ""
        self._consumed += self._bytelen(buf, pos) if pos else 0
        self._buf = rest

    def _fast(self, buf: str, pos: int, end: int, risky: bool) -> int:
        """Decode by fast matches from ``pos``; return where the general path must go on.

        The commonest values (a short string, an int, an SXP pair) are taken here, the
        other scalars by a method of ``_SCALARS`` (the value and the position after it)
        and containers and the envelope by one of ``_STRUCTURE`` (the position after
        it); either gives -1 to leave its construct to the general path untouched.
        """
        kinds = self._kinds
        objs = self._objs
        match = self._ex.fast.match
        scalars = _SCALARS
        if kinds[-1] == K_STRUCT:  # resuming in a struct: its record members first
            pos = self._record_members(buf, pos)
        check_len = end > self.limits.max_string
        k = kinds[-1]
        top = objs[-1]
        leaf = self._leaf
        count = self._count
        try:
            while pos < end:
                m = match(buf, pos)
                if m is None:
                    break
                g = m.lastindex or 0
                if risky and "]]>" in m[0]:  # markup never holds it: text does
                    raise self._error_at(buf, m.start(), "']]>' in character data")
                stop = m.end()
                if g == G_STR or g == G_UNTYPED:  # noqa: SIM109 (no tuple per value)
                    v: Any = m[g + 1]
                elif g == G_PAIR:
                    v = self._pair(m, buf, leaf)
                    count += 1
                elif g == G_INT:
                    digits = m[g + 2]
                    v = int(digits) if len(digits) < 10 else self._wide_int(m, buf)
                elif g in scalars:
                    v, stop = scalars[g](self, m, buf)
                    if stop < 0:
                        break
                else:
                    self._count = count
                    stop = _STRUCTURE[g](self, m, buf)
                    if stop < 0:
                        break
                    k = kinds[-1]
                    top = objs[-1]
                    leaf = self._leaf
                    count = self._count
                    pos = stop
                    continue
                if check_len and len(m[0]) > self.limits.max_string:
                    self._check_length(m, buf)
                if k == K_DATA:  # a scalar value: to the open array, member, param or fault
                    if leaf is not None and g != G_PAIR and type(v) is not str:
                        v = leaf(v)
                    top.append(v)
                elif k in _VALUE_PARENTS:
                    self._deliver(v)
                    k = kinds[-1]
                    top = objs[-1]
                else:
                    raise self._unexpected(buf, m.start(), "<value>", k)
                count += 1
                pos = stop
        finally:
            self._count = count
        return pos

    def _pair(self, m: re.Match[str], buf: str, leaf: Callable[[Any], Any] | None) -> list[Any]:
        """Two scalars in an array in one match: the whole life of a collapsed frame."""
        if self._depth >= self.limits.max_depth:
            raise self._limit("max_depth", buf, m.start())
        g = G_PAIR
        second = m[g + 2]
        if second is None:
            digits = m[g + 4]
            if digits is None:
                second = self._double(m, g + 5, buf)
            elif (
                leaf is not None and self._int_text and (digits[0] in "123456789" or digits == "0")
            ):
                return [m[g + 1], digits]  # str(int(digits)), what leaf would make of it
            else:
                second = int(digits)
            if leaf is not None:
                second = leaf(second)
        return [m[g + 1], second]

    def _wide_int(self, m: re.Match[str], buf: str) -> int:
        """An int of ten digits or more: checked against its tag's range."""
        g = G_INT
        try:
            return _to_int(m[g + 2], m[g + 1])
        except _Malformed as exc:  # at its end tag, as the general path has it
            raise self._error_at(buf, buf.index("<", m.end(g + 2)), str(exc)) from None

    def _double(self, m: re.Match[str], group: int, buf: str) -> float:
        try:
            return _to_double(m[group])
        except _Malformed as exc:  # at its end tag, as the general path has it
            raise self._error_at(buf, buf.index("<", m.end(group)), str(exc)) from None

    def _check_length(self, m: re.Match[str], buf: str) -> None:
        """Refuse a fast match's text beyond ``max_string`` (a pair: both texts together)."""
        g = m.lastindex
        text = m[0] if g == G_PAIR else m[(g or 0) + 1]
        if len(text) > self.limits.max_string:
            raise self._limit("max_string", buf, m.start())

    def _simple(self, m: re.Match[str], buf: str) -> tuple[Any, int]:
        """A double, boolean, nil or dateTime value in one match."""
        g = m.lastindex or 0
        if g == G_DOUBLE:
            return self._double(m, g + 1, buf), m.end()
        if g == G_DATETIME:
            try:
                return _to_datetime(m[g + 1]), m.end()
            except _Malformed as exc:  # at its end tag, as the general path has it
                raise self._error_at(buf, m.end(g + 1), str(exc)) from None
        return (m[g + 1] == "1" if g == G_BOOLEAN else None), m.end()

    def _runs(self, m: re.Match[str], buf: str) -> int:
        """A string, base64 or untyped value whose text ``str.find`` delimits, delivered,
        and in an array the values of that kind after it, with no return to the fast
        expression between them: ``_NEXT_RUN`` takes each opening.

        -1 (to the general path) when the first one's text is not all in the buffer or
        holds markup (a comment, CDATA): text is never scanned by a regular expression here.
        """
        g = m.lastindex or 0
        v, stop = self._delimited(buf, m.end(), g)
        k = self._kinds[-1]
        if stop < 0:
            return -1
        if k not in _VALUE_PARENTS:
            raise self._unexpected(buf, m.start(g), "<value>", k)
        self._count += 1
        self._deliver(v)
        if k != K_DATA:
            return stop
        following = _NEXT_RUN.match
        while (n := following(buf, stop)) is not None:
            v, end = self._delimited(buf, n.end(), _NEXT_KIND[n.lastindex])
            if end < 0:
                break
            self._count += 1
            self._deliver(v)
            stop = end
        return stop

    def _delimited(self, buf: str, start: int, g: int) -> tuple[Any, int]:
        """The value of a *_RUN alternative ``g`` whose text starts at ``buf[start]``, and
        the position after it; -1 if the text is not all in the buffer or holds markup."""
        stop = buf.find("<", start)
        close = _RUN_END[g].match(buf, stop) if stop >= 0 else None
        if close is None:
            return None, -1
        raw = buf[start:stop]
        if len(raw) > self.limits.max_string:
            raise self._limit("max_string", buf, start)
        try:
            if "&" in raw or "\r" in raw or (self._risky and "]" in raw):
                raw = _raw_text(raw)
            return (_to_base64(raw) if g == G_BASE64 else raw), close.end()
        except _Malformed as exc:  # at its end tag, as the general path has it
            raise self._error_at(buf, stop, str(exc)) from None

    def _plain(self, m: re.Match[str], buf: str) -> int:
        """An array or struct of plain texts in one match: its list or dict delivered."""
        g = m.lastindex or 0
        start = m.start(g)
        k = self._kinds[-1]
        if k not in _VALUE_PARENTS:
            raise self._unexpected(buf, start, "<value>", k)
        if self._depth >= self.limits.max_depth:
            raise self._limit("max_depth", buf, start)
        if g == G_PLAIN_ARRAY:
            texts = self._ex.texts(buf, start, m.end())
            self._check_plain(texts, buf, start, m.end())
            self._count += 1 + len(texts)
            self._deliver(texts)
        else:
            pairs = self._plain_pairs(buf, start, m.end())
            self._count += 1 + len(pairs)
            self._deliver(dict(pairs))
        return m.end()

    def _record_members(self, buf: str, pos: int) -> int:
        """Read the record members from ``pos`` into the open struct, one match each (see
        _Expressions.member), and return the position after the last; the general path
        goes on from there (a member of another kind, the struct's end, a cut member).

        Taken only where the general path would take them alike: none beyond the depth
        limit or under a ``max_string`` shorter than a plain text may be, none holding
        ``]]>``, none with a bad double or date (the general path says what and where).
        """
        limits = self.limits
        if self._depth >= limits.max_depth or limits.max_string < _PLAIN_MAX:
            return pos
        ex = self._ex
        texts, pairs, scalar = ex.texts, ex.pairs, _MEMBER_SCALAR
        into = self._objs[-1]
        # XML forbids "]]>" in text: a member holding it is left to the general path.
        end = buf.find("]]>", pos) if self._risky else -1
        scanner = ex.members(buf, pos, len(buf) if end < 0 else end)
        m: re.Match[str] | None = None
        values = taken = 0  # the sets' and maps' items; the members (each one value)
        try:
            for taken, m in enumerate(iter(scanner.match, None), 1):  # noqa: B007 (counted)
                g = m.lastindex or _MEMBER_NIL  # the name's group always matches
                if g == _MEMBER_TEXT or g == _MEMBER_STRING:  # noqa: SIM109 (no tuple)
                    into[m[1]] = m[g]
                elif g == _MEMBER_SET:
                    items = texts(m[g])
                    values += len(items)
                    into[m[1]] = items
                elif g == _MEMBER_MAP:
                    found = pairs(m[g])
                    values += len(found)
                    into[m[1]] = dict(found)
                elif g == _MEMBER_NIL:
                    into[m[1]] = None
                else:
                    into[m[1]] = scalar[g](m[g])
        except _Malformed:
            assert m is not None
            self._count += values + taken - 1
            return m.start()
        self._count += values + taken
        return pos if m is None else m.end()

    def _plain_pairs(self, buf: str, start: int, end: int) -> list[tuple[str, str]]:
        """The (name, text) pairs of plain members in ``buf[start:end]``, checked."""
        pairs: list[tuple[str, str]] = self._ex.pairs(buf, start, end)
        if end - start > self.limits.max_string:
            self._check_plain([text for pair in pairs for text in pair], buf, start, end)
        return pairs

    def _check_plain(self, texts: list[str], buf: str, start: int, end: int) -> None:
        """Refuse a text beyond ``max_string`` among those of one plain match (none can be
        while the whole match is shorter)."""
        most = self.limits.max_string
        if end - start > most and any(len(text) > most for text in texts):
            raise self._limit("max_string", buf, start)

    def _open(self, m: re.Match[str], buf: str) -> int:
        """``<value><array><data>`` or ``<value><struct>``: one collapsed frame for them."""
        g = m.lastindex or 0
        k = self._kinds[-1]
        if k not in _VALUE_PARENTS:
            raise self._unexpected(buf, m.start(g), "<value>", k)
        self._count += 1
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise self._limit("max_depth", buf, m.start())
        # The collapsed frame's expansion, when its end tags come one by one: see _end.
        if g == G_OPEN_ARRAY:
            self._kinds.append(K_DATA)
            self._objs.append([])
            return m.end()
        self._kinds.append(K_STRUCT)
        self._objs.append({})
        return self._record_members(buf, m.end())

    def _close(self, m: re.Match[str], buf: str) -> int:
        """``</data></array></value>`` or ``</struct></value>``: the container delivered."""
        g = m.lastindex or 0
        if g == G_CLOSE_ARRAY:
            want, expanded, frames = K_DATA, K_ARRAY_DONE, 3
        else:
            want, expanded, frames = K_STRUCT, K_VALUE_TYPED, 2
        kinds = self._kinds
        objs = self._objs
        k = kinds[-1]
        if k != want:
            raise self._unexpected(buf, m.start(g), f"</{_TAG_OF[want]}>", k)
        v = objs[-1]
        if kinds[-2] == expanded:  # opened element by element
            del kinds[-frames:]
            del objs[-frames:]
        else:
            kinds.pop()
            objs.pop()
        self._depth -= 1
        self._deliver(v)
        return m.end()

    def _member(self, m: re.Match[str], buf: str) -> int:
        """``<member><name>key</name>`` (the key kept for its value) or ``</member>`` (and
        the record members after it)."""
        g = m.lastindex or 0
        kinds = self._kinds
        k = kinds[-1]
        if g == G_END_MEMBER:
            if k != K_MEMBER_DONE:
                raise self._unexpected(buf, m.start(g), "</member>", k)
            kinds.pop()
            self._objs.pop()
            return self._record_members(buf, m.end())
        if k != K_STRUCT:
            raise self._unexpected(buf, m.start(g), "<member>", k)
        key = raw = m[g + 1]
        if len(raw) > self.limits.max_string:  # counted as written, as _add_text does
            raise self._limit("max_string", buf, m.start())
        if "\r" in raw or "&" in raw:
            try:
                key = _raw_text(raw)
            except _Malformed as exc:
                raise self._error_at(buf, m.start(g), str(exc)) from None
        kinds.append(K_MEMBER_VALUE)
        self._objs.append(key)
        return m.end()

    def _envelope(self, m: re.Match[str], buf: str) -> int:
        """A response's opening up to its ``<param>``, or its closing from ``</param>``.

        The same stack operations as the general path's, in one step; anything else
        (a request, a fault, more params) is left to the general path.
        """
        kinds = self._kinds
        if m.lastindex == G_OPEN_RESPONSE:
            if kinds[-1] != K_DOC or self.expect != "methodResponse":
                return -1
            self.root = "methodResponse"
            kinds[-1] = K_END
            kinds += (K_RESP_DONE, K_PARAMS, K_PARAM)
            self._objs += (None, None, self._params)
            return m.end()
        if kinds != [K_END, K_RESP_DONE, K_PARAMS, K_PARAM_DONE]:
            return -1
        del kinds[1:]
        del self._objs[1:]
        return m.end()

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
        """A start tag (``empty`` for ``<name/>``) by the general path: what it may be
        depends on the element it opens in, the top of the stack."""
        k = self._kinds[-1]
        if k in _VALUE_PARENTS:
            self._start_value(name, empty, buf, pos)
        elif k == K_VALUE:
            self._start_typed(name, empty, buf, pos)
        elif k in (K_ARRAY, K_STRUCT, K_MEMBER) and name == _CHILD_OF[k]:
            self._start_child(k, empty, buf, pos)
        else:
            self._start_envelope(name, empty, buf, pos)

    def _start_value(self, name: str, empty: bool, buf: str, pos: int) -> None:
        """A ``<value>`` in a param, member, array or fault."""
        if name != "value":
            raise self._unexpected(buf, pos, f"<{name}>", self._kinds[-1])
        self._count += 1
        if empty:
            self._deliver("")
            return
        self._kinds.append(K_VALUE)
        self._objs.append([])
        self._text_len = 0

    def _start_typed(self, name: str, empty: bool, buf: str, pos: int) -> None:
        """The typed child of a ``<value>``: a scalar's element, an array or a struct."""
        kinds = self._kinds
        objs = self._objs
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
        if name != "array" and name != "struct":
            raise self._error_at(buf, pos, f"unknown value type <{name}>")
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

    def _start_child(self, k: int, empty: bool, buf: str, pos: int) -> None:
        """``<data>`` in an array, ``<member>`` in a struct, ``<name>`` in a member."""
        kinds = self._kinds
        objs = self._objs
        if k == K_ARRAY:
            kinds[-1] = K_ARRAY_DONE
            if not empty:
                kinds.append(K_DATA)
                objs.append(objs[-1])
        elif k == K_STRUCT:
            if empty:
                raise self._error_at(buf, pos, "<member/> without name and value")
            kinds.append(K_MEMBER)
            objs.append(None)
        else:
            kinds[-1] = K_MEMBER_VALUE
            if empty:
                objs[-1] = ""
                return
            kinds.append(K_NAME)
            objs.append([])
            self._text_len = 0

    def _start_envelope(self, name: str, empty: bool, buf: str, pos: int) -> None:
        """The root element and what frames the values: methodName, params, param, fault."""
        kinds = self._kinds
        objs = self._objs
        k = kinds[-1]
        if k == K_DOC:
            self._start_root(name, empty, buf, pos)
        elif k == K_PARAMS and name == "param":
            if empty:
                raise self._error_at(buf, pos, "<param/> without a value")
            kinds.append(K_PARAM)
            objs.append(self._params)
        elif k == K_CALL_NAME and name == "methodName":
            kinds[-1] = K_CALL_PARAMS
            if empty:
                raise self._error_at(buf, pos, "empty <methodName/>")
            kinds.append(K_METHODNAME)
            objs.append([])
            self._text_len = 0
        elif k in (K_CALL_PARAMS, K_RESP) and name == "params":
            kinds[-1] = K_CALL_DONE if k == K_CALL_PARAMS else K_RESP_DONE
            if not empty:
                kinds.append(K_PARAMS)
                objs.append(None)
        elif k == K_RESP and name == "fault":
            kinds[-1] = K_RESP_DONE
            self._is_fault = True
            self._leaf = None
            if empty:
                raise self._error_at(buf, pos, "<fault/> without a value")
            kinds.append(K_FAULT)
            objs.append(None)
        else:
            raise self._unexpected(buf, pos, f"<{name}>", k)

    def _start_root(self, name: str, empty: bool, buf: str, pos: int) -> None:
        """The root element: the one ``expect`` names."""
        root_kind = _ROOT_KIND.get(name)
        if root_kind is None:
            raise self._error_at(buf, pos, f"not an XML-RPC document (root element <{name}>)")
        if name != self.expect:
            raise self._error_at(buf, pos, f"<{name}> where a <{self.expect}> belongs")
        if empty:
            raise self._error_at(buf, pos, f"empty <{name}/>")
        self.root = name
        self._kinds[-1] = K_END
        self._kinds.append(root_kind)
        self._objs.append(None)

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
        """An end tag by the general path: the element on top finishes, or is refused."""
        kinds = self._kinds
        objs = self._objs
        k = kinds[-1]
        expected = _TAG_OF.get(k)
        if name != expected:
            if expected is None:
                raise self._error_at(buf, pos, f"unexpected </{name}> outside the root element")
            raise self._error_at(buf, pos, f"mismatched </{name}>, expected </{expected}>")
        if k in _TEXT_KINDS or k in (K_NIL, K_EX_NIL, K_VALUE_DONE):
            self._end_text(k, buf, pos)
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
        else:
            raise self._error_at(buf, pos, _UNFINISHED.get(k, f"</{name}> before its value"))

    def _end_text(self, k: int, buf: str, pos: int) -> None:
        """The end of a ``<value>``, a scalar's element, a ``<name>`` or ``<methodName>``."""
        kinds = self._kinds
        objs = self._objs
        if k == K_VALUE_DONE:
            kinds.pop()
            self._deliver(objs.pop())
            return
        parts = objs.pop() or []
        kinds.pop()
        if k in (K_NAME, K_METHODNAME, K_VALUE):
            try:
                text = _text_of(parts) if parts else ""
            except _Malformed as exc:
                raise self._error_at(buf, pos, str(exc)) from None
            if k == K_VALUE:
                self._deliver(text)
            elif k == K_NAME:
                objs[-1] = text
            else:
                self._methodname = text
            return
        self._finish_scalar(k, parts, buf, pos)

    # --- the end --------------------------------------------------------------------
    def _finish(self) -> None:
        buf = self._buf
        if self._encoding is None:
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


# The methods that take the fast expression's alternatives other than the commonest:
# scalars give (value, position after it), the rest the position; -1 declines.
_SCALARS: Final[dict[int, Callable[[Decoder, re.Match[str], str], tuple[Any, int]]]] = {
    G_DOUBLE: Decoder._simple,
    G_BOOLEAN: Decoder._simple,
    G_NIL: Decoder._simple,
    G_DATETIME: Decoder._simple,
}
_STRUCTURE: Final[dict[int, Callable[[Decoder, re.Match[str], str], int]]] = {
    G_STRING_RUN: Decoder._runs,
    G_BASE64: Decoder._runs,
    G_VALUE_RUN: Decoder._runs,
    G_OPEN_ARRAY: Decoder._open,
    G_OPEN_STRUCT: Decoder._open,
    G_CLOSE_ARRAY: Decoder._close,
    G_CLOSE_STRUCT: Decoder._close,
    G_PLAIN_ARRAY: Decoder._plain,
    G_PLAIN_STRUCT: Decoder._plain,
    G_MEMBER: Decoder._member,
    G_END_MEMBER: Decoder._member,
    G_OPEN_RESPONSE: Decoder._envelope,
    G_CLOSE_RESPONSE: Decoder._envelope,
}
