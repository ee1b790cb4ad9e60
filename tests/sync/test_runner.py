"""The machinery under both blocking clients: async iterators read by blocking, an
interrupted wait, closing from several threads, and a client left open at exit."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from aioxend.emulator.xenapi import XenAPIServer
from aioxend.sync import BlockingIterator
from aioxend.sync._runner import Client, opener
from tests.sync.conftest import portal_threads


class Counter:
    """A small async client with an async generator, as ``events``/``watch`` are."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.fail_at = fail_at
        self.closed_generators = 0
        self.open = False

    async def __aenter__(self) -> Counter:
        self.open = True
        return self

    async def aclose(self) -> None:
        self.open = False

    async def count(self, up_to: int) -> AsyncIterator[int]:
        try:
            with anyio.CancelScope():  # a scope held across yields stays in one task
                for n in range(up_to):
                    if n == self.fail_at:
                        raise ValueError(f"failed at {n}")
                    await anyio.lowlevel.checkpoint()
                    yield n
        finally:
            self.closed_generators += 1

    async def wait(self, seconds: float) -> float:
        await anyio.sleep(seconds)
        return seconds


class BlockingCounter(Client[Counter]):
    __slots__ = ()

    def count(self, up_to: int) -> BlockingIterator[int, AsyncIterator[int]]:
        return self._iterate(self._target.count, up_to)

    def wait(self, seconds: float) -> float:
        return self._call(self._target.wait, seconds)


connect = opener(Counter, BlockingCounter, __name__, "A blocking counter.")


def test_an_async_iterator_is_read_by_blocking() -> None:
    with connect() as counter, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert list(counter.count(5)) == [0, 1, 2, 3, 4]
        assert counter._target.closed_generators == 1
        gc.collect()
    assert [w for w in caught if w.category is ResourceWarning] == []  # streams closed at the end


def test_an_exception_of_the_iterator_reaches_the_reader_unchanged() -> None:
    with connect(fail_at=2) as counter:
        numbers = counter.count(5)
        assert [next(numbers), next(numbers)] == [0, 1]
        with pytest.raises(ValueError, match=r"^failed at 2$"):
            next(numbers)
        assert list(numbers) == []


def test_leaving_a_loop_early_and_closing_closes_the_generator() -> None:
    with connect() as counter:
        with counter.count(1_000_000) as numbers:
            for n in numbers:
                if n == 3:
                    break
        assert counter._target.closed_generators == 1
        assert list(numbers) == []


def test_closing_the_client_ends_an_iteration_in_another_thread() -> None:
    counter = connect()
    numbers = counter.count(10**9)
    seen: list[BaseException | None] = []

    def read() -> None:
        try:
            for _ in numbers:
                pass
            seen.append(None)
        except BaseException as exc:
            seen.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.2)
    counter.close()
    reader.join(5)
    assert not reader.is_alive()
    assert len(seen) == 1
    assert seen[0] is None or isinstance(seen[0], RuntimeError)


def test_close_from_several_threads_returns_once_the_thread_is_gone() -> None:
    counter = connect()
    done: list[int] = []

    def close() -> None:
        counter.close()
        done.append(len(portal_threads()))

    closers = [threading.Thread(target=close) for _ in range(6)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    assert done == [0] * 6
    assert not counter._target.open


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals")
def test_an_interrupted_wait_cancels_the_call_and_the_client_stays_usable() -> None:
    with connect() as counter:
        main = threading.main_thread().ident
        assert main is not None
        threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT)).start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            counter.wait(30)
        assert time.monotonic() - started < 10
        assert counter.wait(0.01) == 0.01


def test_a_client_left_open_at_exit_logs_out_and_does_not_hang(tmp_path: Any) -> None:
    with XenAPIServer.in_thread(tcp="127.0.0.1:0", vms=1) as server:
        before = set(server.pool.sessions())
        script = textwrap.dedent(
            f"""
            from aioxend.sync import xenapi
            xapi = xenapi.connect({server.url!r}, username="root", password="xenroot")
            print(len(xapi.VM.get_all()))
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert set(server.pool.sessions()) == before


def test_a_close_from_the_loop_thread_itself_is_done_by_a_helper_thread() -> None:
    counter = connect()
    runner = counter._runner

    async def close_from_inside() -> None:
        runner.close(counter._target.aclose)  # as a collection in the loop thread would
        await anyio.sleep(30)  # the helper cancels this call, then stops the loop

    with pytest.raises(RuntimeError, match="closed during the call"):
        runner.call(close_from_inside)
    deadline = time.monotonic() + 10
    while portal_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not counter._target.open
