"""The SXP reader's fast path: clean text to lists with C-level string operations only.

Strategy. A Python loop over tokens costs more than the tokens themselves, so for text
with no comment, no separator character, no malformed escape and only ASCII outside
quoted strings (what xend and libvirt send) the text is spelled as a JSON array and a C
JSON decoder builds the lists. Any doubt returns ``None`` and the careful ``Parser``
runs instead, so both always agree (property tests hold them to it); the careful parser
is the definition of the language and the only place errors are raised.

A text longer than two ``PIECE``s is first cut into pieces (``_marked_pieces``) that go
through steps 1-4 one after the other, each let go before the next is marked: no pass
runs over the whole text and no copy of it is held whole, not even its JSON, so the
throughput stays flat from 1 KB to 64 MB (memory the process has not used before costs a
page fault a page, and at 64 MB the JSON was 82 MB of it). A piece's JSON closes the
lists left open at its end, the next one's opens them again, and its values are added
to the open lists (``_read_pieces``). A cut is taken only where the piece before it
marks with no quote left over (a cut inside a string would leave one).

1. Strings (``_marked``). Escaped backslashes and quotes are hidden first (one regex
   substitution, only when the text has a backslash), so every quote left opens or
   closes a string or sits inside one. The text is split at its ``"`` and then at its
   ``'`` with ``str.split`` (or the other way round, when a ``'...'`` string holds a
   ``"``; a count of quotes per region tells which order is right); where neither order
   holds, one regex finds the strings. Each string leaves a marker (``\x01`` for ``'``,
   ``\x02`` for ``"``). All bodies of one kind are joined and their escapes decoded in one
   ``codecs.escape_decode`` call (Python 2's ``string_escape``, which xend's reader
   follows, Xen 4.4 ``tools/python/xen/xend/sxp.py`` ``Parser``), after one regex has
   refused every escape the two could read differently; the bytes are decoded as UTF-8 at
   once (per atom, UTF-8 else latin-1, only when that fails), made safe inside a strict
   JSON string by ``str.replace`` (control characters too) and encoded as UTF-8.
2. Layout. The marked text is cut into chunks of about ``CHUNK`` characters at a blank
   between two atoms, so every later copy stays in the CPU cache. Per chunk (ASCII by
   then, worked on as bytes, whose translate needs no setup and whose replacements are
   faster), one ``bytes.translate`` turns every blank into a space and every character
   no atom may hold into NUL (which refuses the chunk).
3. JSON. In xend's printer's layout (one space between elements, none inside
   parentheses) replacements alone quote the atoms (``_to_json``): each space becomes
   ``","``, ``(`` becomes ``["`` and ``)`` ``"]``, and the quotes this leaves beside
   brackets turn into spaces; ``()`` comes out as `` [""] ``, turned into ``[]``. Any
   other layout leaves an empty ``""`` or invalid JSON, which also catches unbalanced
   parentheses; a chunk in another layout (``xm list -l``'s) is split into tokens and
   joined as JSON strings instead. The string contents go in place of the markers.
4. Lists. ``_build`` decodes the JSON, the cyclic garbage collector held off while a
   long text is read: the decoder makes about 50,000 lists a megabyte, none of them
   garbage, and the collections they would trigger cost more than the decoding (and
   between two pieces, would go over the lists of the pieces before). msgspec decodes
   the UTF-8 bytes as they are (the standard library's decoder would want a ``str`` copy
   of them first, and is slower); only a text with lone surrogates, which UTF-8 cannot
   hold, goes to the standard library's.

Limits are checked before each piece is decoded, with counts that bound what the careful
parser would count, so the fast path declines whatever the careful parser would refuse
(a later piece's refusal leaves the lists decoded before it to be freed).
"""

from __future__ import annotations

import codecs
import gc
import json
import re
from collections.abc import Iterable, Iterator
from itertools import chain, repeat
from operator import and_, itemgetter
from typing import TYPE_CHECKING, TypeAlias

import msgspec

from aioxend.sxp._text import _from_bytes

if TYPE_CHECKING:
    from aioxend.sxp._parser import Expr, Limits

__all__ = ["CHUNK", "fast_loads"]

CHUNK = 1 << 17
"""Characters per chunk of the layout pass: small enough to stay in the CPU cache."""

PIECE = 1 << 20
"""Characters per piece of a long text, marked on its own (``_marked_pieces``), so the
passes that find strings stay in the cache too and no copy is as long as the text."""

_MARK_TRIES = 4  # pieces marked in vain (each costs a piece's marking) before giving up

_BLANKS = " \t\n\v\f\r"
_SQ = "\x01"  # marks where a single-quoted string was
_DQ = "\x02"  # marks where a double-quoted string was
# While strings are found, each escaped backslash and escaped quote stands hidden as one
# character, so every quote left opens or closes a string (or sits inside one). One regex
# pass finds them all (it reads a run of backslashes as pairs from its start, as xend's
# reader does), looking for the rare backslash first.
_HIDDEN = (("\x03", "\\\\"), ("\x04", "\\'"), ("\x05", '\\"'))
_HIDE = re.compile(r"""\\[\\'"]""").sub
_HIDING = {escape: char for char, escape in _HIDDEN}
_RESERVED = _SQ + _DQ + "".join(char for char, _ in _HIDDEN)
_SQB = _SQ.encode()
_DQB = _DQ.encode()
_GC_PAUSE_FROM = 1 << 14  # about the 700 new lists a young-generation collection waits for


def _normal_table() -> bytes:
    """Blanks to a space; parentheses, the markers and atom characters kept; all else NUL
    (a ``bytes.translate`` table: unlike ``str.translate`` it costs nothing to set up)."""
    table = bytearray(256)
    for code in range(128):
        char = chr(code)
        if char in _BLANKS:
            table[code] = ord(" ")
        elif char in "()" + _SQ + _DQ or (0x21 <= code <= 0x7E and char not in "\"'#\\{}[]<>;"):
            table[code] = code
    return bytes(table)


_NORMAL = _normal_table()
_NOT_PARENS = bytes(code for code in range(256) if code not in b"()")
# With the "\\\\" pairs taken out, an escape codecs.escape_decode could read otherwise
# than xend's reader: anything but a simple escape, \x or octal, and octal above 255.
# (escape_decode itself refuses a \x without two hex digits, also one the pairs' removal
# made look whole, and a trailing backslash; a lookahead for the digits made the search
# two to five times slower on the escapes shapes of bench_sxp.)
_UNSURE_ESCAPE = re.compile(r"""\\(?:[^abtnvfr\\'"0-7x]|[4-7][0-7][0-7])""")
_QUOTED = re.compile(r""""([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)'""", re.S)
_FIRST = itemgetter(slice(None, 1))
_LAST = itemgetter(slice(-1, None))
_ONES = repeat(1)
_CUT = re.compile(r"(?<=[^ \t\n\v\f\r()])[ \t\n\v\f\r]+(?=[^ \t\n\v\f\r()])")
_ATOM_ENDS = re.compile(r"[\s()]+")
_DECODE = msgspec.json.Decoder().decode
_DECODE_TEXT = json.JSONDecoder().decode  # for lone surrogates, which msgspec refuses
_SURROGATE = b"\xed"  # how a lone surrogate starts in UTF-8 with surrogatepass
# The control characters a strict JSON string may not hold, with and without _SQ, which
# separates the bodies while they are decoded together.
_Controls: TypeAlias = tuple[bytes, list[tuple[bytes, bytes]]]
"""Control characters: all in one ``bytes`` (to delete), and each with its JSON spelling."""
_CONTROLS: _Controls = (bytes(range(0x20)), [(bytes((c,)), b"\\u%04x" % c) for c in range(0x20)])
_CONTROLS_BUT_SQ: _Controls = (
    _CONTROLS[0].replace(_SQB, b""),
    [control for control in _CONTROLS[1] if control[0] != _SQB],
)
_FEW_CONTROLS = 1 << 15  # bytes below which one translate looks for them all (_json_safe)
# Replacements and searches of _to_json that a regex does two to three times faster than
# bytes.replace and ``in`` (measured on 128 KiB chunks); the others are faster as replace.
_LIBVIRT = re.compile(rb"\)\(").sub
_EMPTY = re.compile(re.escape(b' [""] ')).sub
_GAP = re.compile(b'""').search


def _apart(regions: list[str]) -> bool:
    """True when a marker between each two regions hides no token: a quote right after
    an atom character is inside that atom, not a string; an atom character right after
    a string, or a second string, starts a new token."""
    ends = "".join(map(_LAST, regions[:-1])).encode("utf-8", "surrogatepass")
    starts = "".join(map(_FIRST, regions[1:])).encode("utf-8", "surrogatepass")
    return (
        not ends.translate(_NORMAL).strip(b" (")
        and not starts.translate(_NORMAL).strip(b" )")
        and all(regions[1:-1])
    )


def _split(text: str, quote: str, other: str) -> tuple[str, list[str]] | None:
    """The text with a marker for each string in ``quote``, and the bodies (escapes as
    written); ``None`` for an unterminated string or a marker that would hide a token.

    Also ``None`` when a region between two strings holds an odd count of the ``other``
    quote: then a string of the other kind held this ``quote`` and the regions are not
    what they seem. (``_marked`` has hidden every escaped quote, so each quote left
    opens or closes a string, or sits inside one of the other kind.)
    """
    if quote not in text:
        return text, []
    parts = text.split(quote)
    if not len(parts) & 1:
        return None
    regions = parts[0::2]
    marked = (_DQ if quote == '"' else _SQ).join(regions)
    if other in marked and any(map(and_, map(str.count, regions, repeat(other)), _ONES)):
        return None
    if not _apart(regions):
        return None
    return marked, parts[1::2]


def _quotes_apart(text: str) -> tuple[str, list[str], list[str]] | None:
    """The text split at its ``"`` and then its ``'`` (or the other way round when a
    ``'...'`` string holds a ``"``), with ``str.split``: no scanning loop.

    When an odd count of ``'`` comes before the first ``"``, that ``"`` is inside a
    ``'...'`` string (escaped quotes are hidden), so the split at ``"`` first cannot
    hold and is not tried: xend's repr writes such strings for text that has a ``"``.
    """
    orders: tuple[tuple[str, str], ...] = (('"', "'"), ("'", '"'))
    if text.count("'", 0, max(0, text.find('"'))) & 1:
        orders = orders[1:]
    for first, second in orders:
        outer = _split(text, first, second)
        inner = _split(outer[0], second, first) if outer is not None else None
        if outer is not None and inner is not None:
            if first == '"':
                return inner[0], inner[1], outer[1]
            return inner[0], outer[1], inner[1]
    return None


def _scan(text: str) -> tuple[str, list[str], list[str]] | None:
    """As ``_quotes_apart`` does, by a regex that steps over escaped quotes."""
    parts = _QUOTED.split(text)
    regions = parts[0::3]
    if not _apart(regions):
        return None
    double, single = parts[1::3], parts[2::3]
    marks = [_DQ if body is not None else _SQ for body in double]
    marked = "".join(chain.from_iterable(zip(regions, marks, strict=False))) + regions[-1]
    sq = [body for body in single if body is not None]
    return marked, sq, [body for body in double if body is not None]


def _json_strings(bodies: list[str], hidden: bool) -> list[bytes] | None:
    """The bodies unescaped as xend's reader does and made safe inside a JSON string, in
    UTF-8 (lone surrogates passed through); ``hidden`` says their escaped quotes and
    backslashes stand hidden (``_HIDDEN``)."""
    if not bodies:
        return []
    blob = "\x01".join(bodies)
    if hidden:
        for char, escape in _HIDDEN:
            if char in blob:
                blob = blob.replace(char, escape)
    if "\\" in blob:
        if _UNSURE_ESCAPE.search(blob.replace("\\\\", "")) is not None:
            return None
        try:
            raw: bytes = codecs.escape_decode(blob.encode("utf-8"))[0]
        except ValueError:  # a lone surrogate, or a \x cut short
            return None
        if raw.count(b"\x01") != len(bodies) - 1:  # an escape spelled the separator
            pieces = blob.split("\x01")
            decoded = [codecs.escape_decode(piece.encode("utf-8"))[0] for piece in pieces]
            return [_json_safe(_from_bytes(body), _CONTROLS) for body in decoded]
        try:
            blob = raw.decode("utf-8")
        except UnicodeDecodeError:
            blob = "\x01".join([_from_bytes(piece) for piece in raw.split(b"\x01")])
    return _json_safe(blob).split(_SQB)


def _json_safe(text: str, controls: _Controls = _CONTROLS_BUT_SQ) -> bytes:
    """The UTF-8 (lone surrogates passed through) of text that may sit inside a strict
    JSON string: backslashes, quotes and the ``controls`` in JSON's spelling (a marker
    character, which only an escape spells, among them, so it marks nothing). The bodies
    joined by ``_SQ`` keep their separators: the default ``controls`` leave ``_SQ`` out.

    The control characters are looked for one by one (``in`` on bytes is a ``memchr``),
    which costs a twentieth of one regex search for the lot; in less than
    ``_FEW_CONTROLS`` bytes one ``translate`` that deletes them all first tells whether
    there is any (the 31 searches cost some 10 us at any length: most of a 1 KB read's
    strings).
    """
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if '"' in text:
        text = text.replace('"', '\\"')
    data = text.encode("utf-8", "surrogatepass")
    chars, spellings = controls
    if len(data) < _FEW_CONTROLS and len(data.translate(None, chars)) == len(data):
        return data
    for char, spelling in spellings:
        if char in data:
            data = data.replace(char, spelling)
    return data


def _chunks(marked: str) -> list[str]:
    """``marked`` in pieces of about ``CHUNK`` characters, each cut before a blank run
    between two atoms (so no replacement of ``_spell`` straddles a cut).
    """
    pieces: list[str] = []
    start = 0
    while len(marked) - start > 2 * CHUNK:
        match = _CUT.search(marked, start + CHUNK)
        if match is None:
            break
        pieces.append(marked[start : match.start()])
        start = match.start()
    pieces.append(marked[start:] if start else marked)
    return pieces


def _to_json(layout: bytes) -> bytes:
    """JSON for text in xend's printer's layout, or ``""`` when it is not in it.

    With one space between elements and none inside parentheses, each space becomes
    ``","``, ``(`` becomes ``["`` and ``)`` ``"]``, and the quotes this leaves beside
    brackets turn into spaces (same-length replacements are the cheap kind); ``()``
    has become `` [""] ``, spaces both sides, which nothing else spells (``a()`` gives
    ``"a[""] ``, refused below). Any other layout leaves an empty
    ``""`` behind, which no atom can produce, or, as ``a(b`` and ``)a`` do, invalid
    JSON; ``)(`` (libvirt's layout) gets its space first.
    """
    doc = _LIBVIRT(b") (", layout).replace(b" ", b'","').replace(b"(", b'["').replace(b")", b'"]')
    doc = _EMPTY(b" [] ", doc.replace(b'"[', b" [").replace(b']"', b"] "))
    return b"" if _GAP(doc) else doc


def _spell(chunk: str, first: bool, last: bool, count: bool) -> tuple[bytes, int, bytes] | None:
    """One chunk (ASCII) as JSON, a bound on the values it holds (0 unless ``count``),
    and its parentheses; ``None`` when it holds a character no atom may.

    One ``bytes.translate`` turns every blank into a space and every refused character
    into NUL (the rest works on bytes too: their replacements are faster than ``str``'s).
    A chunk in xend's printer's layout is spelled by ``_to_json``; any other (the ``xm
    list -l`` layout, a final newline, two blanks) is split into tokens and joined as
    JSON strings, the parentheses fixed up after (``"(",`` is ``[``). A chunk after the
    first starts with the blank it was cut at, and one before the last ends in an atom,
    so the pieces join as ``_to_json`` would have spelled the whole.
    """
    layout = chunk.encode("ascii").translate(_NORMAL)
    if b"\x00" in layout:
        return None
    parens = layout.translate(None, _NOT_PARENS)
    if "\n" not in chunk and "\t" not in chunk and "\r" not in chunk:
        doc = _to_json(layout)
        if doc:
            return doc, layout.count(b" ") + parens.count(b"(") if count else 0, parens
    tokens = layout.replace(b"(", b" ( ").replace(b")", b" ) ").split()
    doc = (b'"' if first else b'","') + b'","'.join(tokens) + (b'"' if last else b"")
    doc = doc.replace(b'"(",', b"[").replace(b',")"', b"]").replace(b'[")"', b"[]")
    return doc, len(tokens), parens


def _splice(doc: bytes, marker: bytes, contents: list[bytes], start: int) -> tuple[bytes, int]:
    """Put ``contents[start:]`` in place of the markers, in order; the doc and how many
    contents have been used up to its end."""
    pieces = doc.split(marker)
    end = start + len(pieces) - 1
    spliced = chain.from_iterable(zip(pieces, contents[start:end], strict=False))
    return b"".join(spliced) + pieces[-1], end


def _build(doc: bytes) -> list[Expr] | None:
    """Decode the JSON; ``None`` if invalid.

    ``fast_loads`` holds the cyclic garbage collector off meanwhile: the decoder makes
    about 50,000 lists a megabyte, none of them garbage, and the young-generation
    collections they would trigger cost more than the decoding and grow with the heap.
    """
    try:
        try:
            result = _DECODE(doc)
        except msgspec.DecodeError:
            if _SURROGATE not in doc:
                raise
            result = _DECODE_TEXT(doc.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    assert isinstance(result, list)
    return result


def _hiding(match: re.Match[str]) -> str:
    """The character that hides an escaped backslash or quote."""
    return _HIDING[match.group()]


def _marked(text: str) -> tuple[str, list[bytes], list[bytes]] | None:
    """The text with a marker for each string, and the JSON-ready contents of the
    single- and of the double-quoted strings (``None`` if unsure).

    Escaped backslashes and quotes are hidden first; a hidden one outside a string is a
    character no atom may hold, which the layout pass refuses.
    """
    if '"' not in text and "'" not in text:
        return text, [], []
    hidden = "\\" in text
    if hidden:
        text = _HIDE(_hiding, text)
    split = _quotes_apart(text)
    if split is None:
        split = _scan(text)
    if split is None:
        return None
    marked, single, double = split
    sq = _json_strings(single, hidden)
    dq = _json_strings(double, hidden)
    if sq is None or dq is None:
        return None
    return marked, sq, dq


_Marked: TypeAlias = tuple[str, list[bytes], list[bytes], int]
"""A piece marked by ``_marked`` (text, single- and double-quoted contents) and its length."""


def fast_loads(text: str, limits: Limits) -> list[Expr] | None:
    """Parse clean text with C-level string operations; ``None`` when unsure.

    The cyclic garbage collector is held off while a long text is read (``_build``
    says why). A collector that was enabled is enabled again on every exit
    (``finally``: an exception, a ``KeyboardInterrupt``); one that was off (the
    caller's own hold, or another thread's) is left off. The call has no await, so
    cancellation cannot end it half way. The lists are then young objects like any
    others.
    """
    if any(char in text for char in _RESERVED):
        return None
    if not text.strip(_BLANKS):
        return []  # (not isspace(): it also holds for \x1c-\x1f, which xend's reader refuses)
    paused = len(text) >= _GC_PAUSE_FROM and gc.isenabled()
    if paused:
        gc.disable()
    try:
        # A text of n characters holds at most n values: only a longer one is counted.
        return _read_pieces(_marked_pieces(text), len(text) > limits.max_items, limits)
    finally:
        if paused:
            gc.enable()


def _marked_pieces(text: str) -> Iterator[tuple[_Marked, bool] | None]:
    """``text`` in pieces of about ``PIECE`` characters, each marked and whether it is
    the last; ``None`` (and no more) where unsure.

    The pieces come one at a time, so each is spelled and let go before the next is
    marked: a long text's marked copy is never held whole.
    """
    start = 0
    while len(text) - start > 2 * PIECE:
        piece = _cut_piece(text, start)
        if piece is None:
            break
        yield piece, False
        start += piece[3]
    last = _marked_piece(text[start:] if start else text)
    yield None if last is None else (last, True)


def _cut_piece(text: str, start: int) -> _Marked | None:
    """The marked piece of about ``PIECE`` characters from ``start``; ``None`` if no cut
    is found.

    Each cut is before a blank between two atoms, taken only if the piece before it
    marks with no quote left over: a cut inside a string leaves one unterminated, and
    the next candidate is looked for past the next quote, where that string most likely
    ends. After ``_MARK_TRIES`` pieces marked in vain there is none. (Counting the
    quotes before each candidate to skip those inside strings took four counts over the
    piece, more than the markings they spared: in xend's output about one blank in ten
    is inside a string.)
    """
    at = start + PIECE
    for _ in range(_MARK_TRIES):
        match = _CUT.search(text, at)
        if match is None:
            return None
        cut = match.start()
        piece = _marked_piece(text[start:cut])
        if piece is not None:
            return piece
        ends = [end for end in (text.find("'", cut), text.find('"', cut)) if end >= 0]
        if not ends:
            return None
        at = min(ends) + 1
    return None


def _marked_piece(piece: str) -> _Marked | None:
    """``_marked`` of one piece, ``None`` also when a quote is left outside the strings
    found or the marked text is not ASCII (then the fast path cannot read it)."""
    marked = _marked(piece)
    if marked is None:
        return None
    whole, sq, dq = marked
    if not whole.isascii() or "'" in whole or '"' in whole:
        return None
    return whole, sq, dq, len(piece)


def _read_pieces(
    pieces: Iterable[tuple[_Marked, bool] | None], count: bool, limits: Limits
) -> list[Expr] | None:
    """The top-level values of the marked pieces, each piece decoded on its own and its
    values added to the lists the pieces before left open; ``None`` when a piece holds
    what the fast path cannot read or crosses a limit.

    A piece's JSON closes the lists still open at its end (one ``]`` each) and the next
    piece's JSON opens as many again, before a ``"`` that makes its leading ``","`` an
    empty string: a list holding its continuation, down to the innermost, which starts
    with that ``""`` (``_stitch``). The limits are checked on each piece before it is
    decoded: the values counted so far, and the depth of its parentheses after the
    lists open before it.
    """
    values: list[Expr] = []
    spine: list[list[Expr]] = []  # the lists open at the end of the last piece, outermost first
    items = 0
    for marked in pieces:
        if marked is None:
            return None
        (whole, sq, dq, size), last = marked
        if size > limits.max_atom and max(map(len, sq + dq), default=0) > limits.max_atom:
            return None
        depth = len(spine)
        parts = [b"[" * depth + b'"'] if spine else []
        spelled = _spell_piece(whole, sq, dq, not spine, last, count, limits, parts)
        if spelled is None:
            return None
        piece_items, parens = spelled
        items += piece_items
        left = 0  # the lists still open (a text read whole: its balance is the decoder's)
        if spine or not last:
            left = depth + 2 * parens.count(b"(") - len(parens)
            if left != 0 if last else left < 1:
                return None
            parens = b"(" * depth + parens + b")" * left
        # One more "(" and one more level than the text has: the list of top-level values.
        if items > limits.max_items or not _shallow(parens, limits.max_depth + 1):
            return None
        if not last:
            parts.append(b'"' + b"]" * left)
        doc = b"".join(parts)
        del parts
        tree = _build(doc)
        del doc
        if tree is None:
            return None
        if spine:
            _stitch(spine, tree)
        else:
            values = tree
        open_lists = _open_lists(values, left)
        if open_lists is None:
            return None
        spine = open_lists
    return values


def _spell_piece(
    whole: str,
    sq: list[bytes],
    dq: list[bytes],
    first: bool,
    last: bool,
    count: bool,
    limits: Limits,
    parts: list[bytes],
) -> tuple[int, bytes] | None:
    """The JSON of each chunk of one marked piece appended to ``parts``, a bound on the
    values (counted only if ``count``), and the parentheses; ``None`` when a chunk holds
    what the fast path cannot read."""
    chunks = _chunks(whole)
    if first:  # the top-level values, in a list of their own
        chunks[0] = "(" + chunks[0]
    if last:
        chunks[-1] += ")"
    parens: list[bytes] = []
    items = 0
    used = [0, 0]
    for index, chunk in enumerate(chunks):
        spelled = _spell(chunk, first and index == 0, last and index == len(chunks) - 1, count)
        if spelled is None or (len(chunk) > limits.max_atom and _longest(chunk) > limits.max_atom):
            return None
        json_doc, values, chunk_parens = spelled
        items += values
        parens.append(chunk_parens)
        for kind, (marker, contents) in enumerate(((_SQB, sq), (_DQB, dq))):
            if contents:
                json_doc, used[kind] = _splice(json_doc, marker, contents, used[kind])
        parts.append(json_doc)
    return items, b"".join(parens)


def _stitch(spine: list[list[Expr]], tree: list[Expr]) -> None:
    """Add a piece's values to the lists ``spine`` the pieces before left open.

    ``tree`` is the continuation of the outermost; the first value of each continuation
    is the continuation of the next list in, and that of the innermost is the ``""``
    its JSON opened with, so each open list takes all but the first.
    """
    continued: Expr = tree
    for open_list in spine:
        assert isinstance(continued, list)
        open_list.extend(continued[1:])
        continued = continued[0]


def _open_lists(values: list[Expr], left: int) -> list[list[Expr]] | None:
    """The ``left`` lists open at the end of the values read so far, outermost first:
    each is the last value of the one before (``None`` if one is not a list)."""
    spine = [values] if left else []
    while len(spine) < left:
        inner = spine[-1][-1] if spine[-1] else None
        if not isinstance(inner, list):
            return None
        spine.append(inner)
    return spine


def _longest(chunk: str) -> int:
    """The length of the longest atom in the chunk (only asked of very long chunks)."""
    return max(map(len, _ATOM_ENDS.split(chunk)), default=0)


def _shallow(parens: bytes, max_depth: int) -> bool:
    """False when ``parens`` (only '(' and ')') nests deeper than ``max_depth``, or is
    found unbalanced on the way.

    No more ``(`` than ``max_depth`` cannot nest deeper, so small texts cost one count;
    their balance is left to the JSON decoder, which refuses any text whose brackets do
    not close into the one list around the whole.
    """
    if parens.count(b"(") <= max_depth:
        return True
    depth = 0
    budget = 4 * len(parens) + 64
    while parens:
        if depth >= max_depth:
            return False
        shorter = parens.replace(b"()", b"")
        if len(shorter) == len(parens):
            return False
        budget -= len(shorter)
        if budget < 0:
            return False
        parens = shorter
        depth += 1
    return True
