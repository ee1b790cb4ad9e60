"""The live object cache: ``cache = await xapi.cache(["VM", "host", "task"])``.

Strategy (Xen Orchestra's ``packages/xen-api`` does the same, and xapi's own
``Xapi_event.from`` is built for it):

* **seed**: ``event.inject`` on the pool object gives a token taken *before* the
  snapshot, then ``<Class>.get_all_records`` of every class fills the views. Events after
  the token that the snapshot already holds come again from the event loop; they are
  harmless, because ``event.from`` sends each object as it is when the batch is read
  (never an older state), so replaying them changes nothing and reports nothing.
* **update**: one background task reads ``xapi.events(...)`` (``_events.py``) from that
  token and applies each batch: ``add``/``mod`` store the snapshot (a typed record),
  ``del`` drops the reference. After each batch the batch's ``valid_ref_counts`` (how many
  objects of each class the server holds) are compared with the views; a view that
  disagrees has drifted (an event the server never sent) and is fetched again with
  ``get_all_records``. ``EVENTS_LOST`` and a session expiry come as the iterator's
  ``Resync``, whose fresh records replace the views. Every resync is logged as a warning
  and counted (``cache.resyncs``), and what it changed is reported as changes with
  ``.resync`` set, never silently.
* **report**: every batch that changed something is published as a tuple of ``Change``
  (``cls``, ``operation``, ``ref``, ``old``, ``new``) on a chain of nodes: ``changed()``
  waits for the next node, ``changes()`` walks the chain, so any number of readers share
  one copy and a node is freed once the slowest reader has passed it.
* **ride out the network**: when moving bytes fails (``TransportError``, or an HTTP 5xx
  of a proxy or a restarting xapi), a new stream goes on from the last batch applied
  after a pause, up to ``RETRIES`` times in a row (logged as warnings); xapi's token
  loses nothing, xend reads afresh (a ``Resync``).
* **fail loudly**: if the loop fails, every later read of the cache raises
  ``CacheError`` (its cause the loop's exception), as do ``changed()`` and ``changes()``
  once they have given what came before; a closed cache raises ``RuntimeError``.

The background task is an asyncio task or, under trio, a system task, so ``await
xapi.cache(...)`` needs no task group of the caller's; ``aclose()`` (or leaving ``async
with``) cancels it and waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import anyio

from aioxend.errors import HTTPStatusError, TransportError, UnsupportedOperation, XendError
from aioxend.xenapi._cache_view import CacheView
from aioxend.xenapi._events import EventStream, Resync, record_type
from aioxend.xenapi._generated._views import CACHEABLE, Views
from aioxend.xenapi.errors import MessageMethodUnknown

if TYPE_CHECKING:
    from aioxend.xenapi._client import XenAPIClient
    from aioxend.xenapi._generated._refs import poolRef

__all__ = ["Cache", "CacheError", "CacheView", "Change", "open_cache"]

log = logging.getLogger("aioxend.xenapi.cache")

EVENT_TIMEOUT: Final = 30.0
"""Seconds one ``event.from`` waits on the server before it answers an empty batch."""
RETRIES = 5
"""Transport failures in a row (no batch between them) the update loop rides out."""
RETRY_SECONDS = 0.5
"""The pause after the first of them; it doubles with each one after."""

Operation = Literal["add", "mod", "del"]


class CacheError(XendError):
    """The cache can no longer be trusted: its update loop failed (see ``__cause__``)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One change the cache applied: ``old`` is ``None`` for an ``add``, ``new`` for a ``del``.

    ``resync`` is ``None`` for a change an event brought, else why the cache fetched the
    class again (``"drift"``, ``"EVENTS_LOST"``...): the change is what the resync found.
    """

    cls: str
    operation: Operation
    ref: str
    old: Any
    new: Any
    resync: str | None = None


class _Node:
    """A link of the chain of published batches; ``next`` is set when it is filled."""

    __slots__ = ("changes", "next")

    def __init__(self) -> None:
        self.changes: tuple[Change, ...] = ()
        self.next: _Node | None = None


def _classes(classes: Sequence[str]) -> tuple[str, ...]:
    """The classes asked for, as xapi spells them (``"vm"`` is ``"VM"``), once each."""
    if isinstance(classes, str) or not isinstance(classes, Sequence):
        raise TypeError(f"classes is a list of class names, not {classes!r}")
    by_lower = {c.lower(): c for c in CACHEABLE}
    out: list[str] = []
    for name in classes:
        spelled = by_lower.get(name.lower()) if isinstance(name, str) else None
        if spelled is None:
            raise ValueError(
                f"{name!r} is not a class a cache can hold (one with get_all_records: "
                f"{', '.join(CACHEABLE[:6])}, ...)"
            )
        if spelled not in out:
            out.append(spelled)
    if not out:
        raise ValueError("a cache needs at least one class")
    return tuple(out)


class Cache(Views):
    """A live, read-only view of some classes of a pool: ``cache.VM[ref]``, ``cache.host``.

    Open it with ``await xapi.cache([...])``; ``aclose()`` (or ``async with`` the cache)
    stops its update loop. ``resyncs`` counts the times it fetched a class
    again (drift, lost events, a new session).
    """

    def __init__(self, client: XenAPIClient, classes: Sequence[str]) -> None:
        self._client = client
        self.classes: tuple[str, ...] = _classes(classes)
        self._views: dict[str, CacheView[Any, Any]] = {}
        for cls in self.classes:
            kind = record_type(cls)
            assert kind is not None  # every class with get_all_records has a record
            view: CacheView[Any, Any] = CacheView(self, cls, kind)
            self._views[cls.lower()] = view
            self.__dict__[cls] = view
        self.resyncs = 0
        self._state: Literal["new", "opening", "open", "failed", "closed"] = "new"
        self._failure: BaseException | None = None
        self._tail = _Node()
        self._task: object = None  # the asyncio task, kept alive while it runs
        self._pool_ref: poolRef | None = None  # what barrier() injects events on (xapi)
        self._token = ""  # the stream's token after the last batch applied
        self._subscribed: list[str] = []  # what the event stream is asked for
        # made by _open, since anyio needs the running event loop for them
        self._wake: anyio.Event
        self._scope: anyio.CancelScope
        self._done: anyio.Event

    if not TYPE_CHECKING:  # mypy knows the views from Views, and nothing else

        def __getattr__(self, name: str) -> Any:
            if name in CACHEABLE:
                raise AttributeError(
                    f"this cache holds {', '.join(self.classes)}, not {name}: "
                    f"open one with xapi.cache([..., {name!r}])"
                )
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        sizes = ", ".join(f"{v.cls}={len(v._records)}" for v in self._views.values())
        return f"<Cache {self._state} {sizes}>"

    # --- the liveness check every read makes ---------------------------------------------
    def _check(self) -> None:
        if self._state == "open":
            return
        if self._state == "failed":
            raise CacheError(f"the cache stopped: {self._failure}") from self._failure
        if self._state == "closed":
            raise RuntimeError("this cache is closed")
        raise RuntimeError("the cache is not open yet")

    # --- changes ---------------------------------------------------------------------------
    async def changed(self) -> tuple[Change, ...]:
        """Wait for the next batch that changes the cache; its changes, once applied."""
        node = self._tail
        while node.next is None:
            self._check()
            await self._wake.wait()
        return node.changes

    def changes(self) -> AsyncIterator[Change]:
        """Every change from this call on, in order; ends when the cache is closed."""
        return self._walk(self._tail)

    async def _walk(self, node: _Node) -> AsyncIterator[Change]:
        while True:
            while node.next is None:
                if self._state == "closed":
                    return
                self._check()
                await self._wake.wait()
            for change in node.changes:
                yield change
            node = node.next

    async def barrier(self) -> None:
        """Wait until the cache holds every change the server made before this call.

        ``event.inject`` on the pool object gives a token; the cache has caught up once
        it has applied a batch whose token is at or past it (xapi's tokens compare as
        strings, as ``event.inject`` documents). xend has no ``event.inject``:
        ``UnsupportedOperation``.
        """
        self._check()
        if self._pool_ref is None:
            raise UnsupportedOperation("Cache.barrier (event.inject)", "xend Xen-API")
        token = await self._client.event.inject("pool", self._pool_ref)
        while self._token < token:
            self._check()
            await self._wake.wait()

    def _publish(self, changes: list[Change]) -> None:
        if not changes:
            return
        node = self._tail
        node.changes = tuple(changes)
        node.next = self._tail = _Node()
        self._wake_all()

    def _wake_all(self) -> None:
        wake, self._wake = self._wake, anyio.Event()
        wake.set()

    # --- applying what the server says -------------------------------------------------------
    def _apply(self, cls: str, operation: str, ref: str, snapshot: object) -> Change | None:
        """Apply one event; the change it made to the cache, if any."""
        view = self._views.get(cls.lower())
        if view is None:
            return None
        if operation == "del":
            old = view._drop(ref)
            return None if old is None else Change(view.cls, "del", ref, old, None)
        if snapshot is None:
            return None  # xapi sends no snapshot for an object it could not read
        old = view._put(ref, snapshot)
        if old is None:
            return Change(view.cls, "add", ref, None, snapshot)
        return None if old == snapshot else Change(view.cls, "mod", ref, old, snapshot)

    def _drifted(self, counts: dict[str, int]) -> list[str]:
        """The classes whose object count on the server is not the view's."""
        out = []
        for lower, view in self._views.items():
            count = counts.get(lower)
            if count is not None and count != len(view._records):
                log.warning(
                    "cache of %s at %s drifted: the server holds %d, the cache %d; fetching again",
                    view.cls,
                    self._client.url,
                    count,
                    len(view._records),
                )
                out.append(view.cls)
        return out

    def _replace(self, cls: str, records: dict[Any, Any], reason: str | None) -> list[Change]:
        """Make a view hold exactly ``records``; the changes that took."""
        view = self._views[cls.lower()]
        old = view._snapshot()
        changes = []
        for ref in old.keys() - records.keys():
            view._drop(ref)
            changes.append(Change(cls, "del", ref, old[ref], None, reason))
        for ref, record in records.items():
            before = old.get(ref)
            if before is None or before != record:
                view._put(ref, record)
                op: Operation = "add" if before is None else "mod"
                changes.append(Change(cls, op, ref, before, record, reason))
        return changes

    async def _fetch(self, classes: Sequence[str]) -> dict[str, dict[Any, Any]]:
        """``get_all_records`` of each class, one after the other (one large answer in
        memory at a time, and its error raised as itself)."""
        out: dict[str, dict[Any, Any]] = {}
        for cls in classes:
            getter: Callable[[], Awaitable[dict[Any, Any]]] = getattr(
                self._client, cls
            ).get_all_records
            out[cls] = await getter()
        return out

    async def _resync(self, classes: Sequence[str], reason: str) -> None:
        """Fetch ``classes`` again and publish what differed."""
        self.resyncs += 1
        fresh = await self._fetch(classes)
        changes: list[Change] = []
        for cls in classes:
            changes += self._replace(cls, fresh[cls], reason)
        log.warning(
            "cache at %s resynced %s (%s): %d changes",
            self._client.url,
            ", ".join(classes),
            reason,
            len(changes),
        )
        self._publish(changes)

    # --- open and close ----------------------------------------------------------------------
    async def _seed(self) -> EventStream:
        """Fill every view; the event stream that goes on from the state they hold."""
        classes = [cls.lower() for cls in self.classes]
        try:
            pools = await self._client.pool.get_all()
        except MessageMethodUnknown:  # xend: no pool, no event.from, no event.inject
            return await self._seed_legacy(classes)
        if not pools:
            raise CacheError(f"{self._client.url} has no pool object to inject an event on")
        self._pool_ref = pools[0]
        self._token = await self._client.event.inject("pool", self._pool_ref)
        for cls, records in (await self._fetch(self.classes)).items():
            self._replace(cls, records, None)
        if "pool" not in classes:
            classes.append("pool")  # for barrier()'s injected events
        self._subscribed = classes
        return self._client.events(classes, token=self._token, timeout=EVENT_TIMEOUT)

    async def _seed_legacy(self, classes: list[str]) -> EventStream:
        """xend's seed: a stream started from a token, which registers for events and then
        reads every record (a ``Resync``), so nothing between the two is missed."""
        self._subscribed = classes
        stream = self._client.events(classes, token="xend/0", timeout=EVENT_TIMEOUT)
        try:
            first = await stream.__anext__()
            if not isinstance(first, Resync):
                raise CacheError(f"{self._client.url}: the event stream began with {first!r}")
            missing = [cls for cls in self.classes if cls not in first.records]
            if missing:
                raise CacheError(f"{self._client.url} has no class {', '.join(missing)}")
            for cls in self.classes:
                self._replace(cls, first.records[cls], None)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
            raise
        return stream

    async def _open(self) -> Self:
        if self._state != "new":
            raise RuntimeError("a Cache can be opened once")
        self._state = "opening"
        self._wake, self._scope, self._done = anyio.Event(), anyio.CancelScope(), anyio.Event()
        try:
            stream = await self._seed()
        except BaseException:
            self._state = "closed"
            raise
        self._state = "open"
        self._start(stream)
        return self

    def _start(self, stream: EventStream) -> None:
        import sniffio

        if sniffio.current_async_library() == "trio":
            import trio

            trio.lowlevel.spawn_system_task(self._run, stream)
        else:
            import asyncio

            self._task = asyncio.get_running_loop().create_task(self._run(stream))

    async def _run(self, stream: EventStream) -> None:
        try:
            with self._scope:
                await self._follow_again(stream)
        except Exception as exc:
            if self._state == "open":
                self._failure = exc
                self._state = "failed"
                log.error("cache at %s stopped: %s", self._client.url, exc)
        finally:
            self._done.set()
            self._wake_all()

    async def _follow_again(self, stream: EventStream) -> None:
        """Follow ``stream``; when moving bytes fails (or the server answers HTTP 5xx), a
        new stream goes on from the last batch applied, after a pause (``RETRY_SECONDS``,
        doubling); ``RETRIES`` failures with no batch between them, or any other error,
        end the loop."""
        failures = 0
        while True:
            token = self._token
            try:
                async with stream:
                    await self._follow(stream)
                return
            except (TransportError, HTTPStatusError) as exc:
                if isinstance(exc, HTTPStatusError) and exc.status < 500:
                    raise
                failures = 1 if self._token != token else failures + 1
                if failures > RETRIES:
                    raise
                pause = RETRY_SECONDS * 2 ** (failures - 1)
                log.warning(
                    "cache at %s: events failed (%s); again in %.1f s", self._client.url, exc, pause
                )
                await anyio.sleep(pause)
                # xend resumes from no token of its own: any token makes it read afresh
                resume = self._token or "xend/0"
                stream = self._client.events(self._subscribed, token=resume, timeout=EVENT_TIMEOUT)

    async def _follow(self, stream: EventStream) -> None:
        """Apply the stream's events; after each batch, publish and check the counts.

        A batch ends when the stream's token moves (it does once the batch's last event
        has been yielded, ``_events.EventStream``); ``valid_ref_counts`` are then that
        batch's.
        """
        token = stream.token
        changes: list[Change] = []
        async for item in stream:
            if isinstance(item, Resync):
                await self._take(item)
            else:
                change = self._apply(item.cls, item.operation, item.ref, item.snapshot)
                if change is not None:
                    changes.append(change)
            if stream.token == token:
                continue
            token = stream.token
            self._publish(changes)
            changes = []
            drifted = self._drifted(stream.valid_ref_counts)
            if drifted:
                await self._resync(drifted, "drift")
            self._token = token
            self._wake_all()  # barrier() waits for the token, with or without changes

    async def _take(self, resync: Resync) -> None:
        """Replace the views with a ``Resync``'s records (events were lost)."""
        self.resyncs += 1
        changes: list[Change] = []
        for cls in self.classes:
            records = resync.records.get(cls, {})
            fresh = {ref: record for ref, record in records.items() if record is not None}
            changes += self._replace(cls, fresh, resync.reason)
        log.warning(
            "cache at %s resynced (%s): %d changes", self._client.url, resync.reason, len(changes)
        )
        self._publish(changes)

    async def aclose(self) -> None:
        """Stop the update loop and wait for it; later reads raise ``RuntimeError``."""
        if self._state not in ("open", "failed"):
            self._state = "closed"
            return
        self._state = "closed"
        self._scope.cancel()
        with anyio.CancelScope(shield=True):
            await self._done.wait()
        self._wake_all()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def open_cache(client: XenAPIClient, classes: Sequence[str]) -> Cache:
    """A cache of ``classes`` of ``client``'s pool, seeded and live (``XenAPIClient.cache``)."""
    return await Cache(client, classes)._open()
