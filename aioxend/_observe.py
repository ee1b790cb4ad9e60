"""``Observer``: what runs around one call when it is logged, traced or hooked.

Both clients own one and ask ``on()`` at the start of every call: when nothing listens
(no hooks, the client's logger below DEBUG, the wire logger below TRACE) and no per-call
header is given, the call runs bare. Otherwise ``run`` numbers the call, runs
``on_request``, logs the request line, puts a ``Tally`` in ``_log.CURRENT`` for the
transport to fill (requests, bytes, status, new connections, resends, the wire trace),
awaits the call, then logs the answer line (or the error's) and runs ``on_response`` or
``on_error``. How a hook's own exception is handled is said in ``aioxend.hooks``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar

from aioxend._log import CURRENT, TRACE, WIRE, Secrets, Tally, from_environment, redact
from aioxend.hooks import CallEvent, Hook, Hooks

__all__ = ["Headers", "Observer", "header_pairs"]

T = TypeVar("T")

Headers: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]
"""Extra request headers, as a mapping or as (name, value) pairs."""

_ids = itertools.count(1)


class Observed(Protocol):
    """What the observer reads of its client."""

    @property
    def url(self) -> str: ...

    @property
    def protocol(self) -> str: ...


def header_pairs(headers: Headers | None) -> tuple[tuple[str, str], ...]:
    """``headers`` as a tuple of (name, value) pairs of text (``None``: none)."""
    if not headers:
        return ()
    pairs = tuple(headers.items() if isinstance(headers, Mapping) else headers)
    for pair in pairs:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], str)
            and isinstance(pair[1], str)
        ):
            raise TypeError(f"headers must map names to values, both str; got {pair!r}")
    return pairs


def _headers(extra: object, hook: str) -> tuple[tuple[str, str], ...]:
    """The headers a hook returned (a mapping of text), as pairs."""
    if extra is None:
        return ()
    if not isinstance(extra, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        raise TypeError(
            f"the {hook} hook returned {type(extra).__name__}; it may return None or a"
            " mapping of header names to values"
        )
    return tuple(extra.items())


async def _run_hook(hook: Hook, event: CallEvent) -> object:
    result = hook(event)
    if isinstance(result, Awaitable):
        return await result
    return result


def _stats(tally: Tally) -> str:
    if not tally.requests:
        return "no request went through aioxend's transport"
    many = tally.requests != 1
    parts = [f"{tally.requests} request{'s' if many else ''}"]
    parts += [f"{tally.sent} B sent", f"{tally.received} B received"]
    if many:
        reused = max(tally.requests - tally.new, 0)
        parts.append(f"{tally.new} new connection{'s' if tally.new != 1 else ''}, {reused} reused")
    else:
        parts.append("new connection" if tally.new else "reused connection")
    if tally.retries:
        parts.append(f"resent {tally.retries}x")
    return ", ".join(parts)


class Observer:
    """Logging, wire trace and hooks around the calls of one client (``api``)."""

    __slots__ = ("_url", "api", "client", "hooks", "log", "secrets")

    def __init__(
        self,
        api: str,
        log: logging.Logger,
        hooks: Hooks | None,
        client: Observed,
        secrets: Secrets,
    ) -> None:
        if hooks is not None and not isinstance(hooks, Hooks):
            raise TypeError(f"hooks must be an aioxend.hooks.Hooks, not {type(hooks).__name__}")
        from_environment()
        self.api = api
        self.log = log
        self.hooks = hooks
        self.client = client
        self.secrets = secrets
        self._url = ("", "")

    def url(self) -> str:
        """The client's URL, redacted (kept until the URL changes: a pool's master)."""
        url, shown = self._url
        if url != self.client.url:
            url = self.client.url
            shown = redact(url, self.secrets)
            self._url = (url, shown)
        return shown

    def on(self) -> bool:
        """Whether a call must be observed: hooks are set, or its log lines would show."""
        return (
            self.hooks is not None
            or self.log.isEnabledFor(logging.DEBUG)
            or WIRE.isEnabledFor(TRACE)
        )

    def _event(
        self,
        tally: Tally,
        operation: str,
        target: str | None,
        seconds: float | None = None,
        error: Exception | None = None,
    ) -> CallEvent:
        return CallEvent(
            api=self.api,
            operation=operation,
            target=target,
            url=self.url(),
            protocol=self.client.protocol,
            call_id=tally.call_id,
            duration=seconds,
            status=tally.status,
            requests=tally.requests,
            bytes_sent=tally.sent,
            bytes_received=tally.received,
            new_connections=tally.new,
            retries=tally.retries,
            error=error,
        )

    async def run(
        self,
        operation: str,
        target: object,
        work: Coroutine[Any, Any, T],
        headers: tuple[tuple[str, str], ...] = (),
        *,
        secret_result: bool = False,
    ) -> T:
        """Await ``work``, the call ``operation`` on ``target``, observed. With
        ``secret_result`` the value (a session reference) is a secret from then on."""
        hooks = self.hooks
        tally = Tally(next(_ids), self.secrets, headers, WIRE.isEnabledFor(TRACE))
        shown = None if target is None else redact(str(target), self.secrets)
        label = operation if shown is None else f"{operation} {shown}"
        if hooks is not None and hooks.on_request is not None:
            try:
                extra = await _run_hook(hooks.on_request, self._event(tally, operation, shown))
                tally.headers += _headers(extra, "on_request")
            except BaseException as exc:
                work.close()
                exc.add_note(f"raised by the on_request hook; {label} was not sent")
                raise
        debug = self.log.isEnabledFor(logging.DEBUG)
        if debug:
            protocol = self.client.protocol
            self.log.debug("#%d %s -> %s (%s)", tally.call_id, label, self.url(), protocol)
        start = time.perf_counter()
        token = CURRENT.set(tally)
        try:
            value = await work
        except BaseException as exc:
            CURRENT.reset(token)
            await self._failed(tally, operation, shown, label, time.perf_counter() - start, exc)
            raise
        CURRENT.reset(token)
        seconds = time.perf_counter() - start
        if secret_result and isinstance(value, str):
            self.secrets.add(value)
        tally.flush()
        if debug:
            self.log.debug(
                "#%d %s <- %s in %.1f ms: %s",
                tally.call_id,
                label,
                tally.status if tally.status is not None else "done",
                seconds * 1e3,
                _stats(tally),
            )
        if hooks is not None and hooks.on_response is not None:
            try:
                await _run_hook(hooks.on_response, self._event(tally, operation, shown, seconds))
            except BaseException as exc:
                exc.add_note(f"raised by the on_response hook; {label} itself succeeded")
                raise
        return value

    async def _failed(
        self,
        tally: Tally,
        operation: str,
        shown: str | None,
        label: str,
        seconds: float,
        exc: BaseException,
    ) -> None:
        """Log a call that raised ``exc`` and run ``on_error`` (for an ``Exception``)."""
        tally.flush()
        if self.log.isEnabledFor(logging.DEBUG):
            what = type(exc).__name__
            said = redact(str(exc), self.secrets) if isinstance(exc, Exception) else "cancelled"
            status = "" if tally.status is None else f"{tally.status}, "
            self.log.debug(
                "#%d %s <- %s in %.1f ms: %s [%s%s]",
                tally.call_id,
                label,
                what,
                seconds * 1e3,
                said,
                status,
                _stats(tally),
            )
        hooks = self.hooks
        if not isinstance(exc, Exception) or hooks is None or hooks.on_error is None:
            return
        try:
            await _run_hook(hooks.on_error, self._event(tally, operation, shown, seconds, exc))
        except Exception as hook_exc:
            exc.add_note(f"the on_error hook raised too: {type(hook_exc).__name__}: {hook_exc}")
            self.log.error("the on_error hook raised while %s failed", label, exc_info=hook_exc)
