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
every change, so a waiting ``event.from`` wakes up; observers are told what changed
(operation, class, ref), which xend's queues need.

xend's older event API (``XendAPI.event_register``/``event_next``/``event_unregister``)
is ``Registrations``: per session, the classes it registered (exact names, ``[]`` for
all) and a queue of at most ``EVENT_QUEUE_LENGTH`` (50) events, each ``{id, timestamp,
class, operation, ref, obj_uuid, field}`` with an id counted per session and no
snapshot. xend's ``Queue.put`` blocks the writer when a queue is full; the emulator
cannot block its own dispatcher, so it drops the event and answers the next
``event.next`` with ``EVENTS_LOST`` (xapi's ``event.next`` behaviour), which is the
loss a client has to handle either way. ``lose`` forces that for tests.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aioxend.emulator.xenapi._failure import Failure

__all__ = [
    "EVENT_QUEUE_LENGTH",
    "EventLog",
    "Int32",
    "Registrations",
    "matches",
    "parse_token",
    "token",
]

EVENT_QUEUE_LENGTH = 50
"""xend's ``XendAPI.EVENT_QUEUE_LENGTH``: the events a session's queue holds."""


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
    horizon: int = 0
    """Tokens older than this generation are ``EVENTS_LOST`` (``forget_history``)."""
    stamps: dict[tuple[str, str], _Stamp] = field(default_factory=dict)
    deleted: list[tuple[int, int, str, str]] = field(default_factory=list)
    listeners: list[Callable[[], None]] = field(default_factory=list)
    observers: list[Callable[[str, str, str], None]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _bump(self) -> int:
        self.generation += 1
        return self.generation

    def created(self, cls: str, ref: str) -> None:
        with self.lock:
            gen = self._bump()
            self.stamps[(cls, ref)] = _Stamp(gen, gen)
        self._notify("add", cls, ref)

    def modified(self, cls: str, ref: str) -> None:
        with self.lock:
            stamp = self.stamps.get((cls, ref))
            if stamp is None:
                return
            stamp.modified = self._bump()
        self._notify("mod", cls, ref)

    def removed(self, cls: str, ref: str) -> None:
        with self.lock:
            stamp = self.stamps.pop((cls, ref), None)
            if stamp is None:
                return
            self.deleted.append((stamp.created, self._bump(), cls, ref))
        self._notify("del", cls, ref)

    def forget_history(self) -> None:
        """Lose the history before now: an ``event.from`` from an older token (not ``""``)
        is ``EVENTS_LOST``, as when xapi has dropped the deletions it kept; waiting
        calls wake up to see it."""
        with self.lock:
            self.horizon = self._bump()
            self.deleted.clear()
        for listener in list(self.listeners):
            listener()

    def _notify(self, operation: str, cls: str, ref: str) -> None:
        for observer in list(self.observers):
            observer(operation, cls, ref)
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


@dataclass
class _Queue:
    classes: set[str]
    every: bool = False
    events: deque[dict[str, object]] = field(default_factory=deque)
    next_id: int = 1
    lost: bool = False


class Registrations:
    """xend's ``event.register``/``event.next`` queues, one per registered session."""

    def __init__(self, events: EventLog) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, _Queue] = {}
        events.observers.append(self._record)

    def register(self, session: str, classes: Iterable[str]) -> None:
        """Add classes to a session's registration (``[]``: every class). Names match
        exactly, as xend compares them (``"VM"``, not ``"vm"``; ``"*"`` is no wildcard)."""
        wanted = set(classes)
        with self._lock:
            queue = self._queues.setdefault(session, _Queue(set()))
            queue.classes |= wanted
            queue.every |= not wanted

    def unregister(self, session: str, classes: Iterable[str]) -> None:
        """Keep only ``classes`` of a registration (``[]``: drop it), as xend's
        ``event_unregister`` (an intersection) does."""
        keep = set(classes)
        with self._lock:
            queue = self._queues.get(session)
            if queue is None:
                return
            queue.classes &= keep
            if queue.every and keep:
                queue.classes, queue.every = keep, False
            if not keep or not (queue.classes or queue.every):
                del self._queues[session]

    def forget(self, session: str) -> None:
        """Drop a session's registration (its session ended)."""
        with self._lock:
            self._queues.pop(session, None)

    def lose(self, session: str | None = None) -> None:
        """Make the next ``event.next`` of a session (every one with None) ``EVENTS_LOST``."""
        with self._lock:
            for ref, queue in self._queues.items():
                if session is None or ref == session:
                    queue.lost = True

    def registered(self, session: str) -> bool:
        with self._lock:
            return session in self._queues

    def take(self, session: str) -> list[dict[str, object]]:
        """Every queued event of a session, oldest first (``[]`` if none yet)."""
        with self._lock:
            queue = self._queues.get(session)
            if queue is None:
                raise Failure("SESSION_NOT_REGISTERED", session)
            if queue.lost:
                queue.lost = False
                queue.events.clear()
                raise Failure("EVENTS_LOST")
            taken = list(queue.events)
            queue.events.clear()
            return taken

    def _record(self, operation: str, cls: str, ref: str) -> None:
        if cls == "session":  # logins are no API constructor call (XendAPI's dispatch)
            return
        event: dict[str, object] = {
            "timestamp": datetime.now(UTC).replace(microsecond=0),
            "class": cls,
            "operation": operation,
            "ref": ref,
            "obj_uuid": ref,
            "field": "",
        }
        with self._lock:
            for queue in self._queues.values():
                if not queue.every and cls not in queue.classes:
                    continue
                if len(queue.events) >= EVENT_QUEUE_LENGTH:
                    queue.lost = True
                    continue
                queue.events.append({**event, "id": queue.next_id})
                queue.next_id += 1
