"""The SXP reader: the careful tokenising parser, and ``loads`` over the fast path.

Strategy. xend's lexical rules (Xen 4.4 ``tools/python/xen/xend/sxp.py`` ``Parser``) are
small, but a Python loop over tokens costs more than the tokens themselves, so ``loads_all``
first tries the fast path of ``_fast`` (C-level string operations and the C JSON decoder),
and hands anything unusual to the careful ``Parser``, which is the definition of the
language and the only place errors are raised. Any doubt makes the fast path decline, so
both always agree (property tests hold them to it).

The careful parser is one compiled regular expression run with ``finditer`` and an
explicit stack (no recursion, so depth is bounded only by ``Limits.max_depth``). It is
incremental: it keeps an unfinished token (an atom or string that may continue) for the
next chunk. ``Parser`` gathers fed input up to ``Parser.BATCH`` characters before
reading, so a body streamed in small chunks still reaches the fast path at ``close``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import TypeAlias

from aioxend.errors import LimitExceeded, ProtocolError
from aioxend.sxp._fast import fast_loads
from aioxend.sxp._text import decode_atom, unquote_body

__all__ = ["DEFAULT_LIMITS", "Expr", "Limits", "Parser", "loads", "loads_all"]

Expr: TypeAlias = "str | list[Expr]"
"""An S-expression: an atom (``str``) or a list of expressions."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one parse may read, so hostile input cannot exhaust memory.

    ``max_bytes`` is the whole input (characters for text), ``max_depth`` the nesting
    of lists, ``max_atom`` the length of one atom, ``max_items`` the number of values
    (atoms and lists) in one top-level expression. Crossing one raises ``LimitExceeded``.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 256
    max_atom: int = 16 * 1024 * 1024
    max_items: int = 4_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_atom", "max_items"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive int, not {value!r}")


DEFAULT_LIMITS = Limits()

_WS = " \t\n\v\f\r"
_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes surrogateescape could not decode
_SEPARATORS = "{}()<>[];"

# Careful tokenizer. Groups: 1 whitespace, 2 comment, 3 "(", 4 ")", 5 quoted string,
# 6 atom, 7 anything else (an unterminated string, or a character no token starts with).
_STRING = r""""[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*'"""
_ATOM_REST = "[^" + re.escape(_WS + "#" + _SEPARATORS) + "]*"
_STRICT_TOKEN = re.compile(
    rf"([{_WS}]+)|(#[^\n]*)|(\()|(\))|({_STRING})|([!$-&*-~]{_ATOM_REST})|(.)", re.S
)
# Lenient (libvirt-like) reading starts an atom at any character that is not whitespace,
# a parenthesis, '#' or a quote; group 7 then only ever sees an unterminated string.
_LENIENT_TOKEN = re.compile(
    rf"([{_WS}]+)|(#[^\n]*)|(\()|(\))|({_STRING})|([^{_WS}()#\"']{_ATOM_REST})|(.)", re.S
)


class Parser:
    """Incremental SXP reader: ``feed`` chunks, get back each finished top-level value.

    ``strict=True`` (the default) follows xend's reader and raises ``ProtocolError``
    with the offset on anything malformed. ``strict=False`` reads the way libvirt's
    reader tolerated, for legacy bodies only: lists left open at the end are closed, a
    stray ``)`` is skipped, an unterminated string runs to the end, a malformed escape is
    kept as written, and any non-blank character may start an atom. Limits apply in both.

    Chunks may be ``str`` or ``bytes`` (not mixed); bytes are decoded incrementally and
    each atom follows the UTF-8-else-latin-1 rule. Offsets in errors count characters of
    the decoded text. After an error the parser is spent; make a new one.
    """

    BATCH = 4 * 1024 * 1024
    """Characters gathered before ``feed`` reads them (expressions come out per batch)."""

    def __init__(self, *, strict: bool = True, limits: Limits | None = None) -> None:
        self.strict = strict
        self.limits = limits if limits is not None else DEFAULT_LIMITS
        self._token = _STRICT_TOKEN if strict else _LENIENT_TOKEN
        self._text = ""
        self._base = 0
        self._fed = 0
        self._stack: list[list[Expr]] = []
        self._items = 0
        self._done: list[Expr] = []
        self._waiting_quote: str | None = None
        self._decoder: codecs.IncrementalDecoder | None = None
        self._kind: type | None = None
        self._escaped = False  # bytes that were not UTF-8 seen: atoms need decode_atom
        self._pending: list[str] = []
        self._pending_len = 0
        self._gather = 0  # after a declined attempt: gather this much before the next
        self._open = 0  # "(" minus ")" in the gathered text, strings included
        self._tail_opens = 0  # "(" after its last ")"
        self._closed = False

    def feed(self, data: str | bytes) -> list[Expr]:
        """Add input; return the top-level expressions it completed (often none).

        Input is gathered and read in batches of at least ``BATCH`` characters (and at
        ``close``), so a body that arrives in small chunks still gets the fast path.
        While the text up to the last ``)`` gathered holds more ``(`` than ``)`` (one
        long expression is open, as a whole answer is), no attempt is made: the fast path
        could only decline it, and the careful scan would have to wait as long.
        """
        if self._closed:
            raise RuntimeError("Parser.feed() after close() or an error")
        try:
            text = self._decode(data, final=False)
            if text:
                self._pending.append(text)
                self._pending_len += len(text)
                self._count_parens(text)
            if self._pending_len >= max(self.BATCH, self._gather) and not (
                self._open > self._tail_opens and self._fast_ready()
            ):
                return self._process(final=False)
        except ProtocolError:
            self._closed = True
            raise
        return []

    def close(self) -> list[Expr]:
        """Signal the end of input; return the remaining expressions or raise if cut short."""
        if self._closed:
            raise RuntimeError("Parser.close() after close() or an error")
        self._closed = True
        text = self._decode(b"" if self._kind is bytes else "", final=True)
        if text:
            self._pending.append(text)
        out = self._process(final=True)
        if self._stack:
            if self.strict:
                raise ProtocolError(
                    f"unexpected EOF: {len(self._stack)} list(s) not closed",
                    offset=self._base + len(self._text),
                )
            out.append(self._stack[0])
            self._stack.clear()
        return out

    # -- internals --------------------------------------------------------------------

    def _process(self, *, final: bool) -> list[Expr]:
        """Read the gathered input: the fast path when it can, the careful scan otherwise.

        At top level a prefix ending in ``)`` may be whole expressions; the fast path
        says no (odd quotes, unbalanced) when it is not. Before the end of input a "no"
        for text that opens a list most likely means one long expression is still open,
        so the input stays gathered and the next attempt waits for twice as much; the
        careful scan then runs at ``close`` only if the fast path declines the whole.
        """
        text = "".join(self._pending)
        self._pending = []
        self._pending_len = 0
        self._open = self._tail_opens = 0
        if self._fast_ready():
            cut = len(text) if final else text.rfind(")") + 1
            values = fast_loads(text[:cut], self.limits) if cut > 0 else None
            if values is not None:
                self._base += cut
                text = text[cut:]
                if final:
                    return values + self._add(text, final=True) if text else values
                if text:
                    self._keep(text)
                return values
            if not final and cut > 0 and text.lstrip(_WS).startswith("("):
                self._keep(text)
                self._gather = 2 * max(self.BATCH, len(text))
                return []
        return self._add(text, final=final)

    def _fast_ready(self) -> bool:
        """True when the gathered text starts a new top-level value the fast path may read."""
        return self.strict and not self._escaped and not self._stack and not self._text

    def _keep(self, text: str) -> None:
        """Keep ``text`` gathered for the next attempt."""
        self._pending.append(text)
        self._pending_len = len(text)
        self._count_parens(text)

    def _count_parens(self, text: str) -> None:
        """Count the parentheses of newly gathered text (two C-level counts)."""
        opens = text.count("(")
        closes = text.count(")")
        self._open += opens - closes
        if closes:
            self._tail_opens = text.count("(", text.rfind(")") + 1)
        else:
            self._tail_opens += opens

    def _decode(self, data: str | bytes, *, final: bool) -> str:
        if isinstance(data, str):
            if self._kind is bytes:
                raise TypeError("Parser.feed(): str after bytes")
            self._kind = str
            text = data
        elif isinstance(data, (bytes, bytearray, memoryview)):
            if self._kind is str:
                raise TypeError("Parser.feed(): bytes after str")
            self._kind = bytes
            if self._decoder is None:
                self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
            self._fed += len(data)
            self._check_fed()
            text = self._decoder.decode(bytes(data), final)
            if not self._escaped and not text.isascii() and _ESCAPED.search(text):
                self._escaped = True
            return text
        else:
            raise TypeError(f"Parser.feed() takes str or bytes, not {type(data).__name__}")
        self._fed += len(text)
        self._check_fed()
        return text

    def _check_fed(self) -> None:
        if self._fed > self.limits.max_bytes:
            raise LimitExceeded("max_bytes", self.limits.max_bytes, offset=self.limits.max_bytes)

    def _add(self, text: str, *, final: bool) -> list[Expr]:
        quote = self._waiting_quote
        if quote is not None and not final and quote not in text:
            self._text += text
            self._check_pending()
            return []
        self._waiting_quote = None
        self._text = self._text + text if self._text else text
        self._scan(final)
        self._check_pending()
        done, self._done = self._done, []
        return done

    def _check_pending(self) -> None:
        # An unfinished token is at most one atom, escapes spelled out (4 chars a byte).
        if len(self._text) > 4 * self.limits.max_atom + 2:
            raise LimitExceeded("max_atom", self.limits.max_atom, offset=self._base)

    def _scan(self, final: bool) -> None:
        """Tokenise ``self._text``, building lists on the stack; keep an unfinished tail.

        One loop over ``finditer`` with everything in locals: this is the path for input
        the fast path declines, so it is kept tight rather than split into helpers.
        """
        text = self._text
        base = self._base
        n = len(text)
        stack = self._stack
        done = self._done
        cur = stack[-1] if stack else None
        items = self._items
        strict = self.strict
        escaped = self._escaped
        max_depth = self.limits.max_depth
        max_atom = self.limits.max_atom
        max_items = self.limits.max_items
        pos = n
        value: str
        for m in self._token.finditer(text):
            kind = m.lastindex
            if kind == 6:
                if not final and m.end() == n:
                    pos = m.start()
                    break
                value = decode_atom(m.group()) if escaped else m.group()
            elif kind == 1:
                continue
            elif kind == 3:
                if len(stack) >= max_depth:
                    raise LimitExceeded("max_depth", max_depth, offset=base + m.start())
                new: list[Expr] = []
                if cur is not None:
                    items += 1
                    if items > max_items:
                        raise LimitExceeded("max_items", max_items, offset=base + m.start())
                    cur.append(new)
                else:
                    items = 1
                stack.append(new)
                cur = new
                continue
            elif kind == 4:
                if stack:
                    finished = stack.pop()
                    if stack:
                        cur = stack[-1]
                    else:
                        cur = None
                        done.append(finished)
                        items = 0
                elif strict:
                    raise ProtocolError("syntax error: unexpected ')'", offset=base + m.start())
                continue
            elif kind == 5:
                start = m.start()
                body = text[start + 1 : m.end() - 1]
                value = unquote_body(body, strict=strict, offset=base + start + 1, raw=escaped)
            elif kind == 2:
                if not final and m.end() == n:
                    pos = m.start()
                    break
                continue
            else:
                start = m.start()
                char = text[start]
                if char not in "\"'":
                    raise ProtocolError(f"invalid character: code {ord(char)}", offset=base + start)
                if not final:
                    self._waiting_quote = char
                    pos = start
                    break
                if strict:
                    raise ProtocolError("unexpected EOF in a string", offset=base + start)
                # Lenient: the string runs to the end of the input.
                body = text[start + 1 :]
                value = unquote_body(body, strict=False, offset=base + start + 1, raw=escaped)
                self._add_value(value, cur, items, base + start)
                break
            if len(value) > max_atom:
                raise LimitExceeded("max_atom", max_atom, offset=base + m.start())
            if cur is not None:
                items += 1
                if items > max_items:
                    raise LimitExceeded("max_items", max_items, offset=base + m.start())
                cur.append(value)
            else:
                done.append(value)
        self._items = items
        self._text = text[pos:]
        self._base = base + pos

    def _add_value(self, value: str, cur: list[Expr] | None, items: int, offset: int) -> None:
        """Place the lenient reader's last, unterminated string."""
        if len(value) > self.limits.max_atom:
            raise LimitExceeded("max_atom", self.limits.max_atom, offset=offset)
        if cur is None:
            self._done.append(value)
        elif items + 1 > self.limits.max_items:
            raise LimitExceeded("max_items", self.limits.max_items, offset=offset)
        else:
            cur.append(value)
            self._items = items + 1


def _as_text(data: str | bytes | bytearray | memoryview, limits: Limits) -> tuple[str, bool]:
    if isinstance(data, str):
        text, from_bytes = data, False
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > limits.max_bytes:
            raise LimitExceeded("max_bytes", limits.max_bytes, offset=limits.max_bytes)
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            return raw.decode("utf-8", "surrogateescape"), True
    else:
        raise TypeError(f"SXP input must be str or bytes, not {type(data).__name__}")
    if len(text) > limits.max_bytes:
        raise LimitExceeded("max_bytes", limits.max_bytes, offset=limits.max_bytes)
    return text, from_bytes


def loads_all(
    data: str | bytes | bytearray | memoryview,
    *,
    strict: bool = True,
    limits: Limits | None = None,
) -> list[Expr]:
    """Every top-level expression in ``data``, in order (``[]`` for blank input)."""
    limits = limits if limits is not None else DEFAULT_LIMITS
    text, from_bytes = _as_text(data, limits)
    if strict and not from_bytes:
        result = fast_loads(text, limits)
        if result is not None:
            return result
    parser = Parser(strict=strict, limits=limits)
    parser._escaped = from_bytes
    parser._kind = str
    out = parser._add(text, final=False)
    out += parser.close()
    return out


def loads(
    data: str | bytes | bytearray | memoryview,
    *,
    strict: bool = True,
    limits: Limits | None = None,
) -> Expr:
    """The first expression in ``data``.

    The whole input is read, so garbage after the first expression is still an error in
    strict mode, but a second expression is allowed and ignored: xend 4.1+ appends a
    quoted empty string (``(domain ...)''``) to some bodies (Xen 4.1+
    ``tools/python/xen/xend/server/SrvDomain.py`` ``render_GET``).
    Blank input raises ``ProtocolError``.
    """
    values = loads_all(data, strict=strict, limits=limits)
    if not values:
        raise ProtocolError("no S-expression in input", offset=0)
    return values[0]
