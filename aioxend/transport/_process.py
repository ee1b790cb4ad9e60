"""A command's stdin and stdout as a ``Stream``: ``ssh [user@]host xm serve``, or any command.

Each pooled connection over ``ssh://`` is one such process, so the pool's limit bounds
how many run (``_raw.SSH_CONNECTIONS`` by default). With ``share=True`` they share one ssh
master connection (``ControlMaster=auto`` on a ``ControlPath`` private to the transport,
kept ``ControlPersist`` seconds after the last user), so only the first one logs in.

The command's stderr goes to an unnamed temporary file rather than a pipe: nobody has to
drain it, and when the command dies its last lines explain why (ssh's own message).
"""

from __future__ import annotations

import contextlib
import math
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from typing import IO, Any

import anyio
import anyio.abc

from aioxend.errors import ConnectError
from aioxend.transport._stream import Stream, receive_within, send_within
from aioxend.transport._url import Endpoint

__all__ = ["ProcessStream", "spawn", "ssh_argv"]

_CONTROL_PERSIST = 30
"""Seconds a shared ssh master lingers after its last session ends."""


def ssh_argv(endpoint: Endpoint, control_path: str | None = None) -> list[str]:
    """``ssh [-p port] [user@]host xm serve``, as xm ran it; with a shared master if asked."""
    argv = ["ssh"]
    if control_path is not None:
        argv += [
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={control_path}",
            "-o",
            f"ControlPersist={_CONTROL_PERSIST}",
        ]
    if endpoint.port is not None:
        argv += ["-p", str(endpoint.port)]
    target = f"{endpoint.user}@{endpoint.host}" if endpoint.user else f"{endpoint.host}"
    return [*argv, target, "xm", "serve"]


class ProcessStream(Stream):
    """HTTP over a subprocess's stdin and stdout; closing it ends the process."""

    def __init__(self, process: anyio.abc.Process, stderr: IO[bytes], argv: Sequence[str]):
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._stderr = stderr
        self.argv = list(argv)

    async def receive(self, max_bytes: int = 65536, until: float = math.inf) -> bytes:
        return await receive_within(self._stdout, max_bytes, until)

    async def send(self, data: bytes, until: float = math.inf) -> None:
        await send_within(self._stdin, data, until)

    def reusable(self) -> bool:
        return self.process.returncode is None

    async def failure(self) -> str:
        """Why the command ended, from its exit status and the tail of its stderr."""
        with anyio.move_on_after(2):
            await self.process.wait()
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


async def spawn(argv: Sequence[str], endpoint: Endpoint) -> ProcessStream:
    """Start ``argv`` with its stdin and stdout as the stream, or raise ``ConnectError``."""
    from aioxend.transport._connect import reason_of

    stderr: IO[Any] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by ProcessStream
    try:
        process = await anyio.open_process(
            list(argv),
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
