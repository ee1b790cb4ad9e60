"""The pool's change log, and ``event.from`` batches computed from it, as xapi does.

Every change bumps one generation counter and stamps the object: created, modified, or
deleted at generation N (xapi keeps the same stamps per database row). A batch since a
token (``Xapi_event.from``) holds, per object, at most one event: ``add`` for one
created after it, ``mod`` for one modified after it and created before, ``del`` for
one deleted after it and created before (``collect_events``); ``add``/``mod`` carry a
snapshot of the record as it is now. Tokens are ``"%020d,%020d"`` of the generation and
a message generation (always 0 here), and ``""`` means generation 0: every object comes
back as ``add``. Subscriptions are ``"*"``, a lower-case class (``"vm"``), or
``"vm/OpaqueRef:..."`` for one object. Listeners (the servers' event loops) are told of
every change, so a waiting ``event.from`` wakes up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aioxend.emulator.xenapi._failure import Failure

__all__ = ["EventLog", "Int32", "matches", "parse_token", "token"]


class Int32(int):
    """An int xapi sends as an XML-RPC ``<int>`` (rpclib's ``Int32``), not as a string."""


def token(generation: int) -> str:
    """The token of a generation (``Xapi_event.Token.to_string``)."""
    return f"{generation:020d},{0:020d}"


def parse_token(text: str) -> int:
    """The generation of a token; ``EVENT_FROM_TOKEN_PARSE_FAILURE`` if it is not one."""
    if text == "":
        return 0
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return int(parts[0])
    except ValueError:
        raise Failure("EVENT_FROM_TOKEN_PARSE_FAILURE", text) from None


@dataclass
class _Stamp:
    created: int
    modified: int


@dataclass
class EventLog:
    """Creation, modification and deletion stamps of every object, by (class, ref)."""

    generation: int = 0
    stamps: dict[tuple[str, str], _Stamp] = field(default_factory=dict)
    deleted: list[tuple[int, int, str, str]] = field(default_factory=list)
    listeners: list[Callable[[], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _bump(self) -> int:
        self.generation += 1
        return self.generation

    def created(self, cls: str, ref: str) -> None:
        with self.lock:
            gen = self._bump()
            self.stamps[(cls, ref)] = _Stamp(gen, gen)
        self._notify()

    def modified(self, cls: str, ref: str) -> None:
        with self.lock:
            stamp = self.stamps.get((cls, ref))
            if stamp is None:
                return
            stamp.modified = self._bump()
        self._notify()

    def removed(self, cls: str, ref: str) -> None:
        with self.lock:
            stamp = self.stamps.pop((cls, ref), None)
            if stamp is None:
                return
            self.deleted.append((stamp.created, self._bump(), cls, ref))
        self._notify()

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()

    def since(self, generation: int) -> list[tuple[int, str, str, str]]:
        """(generation, operation, class, ref) of every event after ``generation``,
        oldest first."""
        out: list[tuple[int, str, str, str]] = []
        with self.lock:
            for (cls, ref), stamp in self.stamps.items():
                if stamp.created > generation:
                    out.append((stamp.created, "add", cls, ref))
                elif stamp.modified > generation:
                    out.append((stamp.modified, "mod", cls, ref))
            for created, gone, cls, ref in self.deleted:
                if gone > generation and created <= generation:
                    out.append((gone, "del", cls, ref))
        out.sort()
        return out


def matches(subscriptions: Iterable[str], cls: str, ref: str) -> bool:
    """Whether an event on (``cls``, ``ref``) is one the subscriptions ask for."""
    name = cls.lower()
    for sub in subscriptions:
        if sub == "*" or sub.lower() == name:
            return True
        sub_cls, sep, sub_ref = sub.partition("/")
        if sep and sub_cls.lower() == name and sub_ref == ref:
            return True
    return False
