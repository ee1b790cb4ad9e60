"""``open_transport``: pick and build the transport a URL and a kind call for."""

from __future__ import annotations

import shlex
import ssl
from collections.abc import Sequence
from typing import Literal

from aioxend.transport._aiohttp import AiohttpTransport
from aioxend.transport._base import Limits, Timeouts, Transport
from aioxend.transport._raw import RawTransport
from aioxend.transport._url import Endpoint, parse_url

__all__ = ["open_transport"]


def open_transport(
    url: str | Endpoint | None = None,
    *,
    kind: Literal["aiohttp", "raw"] = "aiohttp",
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
    ssl_context: ssl.SSLContext | None = None,
    verify: bool = True,
    ssh_command: Sequence[str] | str | None = None,
) -> Transport:
    """A transport for ``url`` (default ``$XM_SERVER`` or xm's UNIX socket).

    ``kind="aiohttp"`` (asyncio only) or ``"raw"`` (anyio: asyncio and trio). An
    ``ssh://`` URL always gets the raw transport, whatever ``kind`` says, because aiohttp
    cannot run over a pipe. ``ssh_command`` replaces ``ssh [user@]host xm serve`` (a
    string is split as a shell would). A URL that cannot work raises ``ValueError`` here.
    """
    endpoint = url if isinstance(url, Endpoint) else parse_url(url)
    if kind not in ("aiohttp", "raw"):
        raise ValueError(f"unknown transport kind {kind!r}; use 'aiohttp' or 'raw'")
    if isinstance(ssh_command, str):
        ssh_command = shlex.split(ssh_command)
    if ssh_command is not None:
        if endpoint.scheme != "ssh":
            raise ValueError(f"ssh_command applies only to ssh:// URLs, not {endpoint.url!r}")
        if not ssh_command:
            raise ValueError("ssh_command is empty")
    if kind == "raw" or endpoint.scheme == "ssh":
        return RawTransport(
            endpoint,
            timeouts=timeouts,
            limits=limits,
            ssl_context=ssl_context,
            verify=verify,
            ssh_command=ssh_command,
        )
    return AiohttpTransport(
        endpoint, timeouts=timeouts, limits=limits, ssl_context=ssl_context, verify=verify
    )
