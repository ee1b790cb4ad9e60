"""One operation on many xend hosts at once, with bounded concurrency and per-host deadlines.

A user with a hundred Xen hosts wants ``xm list`` of all of them, now, from one service,
without one dead or wedged host holding up or sinking the rest. ``Fleet`` runs an async
operation against every host, at most ``concurrency`` hosts in flight, each within its own
``timeout`` (connecting and opening the client included), and returns one ``HostResult``
per host: the value, or the exception that host raised, and how long it took::

    async with aioxend.Fleet(urls, concurrency=32, timeout=5.0) as fleet:
        results = await fleet.run(lambda client: client.domains())
    for r in results:
        print(r.url, len(r.value) if r.ok else f"failed: {r.error!r}")

Strategy: the fleet is written on anyio (task group, capacity limiter, deadline scopes), so
it runs wherever the client's transport runs. Inside ``async with`` the clients are opened
on first use and kept for later runs (their connection pools too), and all are closed on
exit; a bare ``run`` outside ``async with`` opens and closes each host's client around the
operation. Every ``Exception`` an operation raises is caught and kept per host (a user's
own bug in ``op`` included, so one bad record cannot sink a fleet-wide poll); cancellation
and other ``BaseException``\\ s are not caught. A host that misses its deadline gets
``aioxend.ReadTimeout`` naming the host and the deadline, and its client is closed and
reopened on the next run, since a call cancelled midway leaves nothing worth keeping.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import EllipsisType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

import anyio

from aioxend.errors import ReadTimeout, XendError

if TYPE_CHECKING:
    from aioxend.client import XendClient

__all__ = ["Fleet", "FleetResults", "HostResult"]

T = TypeVar("T")

#: How long closing one host's client may take before the fleet gives up on it.
_CLOSE_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class HostResult(Generic[T]):
    """What one host answered: ``value`` when ``ok``, else the ``error`` it raised.

    ``elapsed`` is the seconds from the start of this host's turn (after waiting for a
    concurrency slot) to its answer or failure, client opening included.
    """

    url: str
    value: T | None
    error: Exception | None
    elapsed: float

    @property
    def ok(self) -> bool:
        """True when the operation returned normally."""
        return self.error is None

    def result(self) -> T:
        """The value, or raise the host's exception (like ``Future.result``)."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]

    def __repr__(self) -> str:
        outcome = f"value={self.value!r}" if self.error is None else f"error={self.error!r}"
        return f"HostResult(url={self.url!r}, {outcome}, elapsed={self.elapsed:.3f})"


class FleetResults(Sequence[HostResult[T]]):
    """Per-host results of one ``Fleet.run``, in the order the URLs were given."""

    __slots__ = ("_results",)

    def __init__(self, results: Iterable[HostResult[T]]) -> None:
        self._results = tuple(results)

    @overload
    def __getitem__(self, index: int) -> HostResult[T]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[HostResult[T]]: ...
    def __getitem__(self, index: int | slice) -> HostResult[T] | Sequence[HostResult[T]]:
        return self._results[index]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[HostResult[T]]:
        return iter(self._results)

    def __repr__(self) -> str:
        return f"FleetResults(ok={len(self.succeeded)}, failed={len(self.failed)})"

    @property
    def succeeded(self) -> list[HostResult[T]]:
        """The hosts whose operation returned."""
        return [r for r in self._results if r.error is None]

    @property
    def failed(self) -> list[HostResult[T]]:
        """The hosts whose operation raised."""
        return [r for r in self._results if r.error is not None]

    def values(self) -> dict[str, T]:
        """URL to value, for the hosts that answered."""
        return {r.url: r.value for r in self._results if r.error is None}  # type: ignore[misc]

    def errors(self) -> dict[str, Exception]:
        """URL to exception, for the hosts that failed."""
        return {r.url: r.error for r in self._results if r.error is not None}

    def raise_for_errors(self) -> None:
        """Raise an ``ExceptionGroup`` of every host's failure, if any host failed."""
        failed = self.failed
        if failed:
            raise ExceptionGroup(
                f"{len(failed)} of {len(self._results)} hosts failed",
                [r.error for r in failed if r.error is not None],
            )


Operation = Callable[["XendClient"], Awaitable[T]]


class Fleet:
    """Runs one operation on many xend hosts, each in its own deadline, a bounded few at once.

    ``urls`` are anything ``aioxend.connect`` takes; ``concurrency`` caps the hosts in flight
    (and so the sockets open at once); ``timeout`` is each host's deadline per run, in
    seconds (``None`` for none), covering opening the client and the operation.
    ``connect_kwargs`` go to ``aioxend.connect`` for every host (``protocol``,
    ``ssl_context``, ``connector``...). ``connect`` replaces ``aioxend.connect`` itself, for
    callers that build their clients another way.
    """

    def __init__(
        self,
        urls: Iterable[str],
        *,
        concurrency: int = 16,
        timeout: float | None = 10.0,
        connect: Callable[..., XendClient] | None = None,
        **connect_kwargs: Any,
    ) -> None:
        self.urls: tuple[str, ...] = tuple(urls)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError(f"timeout must be a positive number of seconds or None: {timeout}")
        self.concurrency = concurrency
        self.timeout = timeout
        self._connect = connect
        self._connect_kwargs = connect_kwargs
        self._clients: dict[int, XendClient] = {}
        self._entered = False
        self._closed = False

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this Fleet is closed")
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client the fleet opened; later runs raise ``RuntimeError``."""
        self._closed = True
        clients, self._clients = list(self._clients.values()), {}
        if not clients:
            return
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(_close_quietly, client)

    async def run(
        self,
        op: Operation[T],
        *,
        timeout: float | EllipsisType | None = ...,  # noqa: ASYNC109 (per host, not whole)
        on_result: Callable[[HostResult[T]], object] | None = None,
    ) -> FleetResults[T]:
        """Run ``op(client)`` on every host; one ``HostResult`` per URL, in URL order.

        ``timeout`` overrides the fleet's per-host deadline for this run. ``on_result``,
        if given, is called with each host's result as soon as that host finishes (for
        progress output); what it returns is ignored, and an awaitable is awaited.
        """
        deadline = self.timeout if timeout is ... else timeout
        if deadline is not None and not (deadline > 0 and math.isfinite(deadline)):
            raise ValueError(f"timeout must be a positive number of seconds or None: {deadline}")
        if self._closed:
            raise RuntimeError("this Fleet is closed")
        results: list[HostResult[T] | None] = [None] * len(self.urls)
        limiter = anyio.CapacityLimiter(self.concurrency)

        async def one(index: int, url: str) -> None:
            async with limiter:
                result = await self._run_host(index, url, op, deadline)
            results[index] = result
            if on_result is not None:
                outcome = on_result(result)
                if inspect.isawaitable(outcome):
                    await outcome

        async with anyio.create_task_group() as tg:
            for index, url in enumerate(self.urls):
                tg.start_soon(one, index, url)
        return FleetResults(r for r in results if r is not None)

    async def _run_host(
        self, index: int, url: str, op: Operation[T], deadline: float | None
    ) -> HostResult[T]:
        started = time.perf_counter()
        keep = self._entered and not self._closed
        client: XendClient | None = self._clients.get(index) if keep else None
        value: T | None = None
        error: Exception | None = None
        with anyio.CancelScope() as scope:
            if deadline is not None:
                scope.deadline = anyio.current_time() + deadline
            try:
                if client is None:
                    client = await self._open(url)
                    if keep:
                        self._clients[index] = client
                value = await op(client)
            except Exception as exc:
                error = exc
        if scope.cancelled_caught:
            error = ReadTimeout(f"{url}: no answer within the per-host timeout of {deadline} s")
        elapsed = time.perf_counter() - started
        if client is not None and (not keep or scope.cancelled_caught):
            # A client cut off mid-call is not reused; outside ``async with`` none is.
            self._clients.pop(index, None)
            await _close_quietly(client)
        return HostResult(url, value if error is None else None, error, elapsed)

    async def _open(self, url: str) -> XendClient:
        if self._connect is not None:
            client = self._connect(url, **self._connect_kwargs)
        else:
            from aioxend.client import connect

            client = connect(url, **self._connect_kwargs)
        try:
            await client.__aenter__()
        except BaseException:
            await _close_quietly(client)
            raise
        return client


async def _close_quietly(client: XendClient) -> None:
    """Close a client, bounded in time; a failure to close is not the caller's problem."""
    with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
        with contextlib.suppress(XendError, OSError, RuntimeError):
            await client.aclose()
