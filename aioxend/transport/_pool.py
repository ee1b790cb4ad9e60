"""The connection pool: limits, keep-alive expiry, idle reuse and the one retry rule.

A request takes a slot from a semaphore of ``max_connections`` (without waiting when one
is free; the ``pool`` timeout bounds the wait otherwise), then the most recently used
idle connection that is still ``reusable`` and younger than ``keepalive_expiry``, or a
new one from the connector (bounded by the ``connect`` timeout). The slot stays taken
until the response gives the connection back (``checkin``, kept only up to
``max_keepalive`` idle ones) or closes it (``discard``). Nothing runs in the background:
idle connections are checked and expired when next wanted, not on a timer.

Retries. A kept-alive connection may die between two requests. If the check before
reuse sees it closed, the request was never sent there and simply goes elsewhere. If it
dies after the request was written but before any byte of the answer came, the request
is sent once more, on a fresh connection, only when ``retry_safe`` says it is an
idempotent read. Nothing else is ever resent.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from aioxend._log import CURRENT, TRANSPORT
from aioxend.errors import ConnectTimeout, PoolTimeout, Timeout
from aioxend.transport._base import Limits, Timeouts
from aioxend.transport._connect import Connector, open_stream
from aioxend.transport._connection import Body, Connection, Dead, budget, timeout_error
from aioxend.transport._http11 import Head
from aioxend.transport._loop import Slots, clock, within
from aioxend.transport._url import Endpoint

__all__ = ["Pool"]


@asynccontextmanager
async def _limit(
    seconds: float | None,
    deadline: float | None,
    now: float,
    error: type[Timeout],
    what: str,
) -> AsyncIterator[None]:
    """Bound the enclosed wait by ``seconds`` and the absolute ``deadline``."""
    until, from_total = budget(seconds, deadline, now)
    async with within(until) as ran_out:
        yield
    if ran_out():
        raise timeout_error(error, what, seconds, from_total)


class Pool:
    """Connections to one endpoint, opened by ``connector``; see the module docstring."""

    def __init__(self, endpoint: Endpoint, connector: Connector, limits: Limits) -> None:
        self.endpoint = endpoint
        self.connector = connector
        self.limits = limits
        self.where = endpoint.display
        self.idle: list[Connection] = []
        self._slots = Slots(limits.max_connections)
        self.closed = False
        self.connections_opened = 0
        """How many connections this pool has opened (a measure of reuse)."""

    @property
    def in_use(self) -> int:
        """How many slots are taken (connections lent to responses or being opened)."""
        return self._slots.taken

    def clock(self) -> Callable[[], float]:
        """The clock deadlines are measured on (an idle stream's when it knows it)."""
        known = self.idle[-1].clock if self.idle else None
        return known if known is not None else clock()

    async def send(
        self,
        method: str,
        close: bool,
        data: bytes,
        retry_safe: bool,
        timeouts: Timeouts,
        deadline: float | None,
        clock: Callable[[], float],
        body: Body | None = None,
    ) -> tuple[Connection, Head]:
        """Send ``data`` (and a streamed ``body``) on a pooled connection; the connection
        and the response head. The slot taken here is given back by ``checkin`` or
        ``discard``. A streamed body is never resent: its pieces are spent.
        """
        if not self._slots.take_nowait():
            await self._acquire(timeouts, deadline, clock)
        conn: Connection | None = None
        try:
            fresh_only = False
            while True:
                conn = None
                if self.idle and not fresh_only:
                    conn, stale = self._take_idle(clock())
                    for old in stale:  # usually none: then no await
                        await old.aclose()
                if conn is None:
                    conn = await self._open(timeouts, deadline, clock)
                try:
                    head = await conn.exchange(
                        method, close, data, timeouts, deadline, clock(), body
                    )
                except Dead as dead:
                    await conn.aclose()
                    conn = None
                    if not retry_safe or fresh_only or body is not None:
                        raise dead.error from None
                    fresh_only = True
                    self._resending(dead.error)
                    continue
                return conn, head
        except BaseException:
            try:
                if conn is not None:
                    await conn.aclose()
            finally:
                self._release()
            raise

    async def _acquire(
        self, timeouts: Timeouts, deadline: float | None, clock: Callable[[], float]
    ) -> None:
        """Wait for a slot (none was free), within the ``pool`` timeout."""
        what = f"{self.where}: waiting for a connection"
        async with _limit(timeouts.pool, deadline, clock(), PoolTimeout, what):
            await self._slots.take()

    def _take_idle(self, now: float) -> tuple[Connection | None, list[Connection]]:
        """The newest idle connection still fit for reuse (or None), and the stale ones,
        out of ``idle`` now, for the caller to close."""
        expiry = self.limits.keepalive_expiry
        stale: list[Connection] = []
        found = None
        while self.idle:
            conn = self.idle.pop()
            if now - conn.idle_since <= expiry and conn.reusable():
                found = conn
                break
            stale.append(conn)
        if stale:
            # Expiry is by age, so everything older than a stale one is stale too.
            stale.extend(c for c in self.idle if now - c.idle_since > expiry)
            self.idle = [c for c in self.idle if now - c.idle_since <= expiry]
        return found, stale

    async def _open(
        self, timeouts: Timeouts, deadline: float | None, clock: Callable[[], float]
    ) -> Connection:
        what = f"{self.where}: connecting"
        start = clock()
        async with _limit(timeouts.connect, deadline, start, ConnectTimeout, what):
            stream = await open_stream(self.connector, self.endpoint)
        self.connections_opened += 1
        tally = CURRENT.get()
        if tally is not None:
            tally.new += 1
        if TRANSPORT.isEnabledFor(logging.DEBUG):
            seconds = clock() - start
            TRANSPORT.debug(
                "opened connection %d to %s in %.1f ms (%d idle, %d in use)",
                self.connections_opened,
                self.where,
                seconds * 1e3,
                len(self.idle),
                self.in_use,
            )
        return Connection(stream, self.limits, self.where)

    def _resending(self, error: Exception) -> None:
        """Note that a read is resent on a fresh connection (the one retry rule)."""
        tally = CURRENT.get()
        if tally is not None:
            tally.retries += 1
        TRANSPORT.debug("%s: kept-alive connection was dead (%s); resending", self.where, error)

    def checkin(self, conn: Connection, now: float) -> bool:
        """Take back a connection whose response was read to its end, freeing its slot;
        ``False``, with nothing done, when it is not wanted (the pool is closed or has
        ``max_keepalive`` idle ones): then ``discard`` it. No await: a call's last step."""
        if self.closed or len(self.idle) >= self.limits.max_keepalive:
            return False
        conn.reused = True
        conn.idle_since = now
        self.idle.append(conn)
        self._release()
        return True

    async def discard(self, conn: Connection) -> None:
        """Close a connection that must not carry another exchange; frees its slot."""
        try:
            await conn.aclose()
        finally:
            self._release()

    def _release(self) -> None:
        self._slots.give()

    async def aclose(self) -> None:
        """Close every idle connection; those lent out close when given back."""
        self.closed = True
        idle, self.idle = self.idle, []
        for conn in idle:
            await conn.aclose()
