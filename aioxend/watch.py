"""``client.watch()``: domain changes of a legacy xend as ``Event``s, by polling.

Neither legacy protocol has events: xend's XML-RPC server and its SXP/HTTP server only
answer requests (``xend/server/XMLRPCServer.py``, ``SrvDomainDir.py``). So a watch
polls ``domains()`` every ``interval`` seconds (from the start of one poll to the start
of the next) and compares each domain's typed record with the one before:

* a domain not seen before is an ``add`` (on the first poll, every domain, as
  ``event.from`` with an empty token gives every object; ``initial=False`` only takes
  the first poll as the starting point);
* one whose record differs is a ``mod``, ``changed`` naming the fields that differ
  (``DomainInfo``'s fields; ``sxp``, the raw record, is never compared, and ``ignore``
  leaves out more: by default ``cpu_time``, which grows at every poll while a domain
  runs);
* one no longer listed is a ``del``, without a snapshot.

A domain is known by its UUID (``ref``), which survives a rename and a reboot, or by its
name where the record has no UUID. Events carry ``cls="domain"``, an ``id`` counting from
1 and the ``timestamp`` of the poll that saw them. Errors of a poll (a dead server is a
``ConnectError`` naming ``domains`` and the URL) end the iteration; a cancellation
stops it between or during polls, leaving the client usable.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import math
from collections.abc import Collection
from typing import TYPE_CHECKING, Final, Self

import anyio

from aioxend._default import DEFAULT, TimeoutArg
from aioxend.events import Event, Operation
from aioxend.models import DomainInfo

if TYPE_CHECKING:
    from aioxend.client import XendClient

__all__ = ["DEFAULT_IGNORED", "FIELDS", "DomainWatch"]

FIELDS: Final = frozenset(f.name for f in dataclasses.fields(DomainInfo)) - {"sxp"}
"""The fields a watch compares."""

DEFAULT_IGNORED: Final = frozenset({"cpu_time"})
"""Fields left out unless ``ignore=`` says otherwise: they change at every poll."""

CLS: Final = "domain"


def _key(domain: DomainInfo) -> str:
    return str(domain.uuid) if domain.uuid is not None else domain.name


class DomainWatch:
    """The async iterator of ``XendClient.watch()``: ``Event``s of the client's domains.

    ``interval`` is the period of the polls in seconds; ``ignore`` the fields whose
    changes are not reported; ``initial`` whether the domains of the first poll come as
    ``add`` events; ``full`` polls the records with their devices, so attaching or
    detaching one is a ``mod`` of ``devices``; ``timeout`` bounds each poll (the
    client's by default). One task at a time may iterate it.
    """

    def __init__(
        self,
        client: XendClient,
        *,
        interval: float = 1.0,
        ignore: Collection[str] = DEFAULT_IGNORED,
        initial: bool = True,
        full: bool = False,
        timeout: TimeoutArg = DEFAULT,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            raise TypeError(f"interval must be seconds, not {interval!r}")
        if not (math.isfinite(interval) and interval > 0):
            raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
        if isinstance(ignore, str):
            raise TypeError(f"ignore must be a collection of field names, not {ignore!r}")
        unknown = set(ignore) - FIELDS
        if unknown:
            raise ValueError(
                f"ignore names no field of DomainInfo: {sorted(unknown)}; "
                f"the fields are {sorted(FIELDS)}"
            )
        self.interval = float(interval)
        self.compared = FIELDS - set(ignore)
        self._client = client
        self._initial = initial
        self._full = bool(full)
        self._timeout = timeout
        self._known: dict[str, DomainInfo] | None = None
        self._queue: collections.deque[Event] = collections.deque()
        self._next_id = 1
        self._due = 0.0
        self._busy = False

    def __repr__(self) -> str:
        return f"<DomainWatch every {self.interval:g} s of {self._client!r}>"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        if self._busy:
            raise RuntimeError("another task is already iterating this watch")
        self._busy = True
        try:
            while not self._queue:
                await self._poll()
            return self._queue.popleft()
        finally:
            self._busy = False

    async def _poll(self) -> None:
        """Wait for the next poll's time, poll, and queue what changed."""
        now = anyio.current_time()
        if self._due > now:
            await anyio.sleep(self._due - now)
        self._due = max(self._due, now) + self.interval
        domains = await self._client.domains(full=self._full, timeout=self._timeout)
        seen = datetime.datetime.now(datetime.UTC)
        current = {_key(domain): domain for domain in domains}
        known, self._known = self._known, current
        if known is None:
            if self._initial:
                for ref, domain in current.items():
                    self._emit(seen, "add", ref, domain)
            return
        for ref, domain in current.items():
            before = known.get(ref)
            if before is None:
                self._emit(seen, "add", ref, domain)
                continue
            changed = frozenset(
                name for name in self.compared if getattr(before, name) != getattr(domain, name)
            )
            if changed:
                self._emit(seen, "mod", ref, domain, changed)
        for ref in known:
            if ref not in current:
                self._emit(seen, "del", ref, None)

    def _emit(
        self,
        when: datetime.datetime,
        operation: Operation,
        ref: str,
        domain: DomainInfo | None,
        changed: frozenset[str] | None = None,
    ) -> None:
        event = Event(self._next_id, when, CLS, operation, ref, domain, changed)
        self._next_id += 1
        self._queue.append(event)
