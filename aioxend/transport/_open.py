"""``open_transport``: the transport a URL calls for, with its options checked."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aioxend.transport._base import Limits, Timeouts, Transport
from aioxend.transport._connect import Connector
from aioxend.transport._raw import RawTransport
from aioxend.transport._url import Endpoint, parse_url

if TYPE_CHECKING:
    import ssl

__all__ = ["open_transport"]


def open_transport(
    url: str | Endpoint | None = None,
    *,
    timeouts: Timeouts = Timeouts(),  # noqa: B008 - frozen dataclass
    limits: Limits | None = None,
    ssl_context: ssl.SSLContext | None = None,
    verify: bool = True,
    ssh_command: Sequence[str] | str | None = None,
    ssh_share: bool = False,
    connector: Connector | None = None,
) -> Transport:
    """A transport for ``url`` (default ``$XM_SERVER`` or xm's UNIX socket).

    Our own HTTP/1.1 (``RawTransport``) over the connection the URL names, on asyncio
    or trio, or over what ``connector`` opens. ``ssh_command`` replaces ``ssh
    [user@]host xm serve`` (a string is split as a shell would); ``ssh_share`` lets the
    ssh processes share one master. A URL or an option that cannot work raises
    ``ValueError`` here.
    """
    endpoint = url if isinstance(url, Endpoint) else parse_url(url)
    if isinstance(ssh_command, str):
        ssh_command = shlex.split(ssh_command)
    return RawTransport(
        endpoint,
        timeouts=timeouts,
        limits=limits,
        ssl_context=ssl_context,
        verify=verify,
        ssh_command=ssh_command,
        ssh_share=ssh_share,
        connector=connector,
    )
