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
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

import anyio

from aioxend.errors import ProtocolError, Timeout, XenAPIError, XendError
from aioxend.xenapi import _values as _v
from aioxend.xenapi._classbase import Caller
from aioxend.xenapi.errors import (
    EventsLost,
    MessageMethodUnknown,
    OperationNotAllowed,
    from_description,
)

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


def decode_result(method: str, decode: _v.Decoder[T], value: object) -> T:
    """A task's ``result`` field as the typed value: xapi's XML-RPC ``<value>`` in a string
    (``""`` for void), decoded by ``aioxend.xmlrpc``; xend's value as it is (a plain
    string, or the struct or array itself)."""
    from aioxend import xmlrpc

    if isinstance(value, str) and value.lstrip().startswith("<value"):
        document = f"<methodResponse><params><param>{value}</param></params></methodResponse>"
        try:
            (value,), _ = xmlrpc.loads(document)
        except (XendError, ValueError) as exc:
            raise ProtocolError(f"{method}: the task's result is no XML-RPC value: {exc}") from None
    elif isinstance(value, str) and not value.strip():
        value = ""  # a void result: xapi leaves the field empty
    return _v.result(method, decode, value)


@dataclass(frozen=True, slots=True)
class _State:
    """What a task record says of its progress and end, whichever server wrote it."""

    status: str
    progress: float
    result: object
    error: list[str]

    @property
    def ended(self) -> bool:
        return self.status in _FINISHED


def _state_of_record(record: object) -> _State:
    """The state in an ``event.from`` snapshot (a typed ``taskRecord``)."""
    from aioxend.xenapi._generated.task import taskRecord

    if not isinstance(record, taskRecord):
        raise ProtocolError(f"a task event came without the task's record ({record!r:.60})")
    return _State(str(record.status), record.progress, record.result, list(record.error_info))


def _state_of_wire(wire: object) -> _State:
    """The state in ``task.get_record``'s answer as it came: xapi's record, or xend's
    ``XendTask.get_record`` (progress in percent, the failure's code apart in
    ``error_code``, ``allowed_operations`` a struct), read field by field."""
    key = "record"
    try:
        if not isinstance(wire, Mapping):
            raise ProtocolError(f"expected a struct, got {type(wire).__name__}")
        key = "status"
        status = _v.string(wire.get(key))
        key = "progress"
        progress = _v.floating(wire.get(key, 0.0))
        key = "error_info"
        error = _ERROR_INFO(wire.get(key, []))
        key = "error_code"
        code = wire.get(key)
        if code is not None:
            progress /= 100
            error = [_v.string(code), *error] if code else error
    except ProtocolError as exc:
        raise ProtocolError(f"task.get_record returned a bad {key}: {exc}") from None
    return _State(status, progress, wire.get("result", ""), error)


_ERROR_INFO: Final = _v.list_of(_v.string)


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
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0
        ):
            raise ValueError(f"timeout must be seconds (0 or more) or None, not {timeout!r}")
        if self._outcome is None:
            try:
                with anyio.move_on_after(timeout) as scope:
                    state = await self._until_finished()
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_SECONDS):
                    await self._abandon()
                raise
            if scope.cancelled_caught:
                raise Timeout(f"{self.method}: task {self.ref} did not end within {timeout} s")
            self._outcome = self._settle(state)
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
        except XendError as exc:
            self.cancel_error = exc
            # xend always refuses (XendAPI.task_cancel), and a task that just ended may too
            level = logging.INFO if isinstance(exc, OperationNotAllowed) else logging.WARNING
            log.log(level, "task.cancel of %s (%s) failed: %s", self.ref, self.method, exc)
        await self.destroy()

    # --- waiting ------------------------------------------------------------------------
    async def _until_finished(self) -> _State:
        if not _NO_EVENT_FROM.get(self._caller, False):
            try:
                return await self._watch()
            except MessageMethodUnknown:
                _NO_EVENT_FROM[self._caller] = True
        return await self._poll()

    async def _watch(self) -> _State:
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
                state = self._seen(_state_of_record(event.snapshot))
                if state.ended:
                    return state

    async def _poll(self) -> _State:
        """Read the task's record until it ends, pausing longer each time."""
        pause = POLL_FIRST
        while True:
            answer = await self._caller.call("task.get_record", self.ref, read=True)
            state = self._seen(_state_of_wire(answer))
            if state.ended:
                return state
            await anyio.sleep(pause)
            pause = min(pause * 2, POLL_MAX)

    def _seen(self, state: _State) -> _State:
        """Note a record's progress and status."""
        self.progress, self.status = state.progress, state.status
        return state

    def _gone(self) -> XenAPIError:
        """The error for a task destroyed by someone else before it ended."""
        return from_description(self.method, ["HANDLE_INVALID", "task", self.ref])

    def _settle(self, state: _State) -> tuple[bool, Any]:
        """The outcome of an ended task: (True, result) or (False, the error to raise)."""
        if state.status == "success":
            try:
                return True, decode_result(self.method, self._decode, state.result)
            except ProtocolError as exc:
                return False, exc
        if state.error:
            return False, from_description(self.method, state.error)
        if state.status == "cancelled":  # taskHelper.ml: cancelled tasks carry no error_info
            return False, from_description(self.method, ["TASK_CANCELLED", self.ref])
        return False, ProtocolError(f"{self.method}: task {self.ref} failed with no error_info")
