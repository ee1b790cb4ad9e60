"""``xapi.events(...)``: the stream of changes of a pool, as typed ``Event``s.

Two loops behind one iterator, chosen by what the server has:

* **event.from** (xapi, ``Xapi_event.from``): ``event.from(classes, token, timeout)``
  returns a batch ``{token, valid_ref_counts, events}``; each event names its class in
  lower case, its operation (``add``/``mod``/``del``), its ref and, but for ``del``, a
  snapshot of the record. The token of one batch asks the next one for what came
  after. ``""`` asks from the start: every object that exists comes first as an ``add``.
* **event.register / event.next** (xend, ``XendAPI.event_register``/``event_next``,
  also xapi before ``event.from``): a queue per session, of 50 events on xend, without
  snapshots; the iterator fetches each added or modified record (``<Class>.get_record``)
  so an ``Event`` looks the same whatever the server. xend keeps no history, so ``""``
  is served by reading every record of the classes (``get_all_records``) as ``add``
  events, and a token cannot resume: starting from one resynchronises (a ``Resync``).
  ``event.next`` blocks until there is an event (xend's ``Queue.get()`` has no timeout),
  so ``timeout`` does not apply there. xend has one queue per session, so one stream
  per client at a time: two would share out the events between them.

Losing events never passes in silence: ``EVENTS_LOST``, a session that expired (the
client logs in again; xend forgets registrations with the session), or
``SESSION_NOT_REGISTERED`` make the iterator read the state afresh and yield a
``Resync`` carrying every current record of the subscription, then go on.
``.token`` is the point to resume from (``xapi.events(classes, token=...)``): it moves
past a batch once its last event has been yielded, so a resumed stream may repeat the
end of a batch but never skips an event.
"""

from __future__ import annotations

import collections
import datetime
import importlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self, cast

import anyio

from aioxend.errors import ProtocolError, XendError
from aioxend.events import Event, Operation
from aioxend.xenapi import _values as _v
from aioxend.xenapi._generated import CLASSES
from aioxend.xenapi.errors import (
    EventsLost,
    HandleInvalid,
    MessageMethodUnknown,
    SessionInvalid,
    SessionNotRegistered,
)

if TYPE_CHECKING:
    from aioxend.xenapi._client import XenAPIClient

__all__ = ["EXTRA_SECONDS", "Event", "EventStream", "Operation", "Resync"]

log = logging.getLogger("aioxend.xenapi")

EXTRA_SECONDS: Final = 30.0
"""How much longer than its own ``timeout`` an ``event.from`` call may take on the wire."""
CLEANUP_SECONDS: Final = 5.0
"""The longest ``event.unregister`` on close may take; it is shielded from cancellation."""

_OPERATIONS: Final[frozenset[str]] = frozenset({"add", "mod", "del"})
_BY_LOWER: Final = {name.lower(): name for name in CLASSES}


@dataclass(frozen=True, slots=True)
class Resync:
    """The marker that events were lost and the state was read afresh.

    ``reason`` is the code that caused it (``"EVENTS_LOST"``, ``"SESSION_INVALID"``,
    ``"SESSION_NOT_REGISTERED"``, ``"TOKEN"`` for a token xend cannot resume, or
    ``"INTERRUPTED"`` for an ``event.next`` on xend cancelled or failed mid-way);
    ``records`` holds every current record of the subscription, by class (datamodel
    spelling) then ref, typed, with every class the subscription names (all of them for
    ``"*"``) present, empty if none is left; ``token`` is where the stream goes on from.
    Anything not in ``records`` no longer exists.
    """

    reason: str
    records: dict[str, dict[str, object]] = field(default_factory=dict)
    token: str = ""


def datamodel_class(name: str) -> str:
    """The datamodel's spelling of a class name in any case (``"vm"`` -> ``"VM"``);
    a name it does not know is kept as it is."""
    return _BY_LOWER.get(name.lower(), name)


def record_type(cls: str) -> type | None:
    """The generated record class of a datamodel class (``VMRecord``), loaded on first use."""
    if cls not in _BY_LOWER.values():
        return None
    module = importlib.import_module(f"aioxend.xenapi._generated.{cls.lower()}")
    return cast(type, getattr(module, f"{cls}Record"))


def typed_snapshot(cls: str, wire: object) -> object:
    """A snapshot as its typed record (``ProtocolError`` if it is not one)."""
    kind = record_type(cls)
    if kind is None:
        return wire
    return cast(object, kind.from_wire(wire))  # type: ignore[attr-defined]


def decode_event(wire: object, *, snapshots: bool = True) -> Event:
    """One event of ``event.from`` or ``event.next``, typed; ``ProtocolError`` if bad."""
    if not isinstance(wire, Mapping):
        raise ProtocolError(f"an event must be a struct, got {type(wire).__name__}")
    try:
        operation = _v.string(wire["operation"])
        if operation not in _OPERATIONS:
            raise ProtocolError(f"unknown event operation {operation!r}")
        cls = datamodel_class(_v.string(wire["class"]))
        snapshot = None
        if snapshots and operation != "del":
            if "snapshot" not in wire:
                raise ProtocolError(f"a {operation} event of {cls} without a snapshot")
            snapshot = typed_snapshot(cls, wire["snapshot"])
        return Event(
            id=_v.integer(wire["id"]),
            timestamp=_v.timestamp(wire.get("timestamp", "0.0")),
            cls=cls,
            operation=cast(Operation, operation),
            ref=_v.string(wire["ref"]),
            snapshot=snapshot,
        )
    except KeyError as exc:
        raise ProtocolError(f"an event without {exc.args[0]!r}") from None


async def decode_batch(wire: object) -> tuple[str, dict[str, int], list[Event]]:
    """An ``event.from`` batch: its token, valid_ref_counts and events. A large batch
    (``""`` on a big pool: every object) is decoded in slices, yielding to the loop
    between them (``_values.result_sliced``)."""
    method = "event.from"
    if not isinstance(wire, Mapping):
        got = type(wire).__name__
        raise ProtocolError(f"{method} returned a bad value: expected a struct, got {got}")
    token = _v.result(method, _TOKEN, wire.get("token"))
    counts = _v.result(method, _COUNTS, wire.get("valid_ref_counts", {}))
    events = await _v.result_sliced(method, _EVENTS, wire.get("events"))
    return token, counts, events


def _token(value: object) -> str:
    try:
        return _v.string(value)
    except ProtocolError as exc:
        raise ProtocolError(f"token: {exc}") from None


def _counts(value: object) -> dict[str, int]:
    try:
        return _COUNT_MAP(value)
    except ProtocolError as exc:
        raise ProtocolError(f"valid_ref_counts: {exc}") from None


def _events(value: object) -> list[Event]:
    if not isinstance(value, list):
        raise ProtocolError(f"events must be a list, got {type(value).__name__}")
    return [decode_event(event) for event in value]


_COUNT_MAP: Final = _v.map_of(_v.string, _v.integer)
_TOKEN: Final = _token
_COUNTS: Final = _counts
_EVENTS: Final = _events


class Subscription:
    """The classes asked for (``"*"``, ``"vm"``, ``"vm/OpaqueRef:..."``), and what xend's
    ``event.register`` needs of them (exact class names; ``[]`` for every class)."""

    def __init__(self, classes: Sequence[str]) -> None:
        if isinstance(classes, str) or not isinstance(classes, Sequence):
            raise TypeError(f"classes must be a list of names, e.g. ['vm'], not {classes!r}")
        if not classes or not all(isinstance(c, str) and c for c in classes):
            raise ValueError(f"classes must be non-empty names, e.g. ['vm', 'task']: {classes!r}")
        self.wire = [str(c) for c in classes]
        self.every = "*" in self.wire
        self.refs: dict[str, set[str]] = {}
        self.whole: set[str] = set()
        for sub in self.wire:
            name, sep, ref = sub.partition("/")
            if sub != "*":
                cls = datamodel_class(name)
                (self.refs.setdefault(cls, set()).add(ref) if sep else self.whole.add(cls))

    @property
    def classes(self) -> list[str]:
        """Every class named (datamodel spelling), for reading records; ``*`` is all."""
        if self.every:
            return list(CLASSES)
        return sorted(self.whole | set(self.refs))

    @property
    def register(self) -> list[str]:
        """The argument of xend's ``event.register``: ``[]`` registers every class."""
        return [] if self.every else self.classes

    def wants(self, cls: str, ref: str) -> bool:
        return self.every or cls in self.whole or ref in self.refs.get(cls, ())


class EventStream:
    """The async iterator ``xapi.events(classes, token=..., timeout=...)`` returns.

    Yields ``Event`` and, when events were lost, ``Resync``. ``token`` is the point to
    resume from; ``valid_ref_counts`` (xapi) the server's object counts per class (lower
    case) with the last batch. ``async with`` (or ``aclose``) ends it and, on xend,
    unregisters the session's events; one task at a time may iterate it.
    """

    def __init__(
        self,
        client: XenAPIClient,
        classes: Sequence[str],
        *,
        token: str = "",
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(token, str):
            raise TypeError(f"token must be a str from a previous stream, not {token!r}")
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
            # 0 would make the loop ask event.from again and again without a pause
            raise ValueError(f"timeout must be more than 0 and at most 86400 s, not {timeout!r}")
        self._client = client
        self._subscription = Subscription(classes)
        self.token = token
        self.timeout = float(timeout)
        self.valid_ref_counts: dict[str, int] = {}
        self._queue: collections.deque[Event | Resync] = collections.deque()
        self._batch_token = token
        self._legacy: bool | None = None
        self._xend_batches = 0
        self._interrupted = False
        self._registered = False
        self._busy = False
        self._closed = False

    def __repr__(self) -> str:
        return f"<EventStream {self._subscription.wire} token={self.token!r}>"

    # --- iteration ---------------------------------------------------------------------
    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event | Resync:
        if self._closed:
            raise StopAsyncIteration
        if self._busy:
            raise RuntimeError("another task is already reading this EventStream")
        self._busy = True
        try:
            while not self._queue:
                await self._fill()
            item = self._queue.popleft()
        finally:
            self._busy = False
        if isinstance(item, Resync):
            self.token = item.token
        elif not self._queue:
            self.token = self._batch_token
        return item

    async def _fill(self) -> None:
        """Put the next batch (perhaps empty) or a ``Resync`` in the queue."""
        try:
            if self._interrupted:
                await self._resync("INTERRUPTED")
            elif self._legacy is None:
                await self._start()
            elif self._legacy:
                await self._next_legacy()
            else:
                await self._next_from()
        except (EventsLost, SessionInvalid, SessionNotRegistered) as exc:
            if isinstance(exc, SessionInvalid) and self._client._adopted:
                raise  # an adopted session is never replaced: nothing to go on with
            log.info("Xen-API events at %s: %s; resynchronising", self._client.url, exc.code)
            await self._resync(exc.code)

    async def _start(self) -> None:
        try:
            await self._next_from()
            self._legacy = False
        except MessageMethodUnknown:
            self._legacy = True
            await self._register()
            if self.token:
                await self._resync("TOKEN")
            else:
                self._queue.extend(await self._read_all_as_adds())
                self._next_xend_token()

    # --- event.from ---------------------------------------------------------------------
    async def _next_from(self, token: str | None = None, wait: float | None = None) -> None:
        wait = self.timeout if wait is None else wait
        answer = await self._client.call(
            "event.from",
            self._subscription.wire,
            self._batch_token if token is None else token,
            wait,
            timeout=wait + EXTRA_SECONDS,
        )
        self._batch_token, self.valid_ref_counts, events = await decode_batch(answer)
        self._queue.extend(events)

    # --- event.register / event.next ----------------------------------------------------
    async def _register(self) -> None:
        await self._client.call("event.register", self._subscription.register)
        self._registered = True

    async def _next_legacy(self) -> None:
        """The next batch of ``event.next``, with each record read. Until the whole batch is
        queued the stream counts as interrupted: the events xend handed out are gone from
        its queue, and an ``event.next`` left waiting (cancelled, its connection lost)
        goes on waiting in xend and takes the next events with it; so the next ``_fill``
        makes a fresh registration and resynchronises."""
        self._interrupted = True
        batch = await self._read_legacy()
        self._queue.extend(batch)
        self._next_xend_token()
        self._interrupted = False

    async def _read_legacy(self) -> list[Event]:
        answer = await self._client.call("event.next", timeout=None)
        if not isinstance(answer, list):
            raise ProtocolError(
                f"event.next at {self._client.url} returned a bad value: "
                f"expected a list of events, got {type(answer).__name__}"
            )
        batch: list[Event] = []
        for wire in answer:
            try:
                event = decode_event(wire, snapshots=False)
            except ProtocolError as exc:
                raise ProtocolError(f"event.next returned a bad event: {exc}") from None
            if not self._subscription.wants(event.cls, event.ref):
                continue
            if event.operation != "del":
                event = await self._with_record(event, wire)
            batch.append(event)
        return batch

    def _next_xend_token(self) -> None:
        """A new token for each batch and resync on xend (``xend/<count>``): it marks
        where the stream is, so it moves at each batch as on xapi; it cannot resume."""
        self._xend_batches += 1
        self._batch_token = f"xend/{self._xend_batches}"

    async def _with_record(self, event: Event, wire: object) -> Event:
        """The event with its snapshot: the one that came (xapi's ``event.next``), else
        the record read now (xend sends none)."""
        if isinstance(wire, Mapping) and "snapshot" in wire:
            snapshot = typed_snapshot(event.cls, wire["snapshot"])
        else:
            try:
                answer = await self._client.call(f"{event.cls}.get_record", event.ref, read=True)
            except HandleInvalid:
                return event  # gone already: its del is on the way
            snapshot = _v.result(f"{event.cls}.get_record", _RecordOf(event.cls), answer)
        return Event(event.id, event.timestamp, event.cls, event.operation, event.ref, snapshot)

    async def _read_all_as_adds(self) -> list[Event]:
        """Every record of the subscription as ``add`` events (xend's start from ``""``)."""
        now = datetime.datetime.now(datetime.UTC)
        records = await self._read_records()
        return [
            Event(0, now, cls, "add", ref, record)
            for cls, by_ref in records.items()
            for ref, record in by_ref.items()
        ]

    async def _read_records(self) -> dict[str, dict[str, object]]:
        """Every current record the subscription covers, typed, by class and ref."""
        out: dict[str, dict[str, object]] = {}
        for cls in self._subscription.classes:
            try:
                answer = await self._client.call(f"{cls}.get_all_records", read=True)
            except MessageMethodUnknown:
                continue  # a class this server does not have (xend has 30)
            decode = _v.map_of(_v.string, _RecordOf(cls))
            records = await _v.result_sliced(f"{cls}.get_all_records", decode, answer)
            out[cls] = {r: rec for r, rec in records.items() if self._subscription.wants(cls, r)}
        return out

    # --- resynchronising -----------------------------------------------------------------
    async def _resync(self, reason: str) -> None:
        """Read every record afresh and queue a ``Resync`` in place of what was queued."""
        self._queue.clear()
        records: dict[str, dict[str, object]]
        if self._legacy:
            # a fresh queue: xend's event_unregister with [] drops the old one, and with it
            # an event.next still waiting on it (XendAPI.event_next's Queue.get)
            await self._client.call("event.unregister", [])
            await self._register()
            records = await self._read_records()
            self._next_xend_token()
            self._interrupted = False
            self._queue.append(Resync(reason, records, self._batch_token))
            return
        await self._next_from(token="", wait=0.0)
        records = {c: {} for c in self._subscription.classes}
        for event in self._queue:
            assert isinstance(event, Event)
            if event.operation != "del":  # a del from "" names an object that is gone
                records.setdefault(event.cls, {})[event.ref] = event.snapshot
        self._queue.clear()
        self._legacy = False
        self._queue.append(Resync(reason, records, self._batch_token))

    # --- closing --------------------------------------------------------------------------
    async def aclose(self) -> None:
        """End the stream; on xend, unregister (shielded, at most ``CLEANUP_SECONDS``)."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        if not self._registered or self._client._state != "open":
            return
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
            try:
                # [] drops the registration: xend's event_unregister keeps the
                # intersection of the classes given, so naming ours would keep them
                await self._client.call("event.unregister", [], timeout=CLEANUP_SECONDS)
            except XendError as exc:  # the registration ends with the session anyway
                log.debug("event.unregister at %s failed: %s", self._client.url, exc)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class _RecordOf:
    """The decoder of one class's records (its ``from_wire``), loaded when first used."""

    __slots__ = ("_cls",)

    def __init__(self, cls: str) -> None:
        self._cls = cls

    def __call__(self, wire: object) -> object:
        return typed_snapshot(self._cls, wire)
