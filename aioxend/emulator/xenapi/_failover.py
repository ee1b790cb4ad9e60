"""A master that dies, and a member that takes its place: the emulator's failover faults.

``Liveness`` knows which hosts of the pool are dead and how. A host dies in one of two
ways (``kill``):

* ``"crash"``: xapi's process is gone, the machine is up. The host's listeners close (a
  new connection is refused), every open connection is reset, and a request in flight
  stops where it is: an ``Async``/write waiting on its latency is never applied.
* ``"hang"``: the machine is wedged or cut off. Connections are accepted and requests
  read, but nothing is ever answered; a request in flight may be applied, its answer is
  lost (the case where a client cannot know whether a write happened).

An aiohttp middleware on each host's application enforces it: requests to a dead host
are reset or held until the server stops, and the tasks serving a crashed host are
cancelled. ``Pool.promote`` then makes a member the master, as ``xe
pool-emergency-transition-to-master`` (xapi's ``Xapi_pool_transition``) or HA does:
the other members name the new master in ``HOST_IS_SLAVE``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Middleware

__all__ = ["DEATHS", "Death", "Liveness"]

Death = Literal["crash", "hang"]
DEATHS: tuple[Death, ...] = ("crash", "hang")

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Liveness:
    """Which hosts are dead (``dead[host]`` is how), and the middleware that makes it so.

    ``kill`` may be called from any thread: the host is dead for every request that
    arrives after it returns; closing its listeners and connections runs on the
    server's loop (waited for when called from another thread).
    """

    def __init__(self, stop: asyncio.Event) -> None:
        self.dead: dict[str, Death] = {}
        self._lock = threading.Lock()
        self._stop = stop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runners: dict[str, list[web.AppRunner]] = {}
        self._serving: dict[str, set[asyncio.Task[object]]] = {}
        self._crashes: set[asyncio.Task[None]] = set()

    def how(self, host: str) -> Death | None:
        """How ``host`` died, or None while it lives."""
        with self._lock:
            return self.dead.get(host)

    def serving(self, host: str) -> int:
        """How many requests ``host`` is serving now (for a test to kill it mid-call)."""
        return len(self._serving.get(host, ()))

    def middleware(self, host: str) -> Middleware:
        """The middleware of ``host``'s application."""
        serving = self._serving.setdefault(host, set())

        @web.middleware
        async def alive_only(request: web.Request, handler: _Handler) -> web.StreamResponse:
            self._loop = asyncio.get_running_loop()
            refused = await self._refuse_if_dead(host, request)
            if refused is not None:
                return refused
            task = asyncio.current_task()
            assert task is not None
            serving.add(task)
            try:
                response = await handler(request)
            finally:
                serving.discard(task)
            refused = await self._refuse_if_dead(host, request)  # died meanwhile: answer lost
            return response if refused is None else refused

        return alive_only

    async def _refuse_if_dead(self, host: str, request: web.Request) -> web.Response | None:
        """None for a live host; for a dead one, what is left to send: nothing."""
        how = self.how(host)
        if how is None:
            return None
        if how == "hang":
            await self._stop.wait()
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=503)  # never reaches the client: the connection is gone

    def add_runner(self, host: str, runner: web.AppRunner) -> None:
        """Remember the runner of one of ``host``'s listeners, to close it on a crash."""
        self._loop = asyncio.get_running_loop()
        self._runners.setdefault(host, []).append(runner)

    def kill(self, host: str, how: Death) -> None:
        """Make ``host`` dead from now on (``"crash"`` or ``"hang"``)."""
        if how not in DEATHS:
            raise ValueError(f"a host dies by one of {DEATHS}, not {how!r}")
        with self._lock:
            if host in self.dead:
                raise RuntimeError(f"host {host} is already dead ({self.dead[host]})")
            self.dead[host] = how
        loop = self._loop
        if how != "crash" or loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:  # the test runs on the server's loop: crash at its next step
            self._crashes.add(task := loop.create_task(self._crash(host)))
            task.add_done_callback(self._crashes.discard)
        else:
            asyncio.run_coroutine_threadsafe(self._crash(host), loop).result(timeout=10)

    async def _crash(self, host: str) -> None:
        """Close ``host``'s listeners, reset its connections, stop what it was serving."""
        for runner in self._runners.get(host, []):
            for site in list(runner.sites):
                await site.stop()
            server = runner.server
            for connection in server.connections if server is not None else []:
                if connection.transport is not None:
                    connection.transport.abort()
        for task in list(self._serving.get(host, ())):
            task.cancel()
