"""``xapi.Async.<Class>.<message>`` and ``Task`` against the emulator: xapi over both
wires (waiting through ``event.from``) and xend (polling): success with typed results,
failure, progress while it runs, cancellation (xapi cancels; xend refuses with
``OPERATION_NOT_ALLOWED``, reported and not raised), timeouts, a task destroyed under
the waiter, and ``EVENTS_LOST`` mid-watch."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from aioxend import Timeout
from aioxend.emulator.xenapi import XenAPIServer
from aioxend.xenapi import Task, VMRef, XenAPIClient, connect, errors

WIRES = ["jsonrpc", "xmlrpc", "xend"]


@asynccontextmanager
async def opened(kind: str, duration: float) -> AsyncIterator[tuple[XenAPIServer, XenAPIClient]]:
    dialect = "xend" if kind == "xend" else "xapi"
    protocol = "xmlrpc" if kind == "xend" else kind
    async with (
        XenAPIServer(vms=3, dialect=dialect, task_duration=duration) as srv,
        connect(srv.url, username="root", password="xenroot", protocol=protocol) as xapi,  # type: ignore[arg-type]
    ):
        yield srv, xapi


def tasks_of(srv: XenAPIServer) -> set[str]:
    with srv.pool.lock:
        return set(srv.pool.table("task"))


async def vm(xapi: XenAPIClient, name: str) -> VMRef:
    [ref] = await xapi.VM.get_by_name_label(name)
    return ref


@pytest.mark.parametrize("kind", WIRES)
async def test_a_task_ends_with_its_result_and_is_destroyed(kind: str) -> None:
    async with opened(kind, 0.4) as (srv, xapi):
        running = await vm(xapi, "vm1")
        task = await xapi.Async.VM.clean_shutdown(running)
        assert isinstance(task, Task)
        assert task.ref in tasks_of(srv)
        assert (task.status, task.progress) == ("pending", 0.0)
        seen: list[float] = []

        async def watch() -> None:
            while True:
                seen.append(task.progress)
                await anyio.sleep(0.02)

        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            with anyio.fail_after(10):
                await task
            tg.cancel_scope.cancel()
        assert any(0 < p < 1 for p in seen), seen  # progress moved while it ran
        assert (task.status, task.progress) == ("success", 1.0)
        assert await xapi.VM.get_power_state(running) == "Halted"
        assert task.ref not in tasks_of(srv)
        await task  # awaiting again gives the same outcome, at once


@pytest.mark.parametrize("kind", WIRES)
async def test_a_typed_result(kind: str) -> None:
    async with opened(kind, 0.0) as (srv, xapi):
        task = await xapi.Async.VM.clone(await vm(xapi, "vm2"), "copy")
        clone = await task.wait(timeout=10)
        assert clone in await xapi.VM.get_all()
        assert await xapi.VM.get_name_label(clone) == "copy"
        assert task.ref not in tasks_of(srv)


@pytest.mark.parametrize("kind", WIRES)
async def test_a_failed_task_raises_its_error_and_is_destroyed(kind: str) -> None:
    async with opened(kind, 0.1) as (srv, xapi):
        task = await xapi.Async.VM.start(await vm(xapi, "vm1"), False, False)  # running
        with pytest.raises(errors.VmBadPowerState) as caught:
            await task
        assert caught.value.method == "VM.start"
        assert task.status == "failure"
        assert task.ref not in tasks_of(srv)


@pytest.mark.parametrize("kind", ["jsonrpc", "xmlrpc"])
async def test_cancelling_the_waiter_cancels_and_destroys_the_task(kind: str) -> None:
    async with opened(kind, 30.0) as (srv, xapi):
        running = await vm(xapi, "vm1")
        task = await xapi.Async.VM.clean_shutdown(running)
        record = srv.pool.get("task", task.ref)
        started = time.monotonic()
        with anyio.move_on_after(0.3):
            await task
        assert time.monotonic() - started < 5
        assert record["status"] == "cancelled"
        assert task.cancel_error is None
        assert task.ref not in tasks_of(srv)
        assert await xapi.VM.get_power_state(running) == "Running"  # the call never ran


async def test_on_xend_the_refused_cancel_is_recorded_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aioxend.xenapi")
    async with opened("xend", 30.0) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))
        cancelled = False
        try:
            with anyio.CancelScope() as scope:
                scope.deadline = anyio.current_time() + 0.3
                await task
        finally:
            cancelled = scope.cancelled_caught
        assert cancelled
        assert isinstance(task.cancel_error, errors.OperationNotAllowed)
        assert task.ref not in tasks_of(srv)
        [logged] = [r for r in caplog.records if "task.cancel" in r.getMessage()]
        assert logged.levelno == logging.INFO
        assert "OPERATION_NOT_ALLOWED" in logged.getMessage()


@pytest.mark.parametrize("kind", ["jsonrpc", "xend"])
async def test_a_wait_that_times_out_leaves_the_task_running(kind: str) -> None:
    async with opened(kind, 0.8) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))
        with pytest.raises(Timeout, match="did not end within"):
            await task.wait(timeout=0.1)
        assert task.ref in tasks_of(srv)
        await task.wait(timeout=10)
        assert task.ref not in tasks_of(srv)


async def test_an_explicit_cancel_ends_in_task_cancelled() -> None:
    async with opened("jsonrpc", 30.0) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))
        await task.cancel()
        with pytest.raises(errors.TaskCancelled):
            await task
        assert task.status == "cancelled"
        assert task.ref not in tasks_of(srv)


@pytest.mark.parametrize("kind", WIRES)
async def test_a_task_destroyed_under_the_waiter_is_handle_invalid(kind: str) -> None:
    async with opened(kind, 30.0) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))

        async def destroy() -> None:
            await anyio.sleep(0.3)
            srv.pool.remove("task", task.ref)

        async with anyio.create_task_group() as tg:
            tg.start_soon(destroy)
            with anyio.fail_after(10), pytest.raises(errors.HandleInvalid):
                await task
        gone = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))
        srv.pool.remove("task", gone.ref)
        with anyio.fail_after(10), pytest.raises(errors.HandleInvalid):
            await gone


async def test_events_lost_while_watching_starts_the_watch_again() -> None:
    async with opened("jsonrpc", 0.6) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))

        async def lose() -> None:
            await anyio.sleep(0.2)
            srv.lose_events()

        async with anyio.create_task_group() as tg:
            tg.start_soon(lose)
            with anyio.fail_after(10):
                await task


async def test_an_expired_session_while_watching_logs_in_again() -> None:
    async with opened("xmlrpc", 0.6) as (srv, xapi):
        task = await xapi.Async.VM.clean_shutdown(await vm(xapi, "vm1"))
        srv.expire_session()
        with anyio.fail_after(10):
            await task


async def test_errors_before_the_task_exists_come_back_bare() -> None:
    async with opened("jsonrpc", 0.0) as (srv, xapi):
        with pytest.raises(errors.MessageParameterCountMismatch):
            await xapi.call("Async.VM.clean_shutdown")
        task = await xapi.Async.VM.clean_shutdown(VMRef("OpaqueRef:nothing"))
        with pytest.raises(errors.HandleInvalid):
            await task  # xapi checks the handle inside the task
        assert task.ref not in tasks_of(srv)


def test_tasks_and_events_on_trio() -> None:
    import trio

    with XenAPIServer.in_thread(tcp="127.0.0.1:0", task_duration=0.3) as srv:
        outcome: list[object] = []

        async def main() -> None:
            async with connect(srv.url, username="root", password="xenroot") as xapi:
                [halted] = await xapi.VM.get_by_name_label("vm2")
                outcome.append(await (await xapi.Async.VM.clone(halted, "on-trio")))
                task = await xapi.Async.VM.start(halted, False, False)
                with trio.move_on_after(0.1):
                    await task
                outcome.append(task.ref in tasks_of(srv))
                async with xapi.events([f"vm/{halted}"], timeout=1.0) as stream:
                    first = await anext(stream)
                    outcome.append(getattr(first, "operation", None))

        trio.run(main)
        clone, task_left, operation = outcome
        assert isinstance(clone, str)
        assert clone.startswith("OpaqueRef:")
        assert task_left is False  # cancelled with its awaiter, and destroyed
        assert operation == "add"
        assert srv.pool.get("VM", srv.pool.vm("vm2"))["power_state"] == "Halted"


async def test_many_tasks_at_once_each_end_and_are_destroyed() -> None:
    async with opened("jsonrpc", 0.2) as (srv, xapi):
        [halted] = await xapi.VM.get_by_name_label("vm2")
        tasks = [await xapi.Async.VM.clone(halted, f"copy{i}") for i in range(20)]
        clones: list[VMRef] = []

        async def wait(task: Task[VMRef]) -> None:
            clones.append(await task)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for task in tasks:
                    tg.start_soon(wait, task)
        assert len(set(clones)) == 20
        assert not {t.ref for t in tasks} & tasks_of(srv)
        with pytest.raises(ValueError, match="timeout must be"):
            await tasks[0].wait(timeout=-1)
