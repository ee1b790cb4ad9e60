"""aioxend's loggers, the TRACE level, the wire trace, and the one redaction function.

Loggers: ``aioxend`` (a ``NullHandler``: silent until the application configures
logging), ``aioxend.client`` and ``aioxend.xenapi`` (one DEBUG line per call as it is
sent and one as it ends), ``aioxend.transport`` (connections opened, a request resent),
``aioxend.emulator``, and ``aioxend.wire``: the bytes of each request and answer at
``TRACE`` (5, below DEBUG), bodies cut at ``body_bytes`` (``configure_logging``). Nothing
logs at INFO or above on the way of a call.

Cost when off. A client asks ``Observer.on`` once per call (``isEnabledFor``, a cached
lookup); when that says no, no ``Tally`` is made, nothing is formatted, and the transport
finds no tally in ``CURRENT`` (one context variable read per request).

Secrets. ``redact`` is the one place text is cleaned: the secrets a client knows (its
password, its session references, in the spellings a body may carry them: XML, JSON and
form escapes) and, by pattern, ``Authorization``/``Cookie`` header values, ``session_id=``
parameters and a URL's password. Every log line, wire trace, hook URL and Xen-API error
parameter goes through it.

``AIOXEND_LOG`` (``debug`` or ``trace``; ``AIOXEND_LOG_BODY`` the bytes of a body shown) is
read once, when the first client is made (``from_environment``), and by ``aioxend
emulator``; the command line's ``-v``/``-vv`` override it.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Final, TextIO

__all__ = [
    "CLIENT",
    "CURRENT",
    "EMULATOR",
    "REDACTED",
    "ROOT",
    "TRACE",
    "TRANSPORT",
    "WIRE",
    "XENAPI",
    "Secrets",
    "Tally",
    "configure_logging",
    "from_environment",
    "redact",
]

TRACE: Final = 5
"""The wire trace's level, below ``logging.DEBUG`` (registered as ``"TRACE"``)."""
logging.addLevelName(TRACE, "TRACE")

ROOT: Final = logging.getLogger("aioxend")
ROOT.addHandler(logging.NullHandler())
CLIENT: Final = logging.getLogger("aioxend.client")
XENAPI: Final = logging.getLogger("aioxend.xenapi")
TRANSPORT: Final = logging.getLogger("aioxend.transport")
EMULATOR: Final = logging.getLogger("aioxend.emulator")
WIRE: Final = logging.getLogger("aioxend.wire")

REDACTED: Final = "<redacted>"
BODY_BYTES: Final = 2048
"""The default of how much of each request and answer body the wire trace shows."""
_settings = {"body_bytes": BODY_BYTES}

# Header values, by name, in a wire trace, a repr of header pairs or a query string.
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie|x-auth-token)"
    r"""(['"]?[ \t]*[:=,][ \t]*['"]?)[^'"\r\n]*"""
)
_SESSION_PARAM = re.compile(r"(?i)\b(session_?id=)[^&\s\"'<>;,)]+")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")


# Any of these in a text is the cue to run the patterns above (most texts have none).
_CUE = re.compile(r"(?i)authorization|cookie|x-auth-token|session_?id=|://[^/\s@]*@")


@functools.lru_cache(maxsize=256)
def _spellings(secret: str) -> tuple[str, ...]:
    """The ways a body may carry ``secret``: as is, XML-escaped, JSON-escaped,
    form-encoded; longest first, so an escaped form is not left half replaced."""
    xml = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    forms = {
        secret,
        xml,
        xml.replace('"', "&quot;").replace("'", "&apos;"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        urllib.parse.quote_plus(secret),
        urllib.parse.quote(secret, safe=""),
    }
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (in any spelling ``_spellings`` knows) and every
    credential the patterns recognise replaced by ``<redacted>``."""
    for secret in secrets:
        if secret:
            for form in _spellings(secret):
                if form in text:
                    text = text.replace(form, REDACTED)
    if _CUE.search(text) is None:
        return text
    text = _HEADER.sub(rf"\1\2{REDACTED}", text)
    text = _SESSION_PARAM.sub(rf"\1{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)


class Secrets:
    """The texts one client keeps out of sight: its password and its session references
    (the current one and the few before it, which may still appear in late answers)."""

    __slots__ = ("values",)

    _KEPT = 8

    def __init__(self, *values: str | None) -> None:
        self.values: tuple[str, ...] = ()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        """Keep ``value`` out of sight from now on (empty and ``None`` are ignored)."""
        if value and value not in self.values:
            self.values = (*self.values, value)[-self._KEPT :]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)


class Tally:
    """What the transport saw of one call's requests, while ``Observer.run`` observes it.

    ``headers`` are added to each request of the call (a per-call ``traceparent``);
    with ``trace`` set, each request is traced as it is sent and each answer is kept
    (``answers``) until the call ends, when the observer logs it with every secret then
    known redacted: a login's answer carries the session reference it creates.
    """

    __slots__ = (
        "answers",
        "call_id",
        "headers",
        "new",
        "received",
        "requests",
        "retries",
        "secrets",
        "sent",
        "status",
        "trace",
    )

    def __init__(
        self,
        call_id: int,
        secrets: Iterable[str],
        headers: tuple[tuple[str, str], ...] = (),
        trace: bool = False,
    ) -> None:
        self.call_id = call_id
        self.secrets = secrets
        self.headers = headers
        self.trace = trace
        self.requests = 0
        self.status: int | None = None
        self.sent = 0
        self.received = 0
        self.new = 0
        self.retries = 0
        self.answers: list[tuple[bytes, int]] = []

    def request(self, data: bytes, body_size: int) -> None:
        """One request about to be sent: its bytes (head and in-memory body)."""
        self.requests += 1
        self.sent += body_size
        if self.trace:
            WIRE.log(TRACE, "#%d >> %s", self.call_id, self.wire_text(data))

    def answer(self, head: str, body: bytes, size: int) -> None:
        """One answer, read or closed: its status line and headers, its first bytes, its
        body size."""
        self.received += size
        if self.trace:
            self.answers.append((head.encode("latin-1") + body, size))

    def wire_text(self, data: bytes, body_size: int | None = None) -> str:
        """A request or answer as text: the head whole, the body cut at ``body_bytes``
        after redaction, so a cut cannot leave half a secret."""
        limit = _settings["body_bytes"]
        head, sep, body = data.partition(b"\r\n\r\n")
        size = len(body) if body_size is None else body_size
        text = redact(body[: limit + 1024].decode("utf-8", "backslashreplace"), self.secrets)
        if size > limit or len(text) > limit:
            text = f"{text[:limit]}... ({size} bytes)"
        start = redact(head.decode("latin-1"), self.secrets).replace("\r\n", "\n")
        return f"{start}{sep.decode().replace(chr(13), '')}{text}".rstrip("\n")

    def flush(self) -> None:
        """Log the answers kept for the wire trace."""
        answers, self.answers = self.answers, []
        for data, size in answers:
            WIRE.log(TRACE, "#%d << %s", self.call_id, self.wire_text(data, size))

    def keep(self) -> int:
        """How many body bytes of an answer to keep for the trace (0: none)."""
        return _settings["body_bytes"] + 1024 if self.trace else 0


CURRENT: contextvars.ContextVar[Tally | None] = contextvars.ContextVar(
    "aioxend_tally", default=None
)
"""The tally of the call running in this context, if it is observed."""


_LEVELS: Final = {"debug": logging.DEBUG, "trace": TRACE}
_handler: logging.Handler | None = None
_from_env_done = False


def configure_logging(
    level: str | int = "debug",
    *,
    body_bytes: int | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send aioxend's log to ``stream`` (default stderr) at ``level``: ``"debug"`` (a line
    per call sent and ended) or ``"trace"`` (also the wire bytes), or a level number;
    ``"off"`` removes the handler and the level again.

    ``body_bytes`` bounds how much of each body the trace shows (default 2048). Calling it
    again replaces the handler it added; an application with its own logging setup needs
    none of this (set the ``aioxend`` logger's level instead).
    """
    global _handler
    if level == "off":
        if _handler is not None:
            ROOT.removeHandler(_handler)
            _handler = None
        ROOT.setLevel(logging.NOTSET)
        return
    if isinstance(level, str):
        if level.lower() not in _LEVELS:
            raise ValueError(f"log level must be 'debug', 'trace' or 'off', not {level!r}")
        level = _LEVELS[level.lower()]
    if body_bytes is not None:
        if isinstance(body_bytes, bool) or not isinstance(body_bytes, int) or body_bytes < 0:
            raise ValueError(f"body_bytes must be a number of bytes, not {body_bytes!r}")
        _settings["body_bytes"] = body_bytes
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if _handler is not None:
        ROOT.removeHandler(_handler)
    _handler = handler
    ROOT.addHandler(handler)
    ROOT.setLevel(level)


def from_environment() -> None:
    """Apply ``AIOXEND_LOG`` (``debug``/``trace``) and ``AIOXEND_LOG_BODY``, once per
    process; a value it cannot read is said once on stderr and otherwise ignored."""
    global _from_env_done
    if _from_env_done:
        return
    _from_env_done = True
    wanted = os.environ.get("AIOXEND_LOG", "").strip().lower()
    body = os.environ.get("AIOXEND_LOG_BODY", "").strip()
    if not wanted or wanted in ("0", "off", "none"):
        return
    try:
        configure_logging(wanted, body_bytes=int(body) if body else None)
    except ValueError as exc:
        sys.stderr.write(f"aioxend: ignoring AIOXEND_LOG={wanted!r}: {exc}\n")
