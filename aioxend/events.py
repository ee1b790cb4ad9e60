"""``Event``: one change of one object, the shape every change stream of aioxend yields.

Two streams make them: ``xapi.events(...)`` of Xen-API (``aioxend.xenapi._events``:
xapi's ``event.from``, xend's ``event.register``/``event.next``), and
``XendClient.watch()`` of the legacy protocols, which have no events and are polled
(``aioxend.watch``). A service written against one works with the other. This module
imports nothing, so either client may use it without loading the other.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

__all__ = ["Event", "Operation"]

Operation = Literal["add", "mod", "del"]


@dataclass(frozen=True, slots=True)
class Event:
    """One change: ``operation`` (``"add"``, ``"mod"``, ``"del"``) of the object ``ref`` of
    class ``cls`` (spelt as the datamodel does: ``"VM"``, ``"host"``, ``"task"``; for the
    legacy protocols' domains, ``"domain"``).

    ``snapshot`` is the typed record after the change (``VMRecord``..., ``DomainInfo``),
    ``None`` for a ``del`` (and, on xend, for an object already gone when its record was
    read); a class this datamodel lacks keeps the snapshot as the dict that came. ``id``
    is the server's event number (a watch's own count) and ``timestamp`` its time, aware
    (xapi's ``event.from`` sends ``0.0``, the epoch, for every event). ``changed`` names
    the fields a ``mod`` changed where the stream knows them (a watch compares records);
    ``None`` where it does not (``event.from`` sends the whole record).
    """

    id: int
    timestamp: datetime.datetime
    cls: str
    operation: Operation
    ref: str
    snapshot: object | None
    changed: frozenset[str] | None = None
