"""The aiohttp application of one host's Xen-API listener: both wires and the faults.

``POST /`` and ``POST /RPC2`` speak XML-RPC, ``POST /jsonrpc`` JSON-RPC (xapi only: in
xend's dialect that path is a 404, as xend had no JSON-RPC). Each request first meets
the transport faults of ``aioxend.emulator._faults`` (keyed by the method name, so a
rule for ``VM.start`` hits that call on either wire) and then the injected Xen-API
errors, then the dispatcher; an ``event.from`` with nothing to report waits for a
change of the pool, up to its timeout, and an ``event.next`` until there is an event.
``system.listMethods`` lists every message (over XML-RPC as a bare list, without the
Status struct, as xapi sends it). A body that is not a call of its wire is a 400; an
exception that is not a Xen-API error becomes ``INTERNAL_ERROR [text]``, as in xapi.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from aioxend._log import EMULATOR
from aioxend.emulator._faults import FaultInjector, Picked
from aioxend.emulator._wire import RAW_KINDS, write_faulty
from aioxend.emulator.xenapi import _jsonrpc, _xmlrpc
from aioxend.emulator.xenapi._dispatch import Dispatcher
from aioxend.emulator.xenapi._events import EventLog
from aioxend.emulator.xenapi._failure import Failure
from aioxend.emulator.xenapi._inject import ErrorInjector

__all__ = ["make_app"]

SERVER_HEADER = "xapi"
LIST_METHODS = "system.listMethods"
_BLOCKING = frozenset({"event.from", "event.next"})


async def _trickle(
    request: web.Request, body: bytes, headers: dict[str, str], delay: float, stop: asyncio.Event
) -> web.StreamResponse:
    stream = web.StreamResponse(headers=headers)
    stream.content_length = len(body)
    transport = request.transport
    try:
        await stream.prepare(request)
        for i in range(len(body)):
            if transport is None or transport.is_closing() or stop.is_set():
                break
            await stream.write(body[i : i + 1])
            await asyncio.sleep(delay)
    except ConnectionError:  # the client went away mid-trickle
        if transport is not None:
            transport.close()
    return stream


async def _answer(
    request: web.Request,
    picked: Picked,
    make_body: Callable[[], Awaitable[bytes]],
    malformed: bytes,
    content_type: str,
    stop: asyncio.Event,
) -> web.StreamResponse:
    """The response to one call, damaged as the picked fault says."""
    kind = picked.kind
    transport = request.transport
    if picked.latency:
        await asyncio.sleep(picked.latency)
    if kind == "http500":
        return web.Response(status=500, text="Internal Server Error")
    if transport is None:
        return web.Response(status=500)
    if kind in ("drop_before", "stall"):
        await write_faulty(transport, kind, 200, "OK", [], b"", delay=0, stop=stop)
        return web.Response()
    body = malformed if kind == "malformed" else await make_body()
    headers = {"Server": SERVER_HEADER, "Content-Type": content_type}
    if kind in RAW_KINDS:
        await write_faulty(
            transport, kind, 200, "OK", list(headers.items()), body, delay=picked.delay, stop=stop
        )
        return web.Response()
    if kind == "trickle":
        return await _trickle(request, body, headers, picked.delay, stop)
    return web.Response(body=body, headers=headers)


class _ChangeWaiter:
    """Wakes a waiting ``event.from`` when the pool changes, from whichever thread."""

    def __init__(self, events: EventLog) -> None:
        self._events = events
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _notify(self) -> None:
        loop, changed = self._loop, self._changed
        if loop is not None and changed is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(changed.set)

    async def wait(self, seen: int, seconds: float) -> None:
        """Return once the pool is past generation ``seen``, or after ``seconds``."""
        if self._changed is None:
            self._loop = asyncio.get_running_loop()
            self._changed = asyncio.Event()
            self._events.listeners.append(self._notify)
        self._changed.clear()
        if self._events.generation != seen:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(seconds, 0.0))

    async def close(self, _app: web.Application) -> None:
        if self._notify in self._events.listeners:
            self._events.listeners.remove(self._notify)


def _alive(request: web.Request) -> bool:
    """Whether the client of a request is still connected."""
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _internal_error(exc: Exception) -> list[str]:
    return ["INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"]


def _timeout_of(method: str, params: list[object]) -> float:
    if method == "event.next":
        return 86400.0  # XendAPI.event_next: Queue.get() without a timeout
    try:
        return min(max(float(params[3]), 0.0), 86400.0)  # type: ignore[arg-type]
    except (IndexError, TypeError, ValueError):
        return 0.0


def _has_events(value: object) -> bool:
    if isinstance(value, list):  # event.next
        return bool(value)
    return isinstance(value, dict) and bool(value.get("events"))


def make_app(
    dispatcher: Dispatcher,
    faults: FaultInjector,
    errors: ErrorInjector,
    stop: asyncio.Event,
    *,
    jsonrpc: bool = True,
) -> web.Application:
    """The application serving ``dispatcher``'s host (``jsonrpc=False``: XML-RPC only,
    as xapi before JSON-RPC was added, 2012)."""
    dialect = dispatcher.pool.dialect
    waiter = _ChangeWaiter(dispatcher.pool.events)

    async def run(
        method: str, params: list[object], alive: Callable[[], bool]
    ) -> tuple[bool, object]:
        seen = dispatcher.pool.events.generation
        ok, value = run_once(method, params)
        if method not in _BLOCKING or not ok:
            return ok, value
        # Xapi_event.from blocks until an event matches or the timeout passes; xend's
        # event.next until an event comes. A wait whose client has gone stops (xend's
        # thread would block on, and take the next events to a closed socket)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _timeout_of(method, params)
        while not _has_events(value) and loop.time() < deadline and not stop.is_set() and alive():
            if dispatcher.pool.events.generation == seen:
                await waiter.wait(seen, min(deadline - loop.time(), 0.5))
                continue
            seen = dispatcher.pool.events.generation
            ok, value = run_once(method, params)
            if not ok:
                break
        return ok, value

    def settle_later() -> None:
        due = dispatcher.pool.tasks.next_due()
        if due is not None:
            delay = max(due - dispatcher.pool.clock(), 0.0)
            asyncio.get_running_loop().call_later(delay, dispatcher.pool.tasks.settle)

    def run_once(method: str, params: list[object]) -> tuple[bool, object]:
        if method == LIST_METHODS:
            return True, dispatcher.method_names()
        try:
            return run_call(method, params)
        finally:
            settle_later()

    def run_call(method: str, params: list[object]) -> tuple[bool, object]:
        injected = errors.take(method)
        try:
            if injected is not None:
                raise injected
            value = dispatcher.call(method, params)
            EMULATOR.debug("xenapi %s: answered", method)
            return True, value
        except Failure as failure:
            EMULATOR.debug("xenapi %s: %s", method, failure.description[0])
            return False, failure.description
        except Exception as exc:  # a bug of ours: xapi answers INTERNAL_ERROR too
            return False, _internal_error(exc)

    async def xmlrpc_handler(request: web.Request) -> web.StreamResponse:
        try:
            method, params = _xmlrpc.decode_call(await request.read())
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))

        async def body() -> bytes:
            if method == LIST_METHODS:  # api_server.ml: the bare list, no Status struct
                return _xmlrpc.encode_bare(dispatcher.method_names())
            ok, value = await run(method, params, lambda: _alive(request))
            if ok:
                try:
                    return _xmlrpc.encode_success(value, dialect)
                except (TypeError, ValueError, OverflowError) as exc:
                    value = _internal_error(exc)
            assert isinstance(value, list)
            return _xmlrpc.encode_failure(value)

        picked = faults.pick([method])
        return await _answer(request, picked, body, _xmlrpc.MALFORMED, "text/xml", stop)

    async def jsonrpc_handler(request: web.Request) -> web.StreamResponse:
        try:
            call = _jsonrpc.decode_call(await request.read())
        except ValueError as exc:
            return web.Response(status=400, text=str(exc))

        async def body() -> bytes:
            ok, value = await run(call.method, call.params, lambda: _alive(request))
            if ok:
                try:
                    return _jsonrpc.encode_success(call, value)
                except (TypeError, ValueError, OverflowError) as exc:
                    value = _internal_error(exc)
            assert isinstance(value, list)
            return _jsonrpc.encode_failure(call, value)

        picked = faults.pick([call.method])
        return await _answer(request, picked, body, _jsonrpc.MALFORMED, "application/json", stop)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.on_cleanup.append(waiter.close)
    app.router.add_post("/", xmlrpc_handler)
    app.router.add_post("/RPC2", xmlrpc_handler)
    if dialect == "xapi" and jsonrpc:
        app.router.add_post("/jsonrpc", jsonrpc_handler)
    return app
