"""The blocking side of a client: one event loop thread per client, through anyio's portal.

A blocking client owns a ``Runner``: ``anyio.from_thread.start_blocking_portal`` runs an
event loop in a thread of its own, and each blocking method hands its coroutine to that
loop (``BlockingPortal.start_task_soon``) and waits for the future. Calls from several
threads are so many tasks of the one loop, sharing the async client's connection pool;
a result or an exception comes back as the async client made it (the same object). A
``KeyboardInterrupt`` (or any exception) that stops the wait cancels the call in the
loop, which leaves the async client healthy, as a cancelled async call does.

Closing (``close()``, the end of a ``with`` block, garbage collection, interpreter exit)
refuses new calls, cancels the calls in flight (their threads get ``RuntimeError``), closes
the async client in its loop, stops the portal and joins its thread. The portal thread is a
daemon, so a client nobody closed cannot hold the interpreter at exit; ``weakref.finalize``
closes it first (a Xen-API session is logged out), at collection or at exit.

An async iterator of the client (an ``events`` or ``watch`` stream) is read by one pump
task, which advances it once per ``BlockingIterator.__next__`` (no read-ahead: an
``EventStream``'s ``token`` stays true to what was read) and hands the item over a
memory stream. One task keeps the generator's cancel scopes in the task they were
entered in; closing the iterator cancels it, which closes the generator.
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, cast

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from aioxend.xenapi._classbase import LazyClass

__all__ = ["BlockingIterator", "Client", "LazyPart", "Part", "Runner", "opener"]

P = ParamSpec("P")
T = TypeVar("T")
A = TypeVar("A")
Src = TypeVar("Src", bound=AsyncIterator[Any])


class AsyncClient(Protocol):
    """What a blocking client needs of the async client it drives."""

    async def __aenter__(self) -> Any: ...

    async def aclose(self) -> None: ...


C = TypeVar("C", bound=AsyncClient)
S = TypeVar("S", bound="Client[Any]")


class Runner:
    """An event loop in a thread of its own, running the calls of one client."""

    def __init__(self, name: str) -> None:
        """Start the loop thread (named ``name``) and its portal."""
        self.name = name
        self._manager: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._manager.__enter__()
        self._thread: threading.Thread = self._portal.call(threading.current_thread)
        self._thread.name = f"aioxend-sync {name}"
        self._lock = threading.Lock()
        self._closing = threading.Lock()
        self._closed = False
        self._finished = False
        self._pending: set[concurrent.futures.Future[Any]] = set()

    @property
    def closed(self) -> bool:
        """Whether ``close`` began: new calls are refused."""
        return self._closed

    @property
    def thread(self) -> threading.Thread:
        """The thread the loop runs in."""
        return self._thread

    def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``fn(*args, **kwargs)`` in the loop; return or raise what it did."""
        return self.wait(self.start(fn, *args, **kwargs))

    def start(
        self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> concurrent.futures.Future[T]:
        """Start ``fn(*args, **kwargs)`` as a task of the loop; its future is tracked."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"this {self.name} is closed")
            future = self._portal.start_task_soon(partial(fn, *args, **kwargs))
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def wait(self, future: concurrent.futures.Future[T]) -> T:
        """The result of a task ``start`` made; an interrupted wait cancels the task."""
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError(f"this {self.name} was closed during the call") from None
        except BaseException:
            if not future.done():
                future.cancel()  # a KeyboardInterrupt in this thread: the call stops too
            raise

    def close(self, aclose: Callable[[], Awaitable[None]]) -> None:
        """Cancel the calls in flight, ``aclose`` the client, stop the loop, join its thread.

        Idempotent and safe from several threads: each returns once the thread is gone.
        From the loop's own thread (a collection there), a helper thread does it.
        """
        if threading.current_thread() is self._thread:  # not the ident: idents are reused
            threading.Thread(target=self.close, args=(aclose,), name=self._thread.name).start()
            return
        with self._closing:
            if self._finished:
                return
            with self._lock:
                self._closed = True
                pending = list(self._pending)
            for future in pending:
                future.cancel()
            try:
                self._portal.start_task_soon(aclose).result()
            finally:
                try:
                    self._manager.__exit__(None, None, None)  # joins the thread
                finally:
                    self._finished = True


class Twin(Generic[A]):
    """A blocking twin of an async object: its calls go through the client's runner."""

    __slots__ = ("_owner", "_runner", "_target")

    def __init__(self, target: A, runner: Runner, owner: object = None) -> None:
        self._target = target
        self._runner = runner
        # The blocking client, kept alive while a part of it (``xapi.VM``) is in use.
        self._owner = owner

    def _call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._runner.call(fn, *args, **kwargs)

    def _call_overloaded(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        return self._runner.call(fn, *args, **kwargs)

    def _iterate(
        self, fn: Callable[P, Src], *args: P.args, **kwargs: P.kwargs
    ) -> BlockingIterator[Any, Src]:
        return BlockingIterator(self, partial(fn, *args, **kwargs))


class Part(Twin[A]):
    """A blocking twin of a part of a client (a Xen-API class: ``xapi.VM``, a task).

    ``owner`` is the twin it came from; it is kept alive, and the client with it.
    """

    __slots__ = ()

    def __init__(self, owner: Twin[Any], target: A) -> None:
        super().__init__(target, owner._runner, owner)

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"


class Client(Twin[C]):
    """The base of a blocking client: the async client it drives, and its runner.

    ``with`` closes it at the end of the block; so does ``close()``. One left open is
    closed when it is collected or the interpreter exits, with a ``ResourceWarning``.
    """

    __slots__ = ("__dict__", "__weakref__", "_finalizer")

    def __init__(self, target: C, runner: Runner) -> None:
        super().__init__(target, runner, None)
        self._finalizer = weakref.finalize(
            self, _close_unclosed, runner, target.aclose, f"unclosed {self!r}"
        )

    def close(self) -> None:
        """Close the async client and stop the loop thread; calls after it raise."""
        self._finalizer.detach()
        self._runner.close(self._target.aclose)

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called (or the client was collected)."""
        return self._runner.closed

    def __enter__(self) -> Self:
        if self._runner.closed:
            raise RuntimeError(f"this {self._runner.name} is closed")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"


class LazyPart(LazyClass):
    """``LazyClass`` for a blocking client: the twin wraps the async client's own part."""

    __slots__ = ()

    def _make(self, cls: Any, instance: object) -> Any:
        assert isinstance(instance, Twin)
        return cls(instance, getattr(instance._target, self._attr))


def _close_unclosed(runner: Runner, aclose: Callable[[], Awaitable[None]], what: str) -> None:
    import warnings

    warnings.warn(what, ResourceWarning, stacklevel=1)
    runner.close(aclose)


def opener(
    make: Callable[P, C], twin: Callable[[C, Runner], S], module: str, doc: str
) -> Callable[P, S]:
    """A blocking ``connect`` (of ``module``) with the parameters of the async ``make``.

    The client it returns is open: the async client is made and entered (``async with``'s
    enter: the protocol choice, a Xen-API login) in a new loop thread; a failure stops the
    thread and raises as the async client raised.
    """

    def connect(*args: P.args, **kwargs: P.kwargs) -> S:
        runner = Runner(getattr(make, "__name__", "client"))
        try:
            target = runner.call(_made, partial(make, *args, **kwargs))
            runner.name = type(target).__name__
            runner.thread.name = f"aioxend-sync {getattr(target, 'url', runner.name)}"
            runner.call(target.__aenter__)
        except BaseException:
            runner.close(_nothing)
            raise
        return twin(target, runner)

    connect.__module__ = module
    connect.__doc__ = doc
    connect.__wrapped__ = make  # type: ignore[attr-defined]  # its signature, for help()
    return connect


async def _made(make: Callable[[], T]) -> T:
    """``make()`` in the loop thread: what it makes may hold that loop's primitives."""
    return make()


async def _nothing() -> None:
    pass


class BlockingIterator(Generic[T, Src]):
    """An async iterator of a client, read by blocking (``for event in xapi.events(...):``).

    ``source`` is the async iterator itself (an ``EventStream``, whose ``token`` says where
    to resume); it is advanced only when ``next`` asks, so what it says matches what was
    read. ``close()`` (or the end of a ``with`` block) closes it. Several threads may
    share one iterator: each item goes to one of them.
    """

    def __init__(self, twin: Twin[Any], make: Callable[[], Src]) -> None:
        self._twin = twin  # keeps the client alive while the iterator is
        self._runner = twin._runner
        self.source: Src = self._runner.call(_made, make)
        self._done = threading.Event()
        # Plain objects until a task waits on them, so made here and used in the loop.
        self._asks, asks = anyio.create_memory_object_stream[None](math.inf)
        items, self._items = anyio.create_memory_object_stream[Any]()
        self._open = True
        self._pump = self._runner.start(_pump, self.source, asks, items, self._done)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if not self._open:
            raise StopIteration
        item = self._runner.call(_ask, self._asks, self._items)
        if item is _END:
            self.close()  # the pump has ended: this closes our ends of its streams
            raise StopIteration
        if isinstance(item, _Raised):
            self.close()
            raise item.exc
        return cast(T, item)

    def close(self) -> None:
        """Stop the pump task, which closes the async iterator; idempotent."""
        if not self._open:
            return
        self._open = False
        self._pump.cancel()
        if not self._runner.closed:
            self._done.wait()
            self._runner.call(_close_streams, self._asks, self._items)
        else:  # the loop is gone, and the pump with it
            self._asks.close()
            self._items.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_END: Any = object()


class _Raised:
    """An exception of the async iterator, carried to the thread that reads it."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _pump(
    source: AsyncIterator[Any],
    asks: MemoryObjectReceiveStream[None],
    items: MemoryObjectSendStream[Any],
    done: threading.Event,
) -> None:
    """Advance ``source`` once per ask; its end and its exception travel as items."""
    try:
        async with items, asks:
            try:
                async for _ in asks:
                    try:
                        item = await source.__anext__()
                    except StopAsyncIteration:
                        break
                    await items.send(item)
            except Exception as exc:
                await items.send(_Raised(exc))
            finally:
                # Not in a scope of ours: an async generator may hold one of its own
                # across its yields, and must exit it as the task's current scope.
                aclose = getattr(source, "aclose", None)
                if aclose is not None:
                    await aclose()
    finally:
        done.set()


async def _ask(asks: MemoryObjectSendStream[None], items: MemoryObjectReceiveStream[Any]) -> Any:
    """One item of the pump: ask (never blocks), then wait for the answer."""
    try:
        asks.send_nowait(None)
        return await items.receive()
    except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
        return _END


async def _close_streams(
    asks: MemoryObjectSendStream[None], items: MemoryObjectReceiveStream[Any]
) -> None:
    asks.close()
    items.close()
