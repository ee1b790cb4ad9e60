"""Connectors: turn an ``Endpoint`` into an open ``Stream``, or a clear ``ConnectError``.

A connector is any callable ``connector(endpoint)`` returning an awaitable of a
``Stream`` or of an anyio byte stream (wrapped in ``AnyioStream``); HTTP happens above
it, so our HTTP/1.1 runs over anything a connector can open (a pipe to a serial
console, an ssh library's channel, a ``MockStream``). ``UrlConnector``, the default,
opens what the URL names: TCP (plain or TLS) and UNIX sockets on asyncio as a
``ProtocolStream``, everything under trio as an ``AnyioStream``, ``ssh://`` as a
``ProcessStream``.
Every OS and TLS failure is turned here into a ``ConnectError`` that says where and why,
with a hint for the usual causes (xend not running, a socket only root may open).

``ssl`` and the subprocess machinery are imported when first needed, so a client of a
UNIX socket never loads them.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

import anyio
import anyio.abc

from aioxend.errors import ConnectError
from aioxend.transport._stream import AnyioStream, Stream
from aioxend.transport._url import Endpoint

if TYPE_CHECKING:
    import socket
    import ssl

__all__ = [
    "Connector",
    "UrlConnector",
    "connect_unix",
    "make_ssl_context",
    "open_stream",
    "reason_of",
]

Connector: TypeAlias = Callable[[Endpoint], Awaitable[Stream | anyio.abc.ByteStream]]
"""Opens one byte stream to an endpoint (see the module docstring)."""


def make_ssl_context(ssl_context: ssl.SSLContext | None, verify: bool) -> ssl.SSLContext:
    """The caller's context, else the system's verified default, else (``verify=False``) none."""
    if ssl_context is not None:
        return ssl_context
    import ssl

    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def reason_of(exc: BaseException) -> str:
    """The most specific OS reason inside ``exc`` (anyio wraps happy-eyeballs failures)."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        if current.__cause__ is not None:
            todo.append(current.__cause__)
    if "ssl" in sys.modules:  # no TLS error can exist before ssl is loaded
        import ssl

        for candidate in seen:
            if isinstance(candidate, ssl.SSLCertVerificationError):
                return f"TLS certificate verification failed: {candidate.verify_message}"
            if isinstance(candidate, ssl.SSLError):
                return f"TLS handshake failed: {candidate.reason or candidate}"
    for candidate in seen:
        if isinstance(candidate, OSError) and candidate.errno is not None:
            return _describe_errno(candidate)
    return str(exc) or type(exc).__name__


def _describe_errno(exc: OSError) -> str:
    code = exc.errno
    if code == errno.ENOENT:
        return "no such socket (is xend running?)"
    if code == errno.ECONNREFUSED:
        return "connection refused (is xend running and listening there?)"
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied (xend's sockets usually need root)"
    if code == errno.ENOTSOCK:
        return "not a socket"
    text = exc.strerror or str(exc)
    return text[0].lower() + text[1:] if text else f"errno {code}"


def _on_asyncio() -> bool:
    """Whether asyncio runs this task (anyio asks sniffio too; trio needs it installed)."""
    try:
        import sniffio
    except ImportError:  # pragma: no cover - then anyio assumes asyncio, and so do we
        return True
    return sniffio.current_async_library() == "asyncio"


class UrlConnector:
    """The default connector: opens the stream an endpoint's URL names.

    ``ssl_context`` is used for ``https://``; ``ssh_command`` replaces ``ssh [user@]host
    xm serve``; ``ssh_share`` makes the ssh processes share one master connection.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        ssh_command: Sequence[str] | None = None,
        ssh_share: bool = False,
    ) -> None:
        self.ssl_context = ssl_context
        self.ssh_command = list(ssh_command) if ssh_command is not None else None
        self.ssh_share = ssh_share
        self._control_dir: str | None = None

    async def __call__(self, endpoint: Endpoint) -> Stream:
        if endpoint.scheme == "ssh":
            return await self._ssh(endpoint)
        if _on_asyncio():
            from aioxend.transport._protocol import dial_asyncio

            if endpoint.scheme != "https":
                return await dial_asyncio(endpoint)
            return await dial_asyncio(endpoint, self.ssl_context or make_ssl_context(None, True))
        return AnyioStream(await dial(endpoint, ssl_context=self.ssl_context))

    async def _ssh(self, endpoint: Endpoint) -> Stream:
        from aioxend.transport._process import spawn, ssh_argv

        if self.ssh_command is not None:
            return await spawn(self.ssh_command, endpoint)
        control = None
        if self.ssh_share:
            if self._control_dir is None:
                import tempfile

                self._control_dir = tempfile.mkdtemp(prefix="aioxend-ssh-")
            control = f"{self._control_dir}/%C"
        return await spawn(ssh_argv(endpoint, control), endpoint)

    def close(self) -> None:
        """Forget the shared master's control directory (the master then lingers briefly)."""
        if self._control_dir is not None:
            import shutil  # only ssh_share makes the directory; shutil is slow to import

            shutil.rmtree(self._control_dir, ignore_errors=True)
            self._control_dir = None


async def open_stream(connector: Connector, endpoint: Endpoint) -> Stream:
    """``connector(endpoint)`` as a ``Stream``; a foreign failure becomes ``ConnectError``."""
    try:
        opened = await connector(endpoint)
    except (ConnectError, anyio.get_cancelled_exc_class()):
        raise
    except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        raise ConnectError(f"cannot connect to {endpoint.display}: {reason_of(exc)}") from exc
    if isinstance(opened, Stream):
        return opened
    if isinstance(opened, anyio.abc.ByteStream):
        return AnyioStream(opened)
    raise TypeError(
        f"a connector must return a Stream or an anyio byte stream, not {type(opened).__name__}"
    )


async def connect_unix(sock: socket.socket, path: str) -> None:
    """Connect a non-blocking UNIX socket, waiting while the listener's backlog is full.

    A UNIX connect never runs in the background: ``EAGAIN`` means the backlog is full
    and nothing happened. asyncio's ``sock_connect`` takes it for a connect in progress
    and, the socket polling writable, reports success; the first write then fails with
    ``ENOTCONN`` ("Transport endpoint is not connected"), which is what 128 concurrent
    calls against a busy xend met. So retry, backing off, until the connect timeout
    (the caller's) ends it.
    """
    delay = 0.0005
    while True:
        try:
            sock.connect(path)
        except BlockingIOError:
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.05)
        else:
            return


async def dial(
    endpoint: Endpoint, *, ssl_context: ssl.SSLContext | None = None
) -> anyio.abc.ByteStream:
    """Open an anyio socket stream to ``endpoint`` or raise ``ConnectError``; no timeout."""
    import socket

    if endpoint.socket_path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await connect_unix(sock, endpoint.socket_path)
            return await anyio.abc.UNIXSocketStream.from_socket(sock)
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot connect to {endpoint.display}: {reason_of(exc)}") from exc
        except BaseException:
            sock.close()
            raise
    assert endpoint.host is not None
    assert endpoint.port is not None

    try:
        if endpoint.scheme == "https":
            return await anyio.connect_tcp(
                endpoint.host,
                endpoint.port,
                ssl_context=ssl_context or make_ssl_context(None, True),
                tls_hostname=endpoint.host,
                tls_standard_compatible=False,
            )
        return await anyio.connect_tcp(endpoint.host, endpoint.port)
    except socket.gaierror as exc:
        raise ConnectError(f"cannot resolve host {endpoint.host!r}: {exc.strerror}") from exc
    except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        if isinstance(exc, anyio.BrokenResourceError | anyio.EndOfStream):
            why = "the server closed the connection during the TLS handshake"
        else:
            why = reason_of(exc)
        raise ConnectError(f"cannot connect to {endpoint.display}: {why}") from exc


if "asyncio" in sys.modules:
    # asyncio is loaded already, so its stream (what every plain connection on asyncio
    # uses) costs little now and spares the first call its import.
    from aioxend.transport import _protocol  # noqa: F401
