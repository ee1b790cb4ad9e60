"""``Async.*`` calls as tasks: finished at once, or pending for a while first.

With ``task_duration`` 0 (the default) the call runs when it is made and its task is
already ``success`` or ``failure``. With a duration, the task is ``pending`` and the call
runs once the duration has passed; meanwhile its ``progress`` climbs in quarters (0,
0.25, 0.5, 0.75), each step a change an ``event.from`` reports. ``settle`` runs every
task that is due and steps the others (the dispatcher settles before each call, and the
listener schedules a settle for the next due time or step, so a client waiting in
``event.from`` sees the task move and finish). A pending task may be cancelled
(``task.cancel``): it ends ``cancelled`` with progress 1 and no ``error_info``, as
``TaskHelper.cancel_this`` leaves it, and its call never runs. A finished task holds
``result`` (the value as one XML-RPC ``<value>``) or ``error_info`` (the error
description), as xapi's do. xend's tasks are ``XendTask``'s: ``progress`` in percent
(0 to 100), ``result`` the value itself, and a failure's code in ``error_code`` with
only its parameters in ``error_info``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aioxend.emulator.xenapi._failure import Failure

if TYPE_CHECKING:
    from aioxend.emulator.xenapi._pool import Pool

__all__ = ["TaskQueue", "new_task"]

_Encode = Callable[[object], object]
"""What makes a task's ``result`` field of a call's value (``_xmlrpc.task_result``)."""


def new_task(pool: Pool, label: str, description: str, host: str, session: str) -> str:
    """A ``pending`` task in ``session``'s list (``Xapi_task.create``; ``task.create`` and
    the HTTP handlers' own tasks too)."""
    with pool.lock:
        fields: dict[str, object] = {
            "name_label": label,
            "name_description": description,
            "created": datetime.now(UTC),
            "resident_on": host,
            "status": "pending",
            "progress": 0.0,
        }
        task = pool.add("task", fields)
        record = pool.table("session").get(session)
        if record is not None:
            tasks = record["tasks"]
            assert isinstance(tasks, list)
            tasks.append(task)
        return task


class TaskQueue:
    """The pending ``Async.*`` tasks of a pool, by task ref."""

    def __init__(self, pool: Pool, duration: float) -> None:
        if duration < 0:
            raise ValueError(f"task_duration must not be negative, not {duration}")
        self._pool = pool
        self.duration = duration
        self._lock = threading.Lock()
        self._pending: dict[
            str, tuple[float, Callable[[], object], Callable[[object], object]]
        ] = {}
        self._started: dict[str, float] = {}

    def submit(
        self,
        name: str,
        host: str,
        session: str,
        run: Callable[[], object],
        encode: Callable[[object], object],
    ) -> str:
        """A new task for the call ``run``; finished now, or pending for ``duration``."""
        pool = self._pool
        with pool.lock:
            task = new_task(pool, name, "", host, session)
            if pool.dialect == "xend":  # XendTask.get_record: progress in percent
                pool.get("task", task).update(progress=0, error_code="", session=session)
            if self.duration == 0:
                self._finish(task, run, encode)
            else:
                with self._lock:
                    now = pool.clock()
                    self._pending[task] = (now + self.duration, run, encode)
                    self._started[task] = now
            return task

    def _finish(
        self, task: str, run: Callable[[], object], encode: Callable[[object], object]
    ) -> None:
        pool = self._pool
        fields: dict[str, object]
        xend = pool.dialect == "xend"
        try:
            value = run()
        except Failure as failure:
            fields = {"status": "failure", "error_info": failure.description, "result": ""}
            if xend:  # XendTask.run: the code apart, the parameters in error_info
                fields.update(error_code=failure.code, error_info=failure.params)
        else:
            fields = {"status": "success", "result": encode(value)}
        record = pool.table("task").get(task)
        if record is None:  # destroyed while it ran
            return
        record.update(fields, progress=100 if xend else 1.0, finished=datetime.now(UTC))
        pool.touch("task", task)

    def settle(self) -> None:
        """Run every pending task that is due."""
        pool = self._pool
        with pool.lock:
            now = pool.clock()
            with self._lock:
                due = [(t, entry) for t, entry in self._pending.items() if entry[0] <= now]
                for task, _ in due:
                    del self._pending[task]
                    self._started.pop(task, None)
                running = [(t, self._quarter(t, now)) for t in self._pending]
            for task, (_, run, encode) in sorted(due, key=lambda item: item[1][0]):
                self._finish(task, run, encode)
            for task, progress in running:
                record = pool.table("task").get(task)
                if record is not None and record["progress"] != progress:
                    record["progress"] = progress
                    pool.touch("task", task)

    def _quarter(self, task: str, now: float) -> float:
        """The progress of a pending task: the quarters of its duration gone by (xend:
        in percent, an int)."""
        done = (now - self._started.get(task, now)) / self.duration
        quarter = min(int(done * 4), 3) / 4
        return int(quarter * 100) if self._pool.dialect == "xend" else quarter

    def next_due(self) -> float | None:
        """The pool clock's time of the next end or progress step of a pending task."""
        step = self.duration / 4
        with self._lock:
            times = [entry[0] for entry in self._pending.values()]
            now = self._pool.clock()
            for started in self._started.values():
                steps = int((now - started) / step) + 1 if step else 0
                times.append(started + steps * step)
            return min(times, default=None)

    def cancel(self, task: str) -> bool:
        """Cancel a pending task (True), or say it is not pending (False)."""
        with self._lock:
            if self._pending.pop(task, None) is None:
                return False
            self._started.pop(task, None)
        pool = self._pool
        with pool.lock:
            record = pool.get("task", task)
            record.update(status="cancelled", progress=1.0, finished=datetime.now(UTC))
            pool.touch("task", task)
        return True
