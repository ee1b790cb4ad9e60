"""The blocking twin of a Xen-API ``Task`` (what ``xapi.Async.VM.start(...)`` returns)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aioxend.sync._runner import Part

if TYPE_CHECKING:
    from aioxend.errors import XendError
    from aioxend.xenapi._task import Task as AsyncTask

__all__ = ["Task"]

T = TypeVar("T")


class Task(Part["AsyncTask[T]"], Generic[T]):
    """A server-side task; ``wait()`` blocks for its typed result (``await task``'s).

    ``wait(timeout=...)`` raises ``aioxend.Timeout`` on running out and leaves the task
    running; an interrupted wait (Ctrl-C) cancels and destroys it, as a cancelled
    ``await`` does. ``ref``, ``method``, ``progress``, ``status`` and ``cancel_error``
    are the async task's.
    """

    __slots__ = ()

    def __init__(self, owner: Part[Any], target: AsyncTask[T]) -> None:
        super().__init__(owner, target)

    @property
    def ref(self) -> str:
        """The task's reference."""
        return self._target.ref

    @property
    def method(self) -> str:
        """The call the task runs (``"VM.clean_shutdown"``)."""
        return self._target.method

    @property
    def progress(self) -> float:
        """The last progress seen while waiting, 0 to 1."""
        return self._target.progress

    @property
    def status(self) -> str:
        """The last status seen while waiting (``"pending"``, ``"success"``...)."""
        return self._target.status

    @property
    def cancel_error(self) -> XendError | None:
        """What ``task.cancel`` answered when it could not cancel (xend)."""
        return self._target.cancel_error

    def wait(self, timeout: float | None = None) -> T:
        """The result once the task ends; ``timeout`` seconds at most (``None``: no limit)."""
        return self._call(self._target.wait, timeout)

    def cancel(self) -> None:
        """Ask the server to cancel the task (``task.cancel``); it may end otherwise."""
        self._call(self._target.cancel)

    def destroy(self) -> None:
        """Destroy the task object (``task.destroy``); an error is logged, not raised."""
        self._call(self._target.destroy)

    def __repr__(self) -> str:
        return f"<blocking {self._target!r}>"
