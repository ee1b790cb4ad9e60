"""XML-RPC encoding: Python values to a UTF-8 ``methodCall`` or ``methodResponse``.

Strategy. The encoder is built for speed on the common case and for a precise message
on the rare one, so it works in two passes that never both run on good input:

1. A fast pass walks the values with type checks on ``type(v) is ...`` (the exact
   builtin types come first, subclasses after; strings, small ints and SXP's
   ``(tag string-or-int)`` pairs inline in the array loop, strings in the struct loop)
   and appends text pieces to one list. It does not track where it is. When it meets
   anything it cannot encode (a type it does not know, an int beyond 64 bits, a
   non-finite float, a non-string key, nesting deeper than ``MAX_DEPTH``, which is also
   how a recursive container shows up) it raises a private signal. Finished pieces are
   cached: names across calls (struct member names; the tags of SXP lists inside SXP
   lists, each with its list's opening: records repeat them), short strings and small
   ints within the call, so no value, which may be a secret, outlives its call.
2. Characters XML cannot carry (NUL and the other C0 controls but tab, newline and
   carriage return; lone surrogates; U+FFFE and U+FFFF) are looked for as a short
   string's or a name's piece is made (an identifier or a printable string has none,
   a C test of the ``str``), and in the text a long string is flushed in (``_utf8``).
   A small document is joined and encoded once; in a large one, the pieces
   are flushed into one buffer each time long values in them pass ``_CHUNK``
   characters (``_Document``), so it is copied into its final bytes once, in
   cache-sized steps, and a big base64 value goes in without being decoded to text.

Either failure runs a slow, iterative checker over the same values that keeps the path
of each value (``params[0]['disks'][2]``) and raises ``LocalProtocolError`` naming the
first bad one. Nothing is returned, so nothing half-encoded can be sent.

Strings keep every character XML can carry: in a short string ``&``, ``<`` and ``>``
become entities; a long one that holds any of them goes into a CDATA section, read the
same by every XML parser (expat under xend's xmlrpclib, xmlm under xapi) and written
with no escaping pass; a carriage return becomes ``&#13;`` (a raw one would be turned
into a newline by the reader's end-of-line handling), between two sections in a long
string. Ints within 32 bits go out as ``<int>``, up to 64 bits as
``<i8>``; ``None`` as ``<nil/>`` when ``allow_none`` is true.
"""

from __future__ import annotations

import base64
import datetime
import io
from collections.abc import Mapping
from math import isfinite
from typing import Any, NoReturn

from aioxend.errors import Fault, LocalProtocolError
from aioxend.xmlrpc._chars import NOT_XML_CHAR, has_control
from aioxend.xmlrpc._limits import Limits

__all__ = ["MAX_DEPTH", "dumps"]

#: Deepest nesting of arrays and structs the encoder writes: what our decoder reads.
MAX_DEPTH = Limits().max_depth

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_FALSE = "<value><boolean>0</boolean></value>"
_CACHED = 64  # strings and keys up to this length have their finished piece cached
_CHUNK = 1 << 18  # characters of long values after which the pieces are flushed as UTF-8
# Pieces kept across calls, up to _KEPT each (then forgotten, all at once), are names'
# only: struct member names, and the identifier-like first item of a list, an SXP tag
# ("domid", "on_poweroff": xend's records are lists of (tag value...), XendConfig.to_sxp).
# Any other string, a param, a struct's value, a list's later item, may be a secret (the
# password of session.login_with_password): its piece is kept for its call only.
_KEPT = 4096
_NAMES: dict[str, str] = {}
_TAGS: dict[str, str] = {}
_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'
_RESPONSE_HEAD = _HEADER + "<methodResponse><params><param>"
_RESPONSE_TAIL = "</param></params></methodResponse>\n"
_BOOLEAN_BODIES = tuple(
    f"{_RESPONSE_HEAD}<value><boolean>{b}</boolean></value>{_RESPONSE_TAIL}".encode()
    for b in (0, 1)
)
_NIL_BODY = f"{_RESPONSE_HEAD}<value><nil/></value>{_RESPONSE_TAIL}".encode()


class _Refused(Exception):
    """Private signal from the fast pass: the checker will say what and where."""


def escape(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` and CR for XML character data.

    Each test is a ``memchr`` and each replacement a C loop over the whole text, where a
    substitution calls back into Python once per character.
    """
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _small_response(v: Any, allow_none: bool) -> bytes | None:
    """The body of a response carrying one plain bool, nil, 32-bit int or short string
    (most small answers), built at once; None to go the usual way, which also says
    what is wrong with a value it cannot carry."""
    t = type(v)
    if t is bool:
        return _BOOLEAN_BODIES[bool(v)]
    if v is None:
        return _NIL_BODY if allow_none else None
    if t is int and _INT32_MIN <= v <= _INT32_MAX:
        return f"{_RESPONSE_HEAD}<value><int>{v}</int></value>{_RESPONSE_TAIL}".encode()
    if t is not str or len(v) > 4096:
        return None
    try:
        return _utf8(f"{_RESPONSE_HEAD}<value><string>{escape(v)}</string></value>{_RESPONSE_TAIL}")
    except _Refused:
        return None


def _format_datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        raise _Refused
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )


class _Document:
    """The document being written: ``str`` pieces, flushed as UTF-8 into a buffer once
    long values in them pass ``_CHUNK`` characters. Joining a large document whole and
    encoding that would copy it twice and hold both copies, in fresh pages of memory
    that cost a fault each, more than the copying. Short strings and names are checked
    for characters XML refuses as their pieces are made (once a call, or once for good);
    long strings are checked in the text they are flushed in (``unchecked``)."""

    __slots__ = ("append", "buffer", "pending", "pieces", "unchecked")

    def __init__(self, head: str) -> None:
        self.pieces = [head]
        self.append = self.pieces.append
        self.pending = 0
        self.unchecked = False
        self.buffer: io.BytesIO | None = None

    def count(self, size: int) -> None:
        """Note ``size`` more characters of long values; flush when there are enough."""
        self.pending += size
        if self.pending > _CHUNK:
            self.flush()

    def long_string(self, text: str) -> str:
        """Append the start of a long string's ``<value>``; its end is returned.

        A long string with anything to escape (``&<>``, CR) goes into a CDATA section,
        which needs no escaping, so the copy into the document is the one pass over its
        characters (escaping them is most of the stdlib's time on such text). A ``]]>``,
        which would close the section, is split over two sections. A CR, which the
        reader's end-of-line handling turns into a newline inside a section as outside,
        is written between two sections as ``&#13;`` by ``_text``, in the bytes flushed:
        markup, short strings and other long strings hold no raw CR.
        """
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            if "]]>" in text:
                text = text.replace("]]>", "]]]]><![CDATA[>")
            self.append("<value><string><![CDATA[")
            end = "]]></string></value>"
        else:
            self.append("<value><string>")
            end = "</string></value>"
        self.append(text)
        self.unchecked = True
        self.count(len(text))
        return end

    def _text(self) -> bytes:
        """The pieces as UTF-8, the CRs of long strings' CDATA sections as ``&#13;``
        between two sections; ``_Refused`` if XML cannot carry them."""
        data = _utf8("".join(self.pieces), self.unchecked)
        if self.unchecked and b"\r" in data:
            data = data.replace(b"\r", b"]]>&#13;<![CDATA[")
        return data

    def flush(self) -> io.BytesIO:
        """Move the pieces into the buffer; ``_Refused`` if XML cannot carry them."""
        data = self._text()
        self.pieces.clear()
        self.pending = 0
        self.unchecked = False
        if self.buffer is None:
            self.buffer = io.BytesIO()
        self.buffer.write(data)
        return self.buffer

    def finish(self, tail: str) -> bytes:
        self.append(tail)
        if self.buffer is None:  # the usual, small document: joined and encoded once
            return self._text()
        return self.flush().getvalue()


def _utf8(text: str, unchecked: bool = True) -> bytes:
    """``text`` as UTF-8, or ``_Refused`` if it holds a character XML cannot carry.

    A lone surrogate fails the encoding; when ``text`` holds strings not checked yet, a
    C0 control is found on the bytes, and U+FFFE and U+FFFF (``EF BF BE``, ``EF BF BF``: a
    lead byte starts them, so a match is exact) only in text that is not ASCII (a flag of
    the ``str``, no scan).
    """
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raise _Refused from None
    if unchecked and (
        has_control(data)
        or (not text.isascii() and (b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data))
    ):
        raise _Refused
    return data


def _checked(text: str) -> str:
    """``text`` escaped, or ``_Refused`` if it holds a character XML cannot carry.

    An identifier has nothing to escape or refuse; a printable string (most others) no
    character XML refuses; the rest, with a tab or a newline say, is searched.
    """
    if text.isidentifier():
        return text
    if not text.isprintable() and NOT_XML_CHAR.search(text):
        raise _Refused
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return escape(text)
    return text


def _name_piece(name: str) -> str:
    """The piece that opens a struct member called ``name``, kept across calls."""
    piece = f"<member><name>{_checked(name)}</name>"
    if len(name) <= _CACHED:
        if len(_NAMES) >= _KEPT:
            _NAMES.clear()
        _NAMES[name] = piece
    return piece


def _new_tag(tag: str) -> str | None:
    """The opening of a list with ``tag`` first, kept across calls; None for a tag that
    is not kept (long, or not identifier-like: xend's SXP symbols are identifiers)."""
    if len(tag) > _CACHED or not tag.isidentifier():
        return None
    if len(_TAGS) >= _KEPT:
        _TAGS.clear()
    piece = _TAGS[tag] = f"<value><array><data><value><string>{tag}</string></value>"
    return piece


def _int_piece(ints: dict[int, str], value: int) -> str:
    piece = ints[value] = f"<value><int>{value}</int></value>"
    return piece


def _encode(doc: _Document, values: Any, allow_none: bool, *, as_params: bool) -> None:
    """The fast pass: append the ``<value>`` of each item, each in a ``<param>`` if asked."""
    append = doc.append
    name_piece = _NAMES.get
    tag_piece = _TAGS.get
    strings: dict[str, str] = {}  # short strings' pieces, for this call only
    ints: dict[int, str] = {}
    string_piece = strings.get
    int_piece = ints.get

    def new_string_piece(text: str) -> str:
        """The piece to append for ``text``; for a long string, its end (its rest is
        appended: never copied into one piece, nor kept, it rarely repeats)."""
        if len(text) > _CACHED:
            return doc.long_string(text)
        piece = strings[text] = f"<value><string>{_checked(text)}</string></value>"
        return piece

    def enc_array(v: Any, depth: int) -> None:
        """An array; its strings, small ints and SXP pairs inline (a call costs more)."""
        if depth >= MAX_DEPTH:
            raise _Refused
        depth += 1
        items: Any = v
        tagged = type(v[0]) is str if v else False  # an SXP list: (tag item...)
        head = tag_piece(v[0]) if tagged else None
        if head is None:
            append("<value><array><data>")
        else:  # a known tag, written with the list's opening
            append(head)
            items = iter(v)
            next(items)
        for x in items:
            tx = type(x)
            if tx is str:
                append(string_piece(x) or new_string_piece(x))
                continue
            if tx is int and -(2**31) <= x < 2**31:
                append(int_piece(x) or _int_piece(ints, x))
                continue
            if tx is not list and tx is not tuple:
                enc(x, depth)
                continue
            # An SXP list in one: its tag is kept; a (tag string-or-int) pair inline.
            if len(x) == 2:
                tag, y = x
                if type(tag) is str and depth < MAX_DEPTH:
                    head = tag_piece(tag) or (_new_tag(tag) if tagged else None)
                    ty = type(y)
                    if head is not None and ty is str:
                        append(head)
                        append(string_piece(y) or new_string_piece(y))
                        append("</data></array></value>")
                        continue
                    if head is not None and ty is int and -(2**31) <= y < 2**31:
                        append(head)
                        append(int_piece(y) or _int_piece(ints, y))
                        append("</data></array></value>")
                        continue
            elif tagged and x and type(x[0]) is str and x[0] not in _TAGS:
                _new_tag(x[0])
            enc_array(x, depth)
        append("</data></array></value>")

    def enc_struct(v: dict[Any, Any], depth: int) -> None:
        """A struct; its string values inline (xapi's records are mostly strings)."""
        if depth >= MAX_DEPTH:
            raise _Refused
        append("<value><struct>")
        depth += 1
        for k, x in v.items():
            if type(k) is not str:
                if not isinstance(k, str):
                    raise _Refused
                k = str.__str__(k)
            append(name_piece(k) or _name_piece(k))
            tx = type(x)
            if tx is str:
                append(string_piece(x) or new_string_piece(x))
            elif tx is list or tx is tuple:
                enc_array(x, depth)
            elif tx is dict:
                enc_struct(x, depth)
            else:
                enc(x, depth)
            append("</member>")
        append("</struct></value>")

    def enc(v: Any, depth: int) -> None:
        """Any value: containers by their walks, scalars here."""
        t = type(v)
        if t is list or t is tuple:
            enc_array(v, depth)
        elif t is str:
            append(string_piece(v) or new_string_piece(v))
        elif t is dict:
            enc_struct(v, depth)
        elif t is int:
            if _INT32_MIN <= v <= _INT32_MAX:
                append(f"<value><int>{v}</int></value>")
            elif _INT64_MIN <= v <= _INT64_MAX:
                append(f"<value><i8>{v}</i8></value>")
            else:
                raise _Refused
        elif t is float:
            if not isfinite(v):
                raise _Refused
            append(f"<value><double>{v!r}</double></value>")
        elif t is bool:
            append("<value><boolean>1</boolean></value>" if v else _FALSE)
        elif v is None:
            if not allow_none:
                raise _Refused
            append("<value><nil/></value>")
        elif t is bytes or t is bytearray or t is memoryview:
            encoded = base64.b64encode(v)
            if len(encoded) <= _CHUNK:
                append(f"<value><base64>{encoded.decode('ascii')}</base64></value>")
                doc.count(len(encoded))
            else:  # written as it is, never decoded into text and encoded back
                append("<value><base64>")
                doc.flush().write(encoded)
                append("</base64></value>")
        elif t is datetime.datetime:
            append(f"<value><dateTime.iso8601>{_format_datetime(v)}</dateTime.iso8601></value>")
        else:
            enc(_plain(v), depth)

    try:
        for item in values:
            if as_params:
                append("<param>")
                enc(item, 0)
                append("</param>")
            else:
                enc(item, 0)
    finally:
        # The walks reach each other through their closure's cells: a cycle, which would
        # keep this call's pieces, its cache of strings (a secret among them, maybe) and
        # its buffer alive until the garbage collector's next pass. Emptied, they go now.
        for walk in (enc, enc_array, enc_struct):
            for cell in walk.__closure__ or ():
                cell.cell_contents = None


def _plain(v: Any) -> Any:
    """The builtin equivalent of a subclass or Mapping; ``_Refused`` for the rest."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, Mapping):
        return dict(v)
    if isinstance(v, datetime.datetime):
        return datetime.datetime(
            v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.tzinfo
        )
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    raise _Refused


def _describe_char(text: str) -> str | None:
    match = NOT_XML_CHAR.search(text)
    if match is None:
        return None
    return f"U+{ord(match.group()):04X} at index {match.start()}, which XML cannot carry"


def _problem(v: Any, allow_none: bool) -> str | None:
    """Why the scalar ``v`` cannot be encoded, or None if it can (containers: None)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        if _INT64_MIN <= v <= _INT64_MAX:
            return None
        return "int beyond 64 bits, which XML-RPC cannot carry"
    if isinstance(v, float):
        return None if isfinite(v) else f"non-finite float {v!r}"
    if isinstance(v, str):
        return _describe_char(v)
    if v is None:
        return None if allow_none else "None (pass allow_none=True to send <nil/>)"
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            return "timezone-aware datetime (XML-RPC dates carry no zone; convert it first)"
        return None
    if isinstance(v, (bytes, bytearray, memoryview, list, tuple, Mapping)):
        return None
    return f"value of type {type(v).__name__}, which XML-RPC cannot carry"


def _locate(roots: list[tuple[Any, str]], allow_none: bool) -> NoReturn:
    """The slow pass: walk iteratively with paths and raise for the first bad value."""
    exit_marker = object()
    stack: list[tuple[Any, str, int]] = [(v, p, 0) for v, p in reversed(roots)]
    on_path: set[int] = set()
    while stack:
        v, path, depth = stack.pop()
        if v is exit_marker:
            on_path.discard(depth)
            continue
        problem = _problem(v, allow_none)
        if problem is not None:
            raise LocalProtocolError(f"cannot encode {path}: {problem}")
        if isinstance(v, (list, tuple, Mapping)):
            if id(v) in on_path:
                raise LocalProtocolError(f"cannot encode {path}: recursive container")
            if depth >= MAX_DEPTH:
                raise LocalProtocolError(
                    f"cannot encode {path}: nested deeper than {MAX_DEPTH} arrays/structs"
                )
            on_path.add(id(v))
            stack.append((exit_marker, path, id(v)))
            children: list[tuple[Any, str, int]] = []
            if isinstance(v, Mapping):
                for key, x in v.items():
                    if not isinstance(key, str):
                        raise LocalProtocolError(
                            f"cannot encode {path}: struct key {key!r} is not a str"
                        )
                    where = f"{path}[{key!r}]"
                    bad = _describe_char(key)
                    if bad is not None:
                        raise LocalProtocolError(f"cannot encode {where} (its key): {bad}")
                    children.append((x, where, depth + 1))
            else:
                children = [(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]
            stack.extend(reversed(children))
    raise LocalProtocolError("cannot encode the params (no single value to blame)")


def _fault_values(fault: Fault) -> dict[str, Any]:
    code = fault.code
    if isinstance(code, bool) or not isinstance(code, int):
        raise LocalProtocolError(f"cannot encode fault.code: {code!r} is not an int")
    if not isinstance(fault.string, (str, list)):
        raise LocalProtocolError(
            f"cannot encode fault.string: {type(fault.string).__name__} is not a str or list"
        )
    return {"faultCode": code, "faultString": fault.string}


def dumps(
    params: tuple[Any, ...] | Fault,
    methodname: str | None = None,
    *,
    methodresponse: bool = False,
    allow_none: bool = True,
) -> bytes:
    """Encode ``params`` as a UTF-8 ``methodCall`` (with ``methodname``) or ``methodResponse``.

    A ``Fault`` as ``params`` encodes a fault response. A response carries exactly one
    param, as XML-RPC requires. Anything XML-RPC cannot carry raises
    ``LocalProtocolError`` naming the value's path, before any byte is produced.
    """
    if methodresponse and methodname is None and type(params) is tuple and len(params) == 1:
        small = _small_response(params[0], allow_none)
        if small is not None:
            return small
    if isinstance(params, Fault):
        if methodname is not None:
            raise LocalProtocolError("a Fault is a response: do not give a methodname")
        fault = _fault_values(params)
        doc = _Document(_HEADER + "<methodResponse><fault>")
        tail = "</fault></methodResponse>\n"
        try:
            _encode(doc, (fault,), allow_none, as_params=False)
            return doc.finish(tail)
        except (_Refused, RecursionError):
            _locate([(fault, "fault")], allow_none)
    if not isinstance(params, tuple):
        raise LocalProtocolError(f"params must be a tuple or a Fault, not {type(params).__name__}")
    if methodresponse:
        if methodname is not None:
            raise LocalProtocolError("give a methodname or methodresponse=True, not both")
        if len(params) != 1:
            raise LocalProtocolError(f"a response carries exactly one param, not {len(params)}")
        doc = _Document(_HEADER + "<methodResponse><params>")
        tail = "</params></methodResponse>\n"
    elif methodname is None:
        raise LocalProtocolError("give a methodname, or methodresponse=True")
    elif not isinstance(methodname, str):
        raise LocalProtocolError(f"methodname must be a str, not {type(methodname).__name__}")
    else:
        bad = _describe_char(methodname)
        if bad is not None or not methodname:
            raise LocalProtocolError(f"cannot encode methodname {methodname!r}: {bad or 'empty'}")
        doc = _Document(
            f"{_HEADER}<methodCall><methodName>{escape(methodname)}</methodName><params>"
        )
        tail = "</params></methodCall>\n"
    try:
        _encode(doc, params, allow_none, as_params=True)
        return doc.finish(tail)
    except (_Refused, RecursionError):
        _locate([(v, f"params[{i}]") for i, v in enumerate(params)], allow_none)
