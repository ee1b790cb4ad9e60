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

An async iterator of the client (an ``events`` or ``watch`` stream) is read by one task
that pumps its items through a zero-size memory stream; ``BlockingIterator.__next__``
receives the next one. One task keeps the generator's cancel scopes in the task they
were entered in, and closing the iterator cancels that task, which closes the generator.
"""

from __future__ import annotations

import concurrent.futures
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
        if threading.get_ident() == self._thread.ident:
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
                self._finished = True
                self._manager.__exit__(None, None, None)


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
        self, fn: Callable[P, AsyncIterator[T]], *args: P.args, **kwargs: P.kwargs
    ) -> BlockingIterator[T]:
        return BlockingIterator(self, partial(fn, *args, **kwargs))


class Part(Twin[A]):
    """A blocking twin of a part of a client (a Xen-API class: ``xapi.VM``)."""

    __slots__ = ()

    def __init__(self, owner: Client[Any], target: A) -> None:
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
        assert isinstance(instance, Client)
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


async def _made(make: Callable[[], C]) -> C:
    """``make()`` in the loop thread: the client's primitives belong to that loop."""
    return make()


async def _nothing() -> None:
    pass


_END: Any = object()


class BlockingIterator(Generic[T]):
    """An async iterator of a client, read by blocking (``for event in xapi.events():``).

    ``close()`` (or the end of a ``with`` block) stops it and closes the async iterator.
    Several threads may share one: each item goes to one of them.
    """

    def __init__(self, twin: Twin[Any], source: Callable[[], AsyncIterator[T]]) -> None:
        self._twin = twin  # keeps the client alive while the iterator is
        self._runner = twin._runner
        self._done = threading.Event()
        # Plain objects until a task waits on them, so made here and used in the loop.
        send, receive = anyio.create_memory_object_stream[Any]()
        self._receive: MemoryObjectReceiveStream[Any] | None = receive
        self._pump = self._runner.start(_pump, source, send, self._done)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        receive = self._receive
        if receive is None:
            raise StopIteration
        item = self._runner.call(_receive, receive)
        if item is _END:
            raise StopIteration
        if isinstance(item, _Raised):
            raise item.exc
        return cast(T, item)

    def close(self) -> None:
        """Stop the pump task, which closes the async iterator; idempotent."""
        receive, self._receive = self._receive, None
        if receive is None:
            return
        self._pump.cancel()
        if self._runner.closed:  # the loop is gone, and the pump with it
            receive.close()
            return
        self._done.wait()
        self._runner.call(_close_stream, receive)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Raised:
    """An exception of the async iterator, carried to the thread that reads it."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


CLOSE_SECONDS = 5.0
"""The longest a closed iterator's ``aclose`` may take (it is shielded from cancellation)."""


async def _pump(
    source: Callable[[], AsyncIterator[Any]],
    send: MemoryObjectSendStream[Any],
    done: threading.Event,
) -> None:
    """Read ``source`` to its end into ``send``; an exception travels as an item."""
    try:
        async with send:
            iterator = source()
            try:
                async for item in iterator:
                    await send.send(item)
            except Exception as exc:
                await send.send(_Raised(exc))
            else:
                await send.send(_END)
            finally:
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_SECONDS):
                        await aclose()
    finally:
        done.set()


async def _receive(receive: MemoryObjectReceiveStream[Any]) -> Any:
    try:
        return await receive.receive()
    except (anyio.EndOfStream, anyio.ClosedResourceError):
        return _END


async def _close_stream(receive: MemoryObjectReceiveStream[Any]) -> None:
    receive.close()
