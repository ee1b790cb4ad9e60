"""Callbacks around every call, for metrics and tracing, the same for both clients.

    hooks = aioxend.hooks.Hooks(on_response=lambda e: histogram.observe(e.duration))
    async with aioxend.connect(url, hooks=hooks) as xend: ...
    async with aioxend.xenapi.connect(url, hooks=hooks) as xapi: ...

Each hook is given a ``CallEvent`` and may be a plain function or a coroutine function.
``on_request`` runs before a call is sent and may return a mapping of headers that every
request of that call then carries (a ``traceparent``, for OpenTelemetry); ``on_response``
runs when the call returned its value, ``on_error`` when it raised an ``Exception``. A
call is one operation (``pause``, ``VM.get_record``, and ``connect`` for what
``async with`` sends); a legacy ``domains()`` over SXP is one call of many requests.
A cancelled call runs neither ``on_response`` nor ``on_error``.

A hook that raises is never swallowed and never hides the call's own error:

* ``on_request``: the call is not sent, and the hook's exception is raised (a veto).
* ``on_response``: the call has happened; the hook's exception is raised, noted with
  "the call itself succeeded", so a caller does not take it for the server's failure.
* ``on_error``: the call's own error is raised; the hook's exception is added to it as a
  note and logged at ERROR (with its traceback) on the client's logger.

The sizes, status, connection and retry counts come from aioxend's own transport; with
a ``transport=`` of your own they stay 0 and ``None``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["CallEvent", "Hook", "Hooks"]


@dataclass(slots=True)
class CallEvent:
    """One call, as a hook sees it; nothing in it carries a secret. Each hook call gets
    an event of its own (not frozen: a frozen dataclass costs five times as much to make).

    ``api`` is ``"xend"`` (``aioxend.connect``) or ``"xenapi"``; ``operation`` the method
    (``"pause"``, ``"VM.start"``); ``target`` the domain or the first argument (an object
    reference), when there is one; ``url`` the server's, redacted; ``protocol`` the wire
    (``"xmlrpc"``, ``"sxp"``, ``"jsonrpc"``, or ``"auto"`` before it is settled);
    ``call_id`` numbers the calls of the process, as the log lines do. At the end:
    ``duration`` in seconds, the last HTTP ``status``, the ``requests`` sent, body
    ``bytes_sent`` and ``bytes_received``, ``new_connections`` opened for it,
    ``retries`` (a read resent after a stale keep-alive) and the ``error`` raised.
    """

    api: str
    operation: str
    target: str | None
    url: str
    protocol: str
    call_id: int
    duration: float | None = None
    status: int | None = None
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    new_connections: int = 0
    retries: int = 0
    error: Exception | None = None


Hook = Callable[[CallEvent], object | Awaitable[object]]
"""A hook: a function or coroutine function of a ``CallEvent``."""


@dataclass(frozen=True, slots=True)
class Hooks:
    """The callbacks a client runs around each call (see the module docstring)."""

    on_request: Hook | None = None
    """May return (or its coroutine return) a mapping of headers for the call's requests."""
    on_response: Hook | None = None
    on_error: Hook | None = None

    def __post_init__(self) -> None:
        for name in ("on_request", "on_response", "on_error"):
            hook = getattr(self, name)
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable, not {type(hook).__name__}")
