"""Atom text: xend's escapes, Python 2 quoting, and the bytes-to-text rule.

xend is Python 2 and thinks in bytes. Its printer writes ``repr(str)`` of UTF-8 byte
strings, so ``café`` travels as ``'caf\\xc3\\xa9'``; its parser turns escapes back into
bytes. We do the same and then decode each finished atom as UTF-8, falling back to
latin-1 when the bytes are not valid UTF-8, so every atom is a ``str`` and no input is
ever refused for its encoding.

Python 3's ``repr(bytes)`` follows exactly the rules of Python 2's ``repr(str)``
(quote choice, ``\\t \\n \\r \\\\ \\'``, ``\\xNN`` for everything else outside printable
ASCII), so the printer borrows it instead of re-implementing them.
"""

from __future__ import annotations

import re

from aioxend.errors import LocalProtocolError, ProtocolError

__all__ = ["decode_atom", "is_bare", "quote", "unescape", "unquote_body"]

# Characters xend's atomp() accepts in an unquoted atom (xend/sxp.py).
_ATOMP = re.compile(r"[A-Za-z0-9._\-:/~]+|@")

_SIMPLE_ESCAPES = {
    "a": b"\a",
    "b": b"\b",
    "t": b"\t",
    "n": b"\n",
    "v": b"\v",
    "f": b"\f",
    "r": b"\r",
    "\\": b"\\",
    "'": b"'",
    '"': b'"',
}

# One escape inside a quoted SXP atom: \xH or \xHH, one to three octal digits, or any
# single character (checked against _SIMPLE_ESCAPES). A lone trailing backslash is "\\\Z".
_SXP_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{1,2})|([0-7]{1,3})|(.)|\Z)", re.S)

# Python 2's string_escape, used for top-level XML-RPC strings: \xHH needs both digits.
_PY_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{2})|([0-7]{1,3})|(.)|\Z)", re.S)


def _to_bytes(text: str) -> bytes:
    """The bytes behind decoded text, restoring undecodable bytes kept as surrogates."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _from_bytes(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def decode_atom(text: str) -> str:
    """Apply the UTF-8-else-latin-1 rule to atom text that may carry surrogate escapes.

    Text decoded from bytes with ``surrogateescape`` keeps invalid bytes as lone
    surrogates; such an atom is re-read from its bytes as latin-1.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _from_bytes(_to_bytes(text))
    return text


def _decode_escapes(text: str, pattern: re.Pattern[str], *, strict: bool, offset: int) -> str:
    """Escapes to bytes, then the whole to text; a bad escape raises or stays as written."""
    out: list[bytes] = []
    pos = 0
    for m in pattern.finditer(text):
        start = m.start()
        if start > pos:
            out.append(_to_bytes(text[pos:start]))
        hexdigits, octal, char = m.group(1, 2, 3)
        problem = None
        if hexdigits is not None:
            out.append(bytes((int(hexdigits, 16),)))
        elif octal is not None and int(octal, 8) <= 0xFF:
            out.append(bytes((int(octal, 8),)))
        elif octal is not None:
            problem = f"octal escape out of range: \\{octal}"
        elif char is not None and char in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[char])
        elif char == "x":
            problem = "invalid \\x escape: hex digits expected"
        elif char is None:
            problem = "trailing backslash"
        else:
            problem = f"unknown escape \\{char}"
        if problem is not None:
            if strict:
                raise ProtocolError(f"invalid string escape: {problem}", offset=offset + start)
            out.append(_to_bytes(m.group()))
        pos = m.end()
    out.append(_to_bytes(text[pos:]))
    return _from_bytes(b"".join(out))


def unquote_body(body: str, *, strict: bool, offset: int = 0, raw: bool = False) -> str:
    """Decode the inside of a quoted SXP atom (quotes removed) with xend's escapes.

    Strict mode raises ``ProtocolError`` on an escape xend's reader would mangle or choke
    on (an unknown letter, ``\\x`` without a hex digit, octal above 255, a trailing
    backslash). Lenient mode keeps such an escape as written, backslash included.
    ``offset`` is where ``body`` starts in the input, for error messages; ``raw`` says
    the text holds undecodable bytes as surrogates (see ``decode_atom``).
    """
    if "\\" not in body:
        return decode_atom(body) if raw else body
    return _decode_escapes(body, _SXP_ESCAPE, strict=strict, offset=offset)


def unescape(text: str) -> str:
    """Undo xend's ``repr(s)[1:-1]`` escaping of a top-level XML-RPC string result.

    xend sends a method's bare string result (``xend.node.log``, ``dmesg``) as Python 2
    escaped text (Xen 4.4 ``tools/python/xen/util/xmlrpclib2.py``
    ``TCPXMLRPCServer._marshaled_dispatch``; ``tools/python/xen/util/xmlrpcclient.py``
    ``conv_string`` undid it with ``exec``). This reverses it without ``eval``: ``\\n \\t
    \\r \\\\ \\' \\"`` and the other C escapes, ``\\xHH`` and octal become bytes, and the
    result is decoded as UTF-8 (latin-1 when invalid). A malformed escape raises
    ``ProtocolError``; text without a backslash is returned unchanged.
    """
    if "\\" not in text:
        return text
    return _decode_escapes(text, _PY_ESCAPE, strict=True, offset=0)


def is_bare(text: str) -> bool:
    """True when xend's ``atomp()`` would print the atom without quotes."""
    return _ATOMP.fullmatch(text) is not None


def quote(text: str) -> str:
    """The atom as xend prints it: bare when ``atomp()`` allows, else Python 2 ``repr``.

    The repr is taken of the UTF-8 bytes, as xend held them. Text that cannot be UTF-8
    encoded (lone surrogates) raises ``LocalProtocolError``.
    """
    if _ATOMP.fullmatch(text) is not None:
        return text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"atom {text!r} cannot be encoded as UTF-8: {exc}") from None
    return repr(data)[1:]
