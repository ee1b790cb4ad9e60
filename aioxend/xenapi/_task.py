"""``Task``: one ``Async.<Class>.<message>`` call running on the server, to await or cancel.

``xapi.Async.VM.clean_shutdown(ref)`` sends the call and returns a ``Task`` at once; the
server runs it as a ``task`` object whose ``status`` goes from ``pending`` to ``success``,
``failure`` or ``cancelled`` (``ocaml/xapi/taskHelper.ml``). ``await task`` (or
``task.wait(timeout=...)``) waits for that end:

* where the server has ``event.from``, by watching ``task/<ref>`` (the first batch, from
  ``""``, is the task as it is now, so no change can slip by); after ``EVENTS_LOST`` the
  watch starts again from ``""``;
* where it has not (xend), by reading the record (``task.get_record``) with a backoff
  from ``POLL_FIRST`` to ``POLL_MAX`` seconds.

Each record seen updates ``progress`` and ``status``. The end: ``success`` gives the
result, which xapi stores as one XML-RPC ``<value>`` in a string (``Xmlrpc.to_string``
in ``set_result_on_task``; ``""`` for a void result), decoded by ``aioxend.xmlrpc`` and
then typed; ``failure`` raises the ``XenAPIError`` of ``error_info``; ``cancelled``
raises ``TaskCancelled``. Either way the task is destroyed (the client owns its tasks).

A coroutine awaiting the task that is cancelled cancels the task (``task.cancel``) and
destroys it, shielded and within ``CANCEL_SECONDS``; an error of ``task.cancel`` (xend
always answers ``OPERATION_NOT_ALLOWED``, ``XendAPI.task_cancel``) is logged and kept
in ``cancel_error``, never raised over the cancellation. ``wait(timeout=...)`` running
out raises ``aioxend.Timeout`` and leaves the task running, to wait for again.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

import anyio

from aioxend.errors import ProtocolError, Timeout, XenAPIError, XendError
from aioxend.xenapi import _values as _v
from aioxend.xenapi._classbase import Caller
from aioxend.xenapi.errors import EventsLost, MessageMethodUnknown, from_description

if TYPE_CHECKING:
    from aioxend.xenapi._generated.task import taskRecord

__all__ = ["CANCEL_SECONDS", "POLL_FIRST", "POLL_MAX", "Task", "decode_result"]

log = logging.getLogger("aioxend.xenapi")

T = TypeVar("T")

CANCEL_SECONDS: Final = 5.0
"""The longest cancelling and destroying a task may take after its awaiter was cancelled."""
POLL_FIRST: Final = 0.05
"""The first pause between two reads of a task's record where there is no event.from."""
POLL_MAX: Final = 2.0
"""The longest pause between two reads (the pause doubles up to it)."""
WATCH_SECONDS: Final = 30.0
"""How long one ``event.from`` on the task waits on the server."""

_FINISHED: Final = frozenset({"success", "failure", "cancelled"})
# Whether a caller's server has event.from, learnt by its first task (xend has not).
_NO_EVENT_FROM: weakref.WeakKeyDictionary[object, bool] = weakref.WeakKeyDictionary()


def decode_result(method: str, decode: _v.Decoder[T], text: object) -> T:
    """A task's ``result`` field, an XML-RPC ``<value>`` in a string, as the typed value."""
    from aioxend import xmlrpc

    if not isinstance(text, str):
        raise ProtocolError(f"{method}: a task result must be a string, got {type(text).__name__}")
    if not text.strip():
        return _v.result(method, decode, "")  # a void result: xapi leaves the field empty
    document = f"<methodResponse><params><param>{text}</param></params></methodResponse>"
    try:
        (value,), _ = xmlrpc.loads(document)
    except (XendError, ValueError) as exc:
        raise ProtocolError(f"{method}: the task's result is no XML-RPC value: {exc}") from None
    return _v.result(method, decode, value)


class Task(Generic[T]):
    """A server-side task running ``method``; ``await`` it for its typed result.

    ``ref`` is the task's reference, ``method`` the call it runs (``"VM.clean_shutdown"``);
    ``progress`` (0 to 1) and ``status`` are the last seen while waiting; ``cancel_error``
    is what ``task.cancel`` answered when it could not cancel. See the module docstring.
    """

    def __init__(self, caller: Caller, ref: str, method: str, decode: _v.Decoder[T]) -> None:
        self._caller = caller
        self.ref = ref
        self.method = method
        self._decode = decode
        self.progress = 0.0
        self.status = "pending"
        self.cancel_error: XendError | None = None
        self._outcome: tuple[bool, Any] | None = None
        self._destroyed = False

    @classmethod
    def start(cls, caller: Caller, method: str, decode: _v.Decoder[T], answer: object) -> Task[T]:
        """The task an ``Async.<method>`` call answered (its reference)."""
        if not isinstance(answer, str) or not answer:
            got = type(answer).__name__
            raise ProtocolError(
                f"Async.{method} returned a bad value: not a task reference ({got})"
            )
        return cls(caller, answer, method, decode)

    def __repr__(self) -> str:
        return f"<Task {self.method} {self.ref} {self.status} {self.progress:.0%}>"

    def __await__(self) -> Generator[Any, None, T]:
        return self.wait().__await__()

    async def wait(self, timeout: float | None = None) -> T:  # noqa: ASYNC109 (the task stays)
        """The result, once the task ends (see the module docstring); ``timeout`` seconds at
        most (``aioxend.Timeout`` then, the task left running), ``None`` for no limit."""
        if self._outcome is None:
            try:
                with anyio.move_on_after(timeout) as scope:
                    record = await self._until_finished()
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_SECONDS):
                    await self._abandon()
                raise
            if scope.cancelled_caught:
                raise Timeout(f"{self.method}: task {self.ref} did not end within {timeout} s")
            self._outcome = self._settle(record)
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_SECONDS):
                await self.destroy()
        ok, value = self._outcome
        if not ok:
            raise value
        result: T = value
        return result

    async def cancel(self) -> None:
        """Ask the server to cancel the task (``task.cancel``); it may end otherwise."""
        await self._caller.call("task.cancel", self.ref)

    async def destroy(self) -> None:
        """Destroy the task object (``task.destroy``); an error is logged, not raised."""
        if self._destroyed:
            return
        self._destroyed = True
        try:
            await self._caller.call("task.destroy", self.ref, timeout=CANCEL_SECONDS)
        except XendError as exc:
            log.warning("task.destroy of %s (%s) failed: %s", self.ref, self.method, exc)

    async def _abandon(self) -> None:
        """Cancel and destroy the task, its awaiter being cancelled."""
        try:
            await self.cancel()
        except XendError as exc:  # xend: always OPERATION_NOT_ALLOWED
            self.cancel_error = exc
            log.warning("task.cancel of %s (%s) failed: %s", self.ref, self.method, exc)
        await self.destroy()

    # --- waiting ------------------------------------------------------------------------
    async def _until_finished(self) -> taskRecord:
        if not _NO_EVENT_FROM.get(self._caller, False):
            try:
                return await self._watch()
            except MessageMethodUnknown:
                _NO_EVENT_FROM[self._caller] = True
        return await self._poll()

    async def _watch(self) -> taskRecord:
        """Follow ``task/<ref>`` through ``event.from`` until the task ends."""
        from aioxend.xenapi._events import decode_batch

        token = ""
        while True:
            # from "" the task comes at once as it is now (wait 0: nothing means it is gone)
            wait = WATCH_SECONDS if token else 0.0
            try:
                answer = await self._caller.call(
                    "event.from",
                    [f"task/{self.ref}"],
                    token,
                    wait,
                    timeout=wait + WATCH_SECONDS,
                    read=True,
                )
            except EventsLost:
                token = ""
                continue
            first = not token
            token, _, events = await decode_batch(answer)
            if first and not any(event.ref == self.ref for event in events):
                raise self._gone()
            for event in events:
                if event.ref != self.ref:
                    continue
                if event.operation == "del":
                    raise self._gone()
                record = self._seen(event.snapshot)
                if record is not None:
                    return record

    async def _poll(self) -> taskRecord:
        """Read the task's record until it ends, pausing longer each time."""
        pause = POLL_FIRST
        while True:
            answer = await self._caller.call("task.get_record", self.ref, read=True)
            record = self._seen(_v.result("task.get_record", _task_record, answer))
            if record is not None:
                return record
            await anyio.sleep(pause)
            pause = min(pause * 2, POLL_MAX)

    def _seen(self, record: object) -> taskRecord | None:
        """Note a record's progress and status; the record if the task ended."""
        from aioxend.xenapi._generated.task import taskRecord

        if not isinstance(record, taskRecord):
            raise ProtocolError(f"{self.method}: task {self.ref} came without its record")
        self.progress = record.progress
        self.status = str(record.status)
        return record if self.status in _FINISHED else None

    def _gone(self) -> XenAPIError:
        """The error for a task destroyed by someone else before it ended."""
        return from_description(self.method, ["HANDLE_INVALID", "task", self.ref])

    def _settle(self, record: taskRecord) -> tuple[bool, Any]:
        """The outcome of an ended task: (True, result) or (False, the error to raise)."""
        if self.status == "success":
            try:
                return True, decode_result(self.method, self._decode, record.result)
            except ProtocolError as exc:
                return False, exc
        if record.error_info:
            return False, from_description(self.method, record.error_info)
        if self.status == "cancelled":  # taskHelper.ml: cancelled tasks carry no error_info
            return False, from_description(self.method, ["TASK_CANCELLED", self.ref])
        return False, ProtocolError(f"{self.method}: task {self.ref} failed with no error_info")


def _task_record(wire: object) -> taskRecord:
    from aioxend.xenapi._generated.task import taskRecord

    return taskRecord.from_wire(wire)
