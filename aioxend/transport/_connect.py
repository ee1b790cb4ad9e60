"""Dialling: turn an ``Endpoint`` into an open anyio byte stream, or a clear ``ConnectError``.

A connector only opens a byte stream (TCP, TLS over TCP, a UNIX socket, or the pipes of
a subprocess such as ``ssh host xm serve``); HTTP happens above it. Every OS and TLS
failure is turned here into a ``ConnectError`` that says where and why, with a hint for
the usual causes (xend not running, a socket only root may open).

A subprocess's stderr goes to an unnamed temporary file rather than a pipe: nobody has to
drain it, and when the command dies its last lines explain why (ssh's own message).
"""

from __future__ import annotations

import contextlib
import errno
import select
import shlex
import socket
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from typing import IO, Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from aioxend.errors import ConnectError
from aioxend.transport._url import Endpoint

__all__ = [
    "ProcessStream",
    "dial",
    "idle_socket_is_clean",
    "is_reusable",
    "make_ssl_context",
    "raw_socket",
    "reason_of",
    "ssh_argv",
]


def make_ssl_context(ssl_context: ssl.SSLContext | None, verify: bool) -> ssl.SSLContext:
    """The caller's context, else the system's verified default, else (``verify=False``) none."""
    if ssl_context is not None:
        return ssl_context
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def ssh_argv(endpoint: Endpoint) -> list[str]:
    """``ssh [-p port] [user@]host xm serve``, as xm ran it."""
    argv = ["ssh"]
    if endpoint.port is not None:
        argv += ["-p", str(endpoint.port)]
    target = f"{endpoint.user}@{endpoint.host}" if endpoint.user else f"{endpoint.host}"
    return [*argv, target, "xm", "serve"]


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


class ProcessStream(anyio.abc.ByteStream):
    """HTTP over a subprocess's stdin and stdout; closing it ends the process."""

    def __init__(self, process: anyio.abc.Process, stderr: IO[bytes], argv: Sequence[str]):
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._stderr = stderr
        self.argv = list(argv)

    async def receive(self, max_bytes: int = 65536) -> bytes:
        return await self._stdout.receive(max_bytes)

    async def send(self, item: bytes) -> None:
        await self._stdin.send(item)

    async def send_eof(self) -> None:
        await self._stdin.aclose()

    def failure(self) -> str:
        """Why the command ended, from its exit status and the tail of its stderr."""
        code = self.process.returncode
        try:
            self._stderr.seek(0)
            tail = self._stderr.read()[-500:].decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            tail = ""
        status = "is still running" if code is None else f"exited with status {code}"
        return f"{shlex.join(self.argv)} {status}" + (f": {tail}" if tail else "")

    async def aclose(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await self.process.aclose()
        self._stderr.close()


def raw_socket(stream: anyio.abc.ByteStream) -> socket.socket | None:
    """The OS socket under ``stream``, if it has one (looked up once per connection)."""
    if isinstance(stream, ProcessStream):
        return None
    sock: socket.socket | None = stream.extra(SocketAttribute.raw_socket, None)
    return sock


def is_reusable(stream: anyio.abc.ByteStream, sock: socket.socket | None = None) -> bool:
    """False when an idle connection has been closed by the peer or has stray bytes.

    A socket that polls readable while idle is either at EOF or holds bytes nobody asked
    for; either way the next request must not go there. Nothing is sent to find out.
    ``sock`` is ``raw_socket(stream)`` when the caller kept it.
    """
    if isinstance(stream, ProcessStream):
        return stream.process.returncode is None
    if sock is None:
        sock = raw_socket(stream)
    return sock is None or idle_socket_is_clean(sock)


def idle_socket_is_clean(sock: socket.socket) -> bool:
    """Whether an idle socket polls unreadable: not at EOF, no stray bytes, not closed."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


async def dial(
    endpoint: Endpoint,
    *,
    ssl_context: ssl.SSLContext | None = None,
    ssh_command: Sequence[str] | None = None,
) -> anyio.abc.ByteStream:
    """Open a byte stream to ``endpoint`` or raise ``ConnectError``; no timeout of its own."""
    if endpoint.socket_path is not None:
        try:
            return await anyio.connect_unix(endpoint.socket_path)
        except OSError as exc:
            raise ConnectError(f"cannot connect to {endpoint.display}: {reason_of(exc)}") from None
    if endpoint.scheme == "ssh":
        return await _spawn(list(ssh_command) if ssh_command else ssh_argv(endpoint), endpoint)
    assert endpoint.host is not None
    assert endpoint.port is not None
    tls = endpoint.scheme == "https"
    try:
        if tls:
            return await anyio.connect_tcp(
                endpoint.host,
                endpoint.port,
                ssl_context=ssl_context or make_ssl_context(None, True),
                tls_hostname=endpoint.host,
                tls_standard_compatible=False,
            )
        return await anyio.connect_tcp(endpoint.host, endpoint.port)
    except socket.gaierror as exc:
        raise ConnectError(f"cannot resolve host {endpoint.host!r}: {exc.strerror}") from None
    except (OSError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
        if isinstance(exc, anyio.BrokenResourceError | anyio.EndOfStream):
            why = "the server closed the connection during the TLS handshake"
        else:
            why = reason_of(exc)
        raise ConnectError(f"cannot connect to {endpoint.display}: {why}") from None


async def _spawn(argv: list[str], endpoint: Endpoint) -> ProcessStream:
    stderr: IO[Any] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by ProcessStream
    try:
        process = await anyio.open_process(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )
    except OSError as exc:
        stderr.close()
        why = "command not found" if isinstance(exc, FileNotFoundError) else reason_of(exc)
        raise ConnectError(
            f"cannot reach {endpoint.display}: cannot run {shlex.join(argv)}: {why}"
        ) from None
    except BaseException:
        stderr.close()
        raise
    return ProcessStream(process, stderr, argv)
