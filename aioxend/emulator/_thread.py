"""Serve an emulator on its own event loop in a background thread, for synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

__all__ = ["serve_in_thread"]


class _Server(Protocol):
    async def start(self) -> object: ...
    async def stop(self) -> None: ...


S = TypeVar("S", bound=_Server)


@contextmanager
def serve_in_thread(server: S, name: str) -> Iterator[S]:
    """Start ``server`` on a fresh loop in a daemon thread, yield it, then stop it there.

    A failure to start is raised in the caller's thread; on exit the server is stopped,
    the loop's remaining tasks cancelled and its async generators closed.
    """
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(server.stop())
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    ready.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
