"""``Async.*`` calls as tasks: finished at once, or pending for a while first.

With ``task_duration`` 0 (the default) the call runs when it is made and its task is
already ``success`` or ``failure``. With a duration, the task is ``pending`` (progress
0) and the call runs once the duration has passed: ``settle`` runs every task that is
due (the dispatcher settles before each call, and the listener schedules a settle for
the next due time, so a client waiting in ``event.from`` sees the task finish). A
pending task may be cancelled (``task.cancel``): it ends ``cancelled`` and its call
never runs. A finished task holds ``result`` (the value as one XML-RPC ``<value>``) or
``error_info`` (the error description), as xapi's do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aioxend.emulator.xenapi._failure import Failure

if TYPE_CHECKING:
    from aioxend.emulator.xenapi._pool import Pool

__all__ = ["TaskQueue"]


class TaskQueue:
    """The pending ``Async.*`` tasks of a pool, by task ref."""

    def __init__(self, pool: Pool, duration: float) -> None:
        if duration < 0:
            raise ValueError(f"task_duration must not be negative, not {duration}")
        self._pool = pool
        self.duration = duration
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[float, Callable[[], object], Callable[[object], str]]] = {}

    def submit(
        self,
        name: str,
        host: str,
        session: str,
        run: Callable[[], object],
        encode: Callable[[object], str],
    ) -> str:
        """A new task for the call ``run``; finished now, or pending for ``duration``."""
        pool = self._pool
        with pool.lock:
            fields: dict[str, object] = {
                "name_label": name,
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
            if self.duration == 0:
                self._finish(task, run, encode)
            else:
                with self._lock:
                    self._pending[task] = (pool.clock() + self.duration, run, encode)
            return task

    def _finish(
        self, task: str, run: Callable[[], object], encode: Callable[[object], str]
    ) -> None:
        pool = self._pool
        fields: dict[str, object]
        try:
            value = run()
        except Failure as failure:
            fields = {"status": "failure", "error_info": failure.description, "result": ""}
        else:
            fields = {"status": "success", "result": encode(value)}
        record = pool.table("task").get(task)
        if record is None:  # destroyed while it ran
            return
        record.update(fields, progress=1.0, finished=datetime.now(UTC))
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
            for task, (_, run, encode) in sorted(due, key=lambda item: item[1][0]):
                self._finish(task, run, encode)

    def next_due(self) -> float | None:
        """The pool clock's time at which the next pending task is due, if any."""
        with self._lock:
            return min((entry[0] for entry in self._pending.values()), default=None)

    def cancel(self, task: str) -> bool:
        """Cancel a pending task (True), or say it is not pending (False)."""
        with self._lock:
            if self._pending.pop(task, None) is None:
                return False
        pool = self._pool
        with pool.lock:
            record = pool.get("task", task)
            record.update(status="cancelled", finished=datetime.now(UTC))
            pool.touch("task", task)
        return True
