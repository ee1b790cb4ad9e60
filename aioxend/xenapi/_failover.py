"""Pool failover: when the pool master stops answering, find the new one and go on there.

A xapi pool has one master; a member answers a login (and every call of a session) with
``HOST_IS_SLAVE [master address]`` (xapi's ``Session_check.check``). When the master
dies, HA or an administrator (``xe pool-emergency-transition-to-master``) makes a member
the master, and the other members then name it. A client opened with ``pool=True`` or
a list of URLs (``Failover``):

* **enter**: tries its URLs in order until one logs in (following ``HOST_IS_SLAVE``),
  then learns the members: every host's ``address`` (``host.get_all_records``) as a URL
  with the master URL's scheme, port and path (``_client._master_url``);
* **a call fails with a ``TransportError``** (or ``HOST_IS_SLAVE``: the master was
  demoted): the client looks for the master. Every member first, by logging in (a
  member refuses with ``HOST_IS_SLAVE`` and makes no session), then the master it had,
  with a read of its session (a blip costs no new session, and a master that hangs
  costs one wait, the call's). A login that succeeds is at the master; ``HOST_IS_SLAVE``
  naming another host sends the search there next; one naming the lost master, a
  transport error or no answer within ``ATTEMPT_SECONDS`` means "not this one". Rounds
  repeat, with a growing pause, until ``failover_timeout``; then a ``ConnectError``
  lists what each URL answered. One search at a time: concurrent calls wait for it,
  and calls that start meanwhile wait too, so nothing is sent to a half-chosen host.
* **what is sent again**: a call in flight when the master died is sent once more, on
  the new master, only if it is a read (``read=True``, or ``event.from``); a write fails
  with its ``TransportError``, with a note saying so (it may or may not have happened),
  and the next call looks for the master first. A call that never left (its connection
  was refused: ``ConnectError``, ``ConnectTimeout``) or was answered ``HOST_IS_SLAVE``
  (refused before it ran) is sent on whatever it is. Later calls go to the new master
  with a new session (the old one died with its master; nobody logs it out).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import anyio

from aioxend.errors import ConnectError, ConnectTimeout, ProtocolError, TransportError, XendError
from aioxend.transport import Timeouts, parse_url
from aioxend.xenapi.errors import HostIsSlave

if TYPE_CHECKING:
    from aioxend.xenapi._client import XenAPIClient

__all__ = ["ATTEMPT_SECONDS", "FAILOVER_SECONDS", "Failover"]

log = logging.getLogger("aioxend.xenapi")

FAILOVER_SECONDS: Final = 60.0
"""How long a search for the master goes on by default (xapi's HA takes tens of seconds
to elect one; an administrator longer)."""

ATTEMPT_SECONDS: Final = 3.0
"""The longest one host may take to answer during a search (less if the client's
``timeout`` is less)."""

_FIRST_PAUSE: Final = 0.05
_LONGEST_PAUSE: Final = 1.0
_PROBE: Final = "session.get_this_host"
# Sent again like reads, though the caller did not say read=True: event.from changes
# nothing (Xapi_event.from reads the database), and an event stream spends most of its
# life waiting in one, so that is where a master's death finds it.
_SAFE_AGAIN: Final = frozenset({"event.from"})
# A connection that could not be opened carried no request: whatever the call, it is sent
# to the new master (a pooled connection that fails later is a ReadError or WriteError).
_NOT_SENT: Final = (ConnectError, ConnectTimeout)


class Failover:
    """The pool's URLs and the search for its master (see the module's docstring).

    ``members`` are the URLs to try, the ones given first; ``learn`` adds the hosts'
    addresses after each login; ``timeout`` bounds a search; ``searches`` counts the
    searches that ended.
    """

    def __init__(self, urls: Sequence[str], *, learn: bool, timeout: float) -> None:
        if not timeout > 0:
            raise ValueError(f"failover_timeout must be a positive number of seconds: {timeout!r}")
        self._given = list(dict.fromkeys(urls))
        self.members = list(self._given)
        self.timeout = timeout
        self._learn = learn
        self._generation = 0
        self._suspect: int | None = None
        self._lost: str | None = None  # the master a failed search looked for
        self.searches = 0
        self._failure: str | None = None  # what the last search, if it failed, found
        self._lock = anyio.Lock()

    # --- enter ------------------------------------------------------------------------
    async def enter(self, client: XenAPIClient) -> None:
        """Open ``client`` at the first URL that logs in, then learn the members."""
        failures: list[str] = []
        for url in self.members:
            client._endpoint = parse_url(url)
            try:
                await client._open_here()
            except TransportError as exc:
                failures.append(f"{url} ({exc})")
                await client._drop_transport()
                continue
            await self._learn_members(client)
            return
        raise ConnectError("no URL of the pool answered: " + "; ".join(failures))

    async def _learn_members(self, client: XenAPIClient) -> None:
        """Add every host's address (``host.get_all_records``) to ``members``."""
        if not self._learn:
            return
        from aioxend.xenapi._client import _master_url

        records = await client._session_call(
            "host.get_all_records", (), self._attempt_timeouts(client), True
        )
        if not isinstance(records, dict):
            raise ProtocolError(f"host.get_all_records at {client.url}: not a map of records")
        learned = []
        for record in records.values():
            address = record.get("address") if isinstance(record, dict) else None
            url = _master_url(client._endpoint, address) if isinstance(address, str) else None
            if url is not None:
                learned.append(url)
        self.members = list(dict.fromkeys([*self._given, *learned]))
        log.debug("pool of %s: %d URLs to fail over to", client.url, len(self.members))

    # --- calls ------------------------------------------------------------------------
    async def call(
        self,
        client: XenAPIClient,
        method: str,
        params: tuple[object, ...],
        timeouts: Timeouts,
        read: bool,
    ) -> object:
        """One call of the session, through a search for the master where it must."""
        if self._suspect is not None:
            await self._recover(client, self._suspect, None)
        generation = self._generation
        try:
            return await client._session_call(method, params, timeouts, read)
        except HostIsSlave as exc:
            await self._recover(client, generation, exc)
        except TransportError as exc:
            if not (read or method in _SAFE_AGAIN or isinstance(exc, _NOT_SENT)):
                if generation == self._generation:
                    self._suspect = generation
                exc.add_note(
                    f"{method} was not sent again: it is not a read, and it may have run at "
                    f"{exc.url or client.url} before the connection failed; the next call "
                    "looks for the pool's master first"
                )
                raise
            await self._recover(client, generation, exc)
        return await client._session_call(method, params, timeouts, read)

    async def _recover(
        self, client: XenAPIClient, generation: int, cause: XendError | None
    ) -> None:
        """Find the master unless a search since ``generation`` already has; a call that
        waited for a search that failed fails with its error instead of searching again."""
        self._suspect = generation
        finished = self.searches
        async with self._lock:
            if self._generation != generation:
                return
            if self.searches != finished and self._failure is not None:
                raise ConnectError(self._failure) from cause
            started = anyio.current_time()
            try:
                await self._search(client)
            except ConnectError as exc:
                self._failure = str(exc)
                if cause is not None:
                    raise exc from cause
                raise
            finally:
                self.searches += 1
            self._failure = None
            self._generation += 1
            self._suspect = self._lost = None
            log.info(
                "pool master is %s (found in %.3f s)", client.url, anyio.current_time() - started
            )
        try:
            await self._learn_members(client)
        except XendError as exc:  # the old list still serves the next search
            log.debug("could not learn the pool's members at %s: %s", client.url, exc)

    # --- the search ---------------------------------------------------------------------
    async def _search(self, client: XenAPIClient) -> None:
        """Point ``client`` at the master with a live session, or raise ``ConnectError``."""
        home = self._lost = self._lost or client.url
        deadline = anyio.current_time() + self.timeout
        pause = _FIRST_PAUSE
        while True:
            answers: dict[str, str] = {}
            queue = [*(url for url in self.members if url != home), home]
            while queue:
                url = queue.pop(0)
                if url in answers:
                    continue
                named = await self._attempt(client, url, home, deadline, answers)
                if named is None:
                    return
                if named and named not in answers:
                    queue.insert(0, named)
            left = deadline - anyio.current_time()
            if left <= 0:
                tried = "; ".join(f"{url}: {why}" for url, why in answers.items())
                raise ConnectError(
                    f"no master of the pool answered within {self.timeout:g} s ({tried})"
                )
            await anyio.sleep(min(pause, left))
            pause = min(pause * 2, _LONGEST_PAUSE)

    async def _attempt(
        self, client: XenAPIClient, url: str, home: str, deadline: float, answers: dict[str, str]
    ) -> str | None:
        """Ask ``url``: None if it is the master (``client`` now points there with a
        session), the URL of the master it names, or ``""`` (``answers[url]`` says why)."""
        seconds = min(self._attempt_seconds(client), max(deadline - anyio.current_time(), 0.01))
        try:
            if client.url != url:
                await client._move_to(url)
            with anyio.fail_after(seconds):
                if url == home and client.session_id is not None:
                    probe = (client.session_id,)
                    await client._session_call(_PROBE, probe, self._attempt_timeouts(client), True)
                else:
                    client.session_id = await client._login_here()
            return None
        except HostIsSlave as exc:
            from aioxend.xenapi._client import _master_url

            address = exc.params[0] if exc.params else ""
            named = _master_url(client._endpoint, address) or ""
            dead = named == home
            answers[url] = f"HOST_IS_SLAVE {address}" + (" (the lost master)" if dead else "")
            return "" if dead else named
        except TransportError as exc:
            answers[url] = str(exc)
        except TimeoutError:
            answers[url] = f"no answer within {seconds:.3g} s"
        return ""

    @staticmethod
    def _attempt_seconds(client: XenAPIClient) -> float:
        timeout = client._timeout
        return ATTEMPT_SECONDS if timeout is None else min(ATTEMPT_SECONDS, timeout)

    def _attempt_timeouts(self, client: XenAPIClient) -> Timeouts:
        return client._timeouts(self._attempt_seconds(client))
